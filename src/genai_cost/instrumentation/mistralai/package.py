"""The SDK versions the Mistral instrumentor supports; the ``mistralai`` extra reuses them."""

from __future__ import annotations

__all__ = ["_instruments"]

_instruments = ("mistralai >= 1.0",)
