"""Numbers in text meant for people and for JSON: exact decimals, counted nouns."""

from __future__ import annotations

from decimal import Decimal

__all__ = ["counted", "plain_decimal"]


def plain_decimal(value: Decimal) -> str:
    """Exact decimal text without exponent or trailing zeros, e.g. ``0.000065``."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """``1 request``, ``2 requests``; ``plural`` for irregular nouns (``entries``)."""
    return f"{count} {singular if count == 1 else plural or singular + 's'}"
