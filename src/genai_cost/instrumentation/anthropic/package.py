"""The SDK versions the Anthropic instrumentor supports; the ``anthropic`` extra reuses them."""

from __future__ import annotations

__all__ = ["_instruments"]

_instruments = ("anthropic >= 0.40",)
