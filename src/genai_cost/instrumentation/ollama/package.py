"""The SDK versions the Ollama instrumentor supports; the ``ollama`` extra reuses them."""

from __future__ import annotations

__all__ = ["_instruments"]

_instruments = ("ollama >= 0.4",)
