"""The SDK versions the LiteLLM instrumentor supports; the ``litellm`` extra reuses them."""

from __future__ import annotations

__all__ = ["_instruments"]

_instruments: tuple[str, ...] = ("litellm >= 1.60",)
