"""cost(usage, entry): exact Decimal cost of one call, broken down by token type and unit.

Greedy from the most specific unit to the least (:mod:`genai_cost.pricing.units`): a unit with
its own price is charged at it and taken out of every priced unit that contains it; the rest of
a count is charged at its own price, up to the base ``input``/``output`` price. A type without
its own price is therefore charged at its nearest priced ancestor (cache_read -> input,
cache_creation_5m -> cache_creation -> input, reasoning -> output). Overlapping types are
charged once: cached audio input is taken out of both cached input and audio input, so
``input - cache_read - audio + cache_audio_read`` tokens are left at the base price. Non-token
units (web searches, seconds of audio) are charged per what their price is per. The result
equals genai-prices' ``calc_price`` on the same usage and prices.

Invalid counts never make a cost negative: negative counts count as 0, and when the parts of
a count exceed it (e.g. ``cache_read_tokens > input_tokens``) the parts are charged as
reported and the parent's remainder is 0.

With a pricing context (``{"service_tier": "flex"}``), the entry's variants that apply to it
replace the prices they set, after a time-of-day window containing the call's start replaced
all of them (:meth:`PriceEntry.for_call`); for an entry with neither, nothing more is done.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: importing costing (at instrument time) does not load the schema
    from genai_cost.pricing.schema import PriceEntry, PricingContext
    from genai_cost.usage import Usage

__all__ = ["CostBreakdown", "as_utc", "calculate", "epoch_seconds"]

_ZERO = Decimal(0)


@dataclass(frozen=True, init=False)
class CostBreakdown:
    """The cost of one call under one price entry."""

    total: Decimal
    """Everything: the sum of :attr:`by_type`."""
    currency: str
    """ISO 4217 code of every amount here."""
    by_type: Mapping[str, Decimal]
    """Cost per token type charged at its own price (``"input"``/``"output"`` hold what is left
    at the base price; ``"request"`` the per-request price). Only types whose count was reported
    and that have a price of their own appear."""
    input_cost: Decimal
    """Sum of the input-side token types."""
    output_cost: Decimal
    """Sum of the output-side token types."""
    unit_cost: Decimal
    """Sum of the non-token units that are neither input nor output (web and file searches,
    seconds of audio)."""
    request_cost: Decimal
    """The per-request price, when the entry has one."""
    entry_id: str
    """Id of the price entry used."""
    tier: int | None = None
    """``above_input_tokens`` of the prompt-size tier applied, ``None`` for the base prices."""

    def __init__(
        self,
        total: Decimal,
        currency: str,
        by_type: Mapping[str, Decimal],
        input_cost: Decimal,
        output_cost: Decimal,
        unit_cost: Decimal,
        request_cost: Decimal,
        entry_id: str,
        tier: int | None = None,
    ) -> None:
        # Every priced call builds one: fill the fields at once rather than through the frozen
        # dataclass's one object.__setattr__ call per field (about 4x slower).
        self.__dict__.update(
            total=total,
            currency=currency,
            by_type=by_type,
            input_cost=input_cost,
            output_cost=output_cost,
            unit_cost=unit_cost,
            request_cost=request_cost,
            entry_id=entry_id,
            tier=tier,
        )


def calculate(
    usage: Usage,
    entry: PriceEntry,
    *,
    context: PricingContext | None = None,
    at: datetime | None = None,
) -> CostBreakdown:
    """Price ``usage`` with ``entry`` in the request ``context`` of a call starting at ``at``
    (default: now; only time-of-day windows and variants with a ``valid_from`` look at it);
    exact Decimal arithmetic, never negative."""
    if entry.time_of_day or (context and entry.variants):
        entry = entry.for_call(context, epoch_seconds(at))
    rates, tier = entry.rates_for(usage.input_tokens or 0)
    by_type: dict[str, Decimal] = {}
    input_cost = output_cost = unit_cost = _ZERO
    leaves: list[int] = []
    for key, usage_field, price, divisor, side, parts in rates.plan:  # Charge, unpacked at once
        count = getattr(usage, usage_field)
        if count is None and usage_field == "cache_creation_tokens":
            count = _cache_creation(usage)
        if count is None:
            leaves.append(0)  # not reported: only its parts, which count themselves, are charged
            continue
        inner = 0
        for part in parts:
            inner += leaves[part]
        leaf = count - inner if count > inner else 0
        leaves.append(leaf)
        cost = price * leaf if divisor is None else price * leaf / divisor
        by_type[key] = cost
        if side == "input":
            input_cost += cost
        elif side == "output":
            output_cost += cost
        else:
            unit_cost += cost
    total = input_cost + output_cost + unit_cost
    request_cost = entry.per_request
    if request_cost is None:
        request_cost = _ZERO
    else:
        by_type["request"] = request_cost
        total += request_cost
    return CostBreakdown(
        total, entry.currency, by_type, input_cost, output_cost, unit_cost, request_cost, entry.id, tier
    )


def as_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime; a naive one is taken as UTC, as everywhere in genai-cost."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def epoch_seconds(at: datetime | None) -> float:
    """Seconds since the epoch of ``at`` (naive: UTC); now when ``None``."""
    return time.time() if at is None else as_utc(at).timestamp()


def _cache_creation(usage: Usage) -> int | None:
    """Cache writes when only their TTL parts are reported: the sum of those (negative ones as 0)."""
    parts = (usage.cache_creation_5m_tokens, usage.cache_creation_1h_tokens)
    if parts == (None, None):
        return None
    return sum(max(p or 0, 0) for p in parts)
