"""The SDK versions the Groq instrumentor supports; the ``groq`` extra reuses them."""

from __future__ import annotations

__all__ = ["_instruments"]

_instruments: tuple[str, ...] = ("groq >= 0.9",)
