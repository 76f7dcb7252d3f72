"""Expected costs worked out by hand from a price entry's stated rates, for exact assertions.

Tests compute what a call must cost from the bundled entry's per-1M prices (tier chosen here
from the prompt size, not by the pricing engine), so a wrong normalization or a wrong rate in
the engine shows up as a different number.
"""

from __future__ import annotations

from decimal import Decimal

from genai_cost.pricing import PriceEntry, Rates

__all__ = ["MILLION", "rates"]

MILLION = Decimal(1_000_000)


def _flat(rates: Rates) -> dict[str, Decimal]:
    flat: dict[str, Decimal] = {}
    if rates.input is not None:
        flat["input"] = rates.input
    if rates.output is not None:
        flat["output"] = rates.output
    flat.update({f"input.{key}": price for key, price in rates.input_breakdown.items()})
    flat.update({f"output.{key}": price for key, price in rates.output_breakdown.items()})
    return flat


def rates(entry: PriceEntry | None, *, input_tokens: int) -> dict[str, Decimal]:
    """``{"input", "output", "input.cache_read", "output.reasoning", ...}`` per 1M tokens.

    A prompt above a tier's threshold takes the tier's prices for the whole request.
    """
    assert entry is not None, "the bundled table must price the model under test"
    flat = _flat(entry.rates)
    for tier in sorted(entry.tiers, key=lambda tier: tier.above_input_tokens):
        if input_tokens > tier.above_input_tokens:
            flat.update(_flat(tier.rates))
    return flat
