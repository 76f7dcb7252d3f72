"""Request-context and time-of-day prices: our cost == genai-prices' ``calc_price(..., price_context=...)``.

Every genai-prices model with price variants or time-of-day prices (of the providers we map)
is checked, for each context its variants name (and without one), at instants before, on and
after each variant's start date and at several times of day, with random usage mixes (cache
reads and writes, large prompts that cross tiers). Nothing is sampled away: the counts printed
are the whole population.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from genai_cost.pricing import PricingTable
from genai_cost.usage import Usage

genai_prices = pytest.importorskip("genai_prices")
from genai_prices import data as gp_data  # noqa: E402

from genai_cost.pricing.sync import PROVIDER_MAP  # noqa: E402

LATE = datetime(2026, 12, 1, 18, 0, tzinfo=timezone.utc)
USAGES_PER_CONTEXT = 3


def _first_name(clause: Any) -> str | None:
    kind = type(clause).__name__
    if kind == "ClauseEquals":
        return str(clause.equals)
    if kind == "ClauseStartsWith":
        return str(clause.starts_with)
    if kind == "ClauseOr":
        return next((name for sub in clause.or_ if (name := _first_name(sub))), None)
    return None


HOURS = (0, 2, 5, 8, 12, 17, 23)
"""Times of day (UTC) each instant is tried at: inside and outside every bundled window."""


def _windows(model: Any) -> list[Any]:
    conditional = model.prices if isinstance(model.prices, list) else ()
    return [cp.constraint for cp in conditional if type(cp.constraint).__name__ == "TimeOfDateConstraint"]


def _instants(model: Any) -> list[datetime]:
    starts = {v.constraint.start_date for v in model.price_variants or () if v.constraint is not None}
    days = {LATE}
    for start in starts:
        midday = datetime.combine(start, time(12), tzinfo=timezone.utc)
        days |= {midday - timedelta(days=1), midday}
    hours = HOURS if _windows(model) else (12,)
    return sorted(day.replace(hour=hour, minute=15) for day in days for hour in hours)


def _usage(rng: random.Random) -> dict[str, int]:
    input_tokens = rng.choice((1, 1_000, 150_000, 250_000))
    cache_read = rng.randint(0, input_tokens // 2)
    return {
        "input_tokens": input_tokens,
        "cache_read_tokens": cache_read,
        "cache_write_tokens": rng.randint(0, input_tokens - cache_read),
        "output_tokens": rng.choice((0, 7, 2_000, 90_000)),
    }


def _ours(usage: dict[str, int]) -> Usage:
    return Usage(
        input_tokens=usage["input_tokens"],
        cache_read_tokens=usage["cache_read_tokens"],
        cache_creation_tokens=usage["cache_write_tokens"],
        output_tokens=usage["output_tokens"],
    )


def _time_of_day_active(model: Any, at: datetime) -> bool:
    conditional = model.prices if isinstance(model.prices, list) else ()
    return any(
        type(cp.constraint).__name__ == "TimeOfDateConstraint" and cp.constraint.active(at) for cp in conditional
    )


def test_variant_costs_equal_genai_prices() -> None:
    table = PricingTable.load()
    rng = random.Random(20261204)
    entries, contexts, in_windows, compared, skipped, mismatches = 0, 0, 0, 0, Counter[str](), []
    for provider in gp_data.providers:
        if provider.id not in PROVIDER_MAP:
            continue
        for model in provider.models:
            name = _first_name(model.match)
            if not (model.price_variants or _windows(model)) or name is None:
                continue
            entries += 1
            whens = {(), *(tuple(sorted(v.when.items())) for v in model.price_variants or ())}
            for when in sorted(whens):
                context = dict(when)
                contexts += 1
                for at in _instants(model):
                    in_windows += any(window.active(at) for window in _windows(model))
                    for _ in range(USAGES_PER_CONTEXT):
                        usage = _usage(rng)
                        theirs = genai_prices.calc_price(
                            genai_prices.Usage(**usage),
                            name,
                            provider_id=provider.id,
                            genai_request_timestamp=at,
                            price_context=context,
                        )
                        ours = table.cost(_ours(usage), name, PROVIDER_MAP[provider.id], at, context)
                        if ours is None and theirs.total_price == 0:
                            skipped["no token or request price (audio hours, pages)"] += 1
                            continue
                        compared += 1
                        if ours is None or abs(ours.total - theirs.total_price) > Decimal("1e-12"):
                            mismatches.append(
                                f"{provider.id}/{name} {context} {usage} @{at:%Y-%m-%d}: "
                                f"ours {ours and ours.total}, theirs {theirs.total_price}"
                            )
    print(f"\ncrosscheck: {entries} models x {contexts} contexts (no context included), {compared} costs compared")
    print(f"instants inside a time-of-day window: {in_windows}")
    print(f"skipped: {dict(skipped)}")
    assert not mismatches, "\n".join(mismatches[:20])
    assert entries >= 100
    assert in_windows > 0
    assert set(skipped) <= {"no token or request price (audio hours, pages)"}
