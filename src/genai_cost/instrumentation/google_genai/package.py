"""The SDK versions the Google GenAI instrumentor supports; the ``google-genai`` extra reuses them."""

from __future__ import annotations

__all__ = ["_instruments"]

_instruments = ("google-genai >= 1.0",)
