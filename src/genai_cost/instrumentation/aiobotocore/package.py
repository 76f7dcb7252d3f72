"""The SDK versions the aiobotocore Bedrock instrumentor supports; the ``aiobotocore`` extra reuses them."""

from __future__ import annotations

__all__ = ["_instruments"]

_instruments: tuple[str, ...] = ("aiobotocore >= 2.5",)
