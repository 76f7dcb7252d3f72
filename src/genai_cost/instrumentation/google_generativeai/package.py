"""The SDK versions the google-generativeai instrumentor supports; the ``google-generativeai`` extra reuses them."""

from __future__ import annotations

__all__ = ["_instruments"]

# 0.5.3 is the first release whose responses expose ``usage_metadata``.
_instruments = ("google-generativeai >= 0.5.3",)
