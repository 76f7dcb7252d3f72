"""The SDK versions the Cohere instrumentor supports; the ``cohere`` extra reuses them."""

from __future__ import annotations

__all__ = ["_instruments"]

_instruments = ("cohere >= 5.9",)
