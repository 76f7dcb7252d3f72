"""The SDK versions the OpenAI instrumentor supports; the ``openai`` extra reuses them."""

from __future__ import annotations

__all__ = ["_instruments"]

_instruments: tuple[str, ...] = ("openai >= 1.0",)
