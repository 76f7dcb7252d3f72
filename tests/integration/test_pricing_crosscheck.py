"""Our cost == genai-prices' own ``calc_price`` on real (provider, model, usage) combinations.

The sample is drawn deterministically from the installed genai-prices data. A combination that
cannot be compared (a call dated before the model's first price, which neither side backfills)
is counted with its reason and printed; at most 5 may be.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from genai_cost.pricing import PricingTable
from genai_cost.usage import Usage

genai_prices = pytest.importorskip("genai_prices")
from genai_prices import data as gp_data  # noqa: E402

from genai_cost.pricing.sync import PROVIDER_MAP  # noqa: E402

SAMPLE_SIZE = 400
TIMESTAMPS = (
    datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc),
    datetime(2025, 6, 15, 3, 0, tzinfo=timezone.utc),
    datetime(2026, 11, 1, 18, 30, tzinfo=timezone.utc),
)


@dataclass(frozen=True)
class Case:
    provider_id: str
    model: Any
    name: str
    usage: dict[str, int]
    at: datetime


def _names(clause: Any) -> list[str]:
    """Model names a clause accepts, taken from its literals."""
    kind = type(clause).__name__
    if kind == "ClauseEquals":
        return [clause.equals]
    if kind == "ClauseStartsWith":
        return [clause.starts_with]
    if kind == "ClauseContains":
        return [clause.contains]
    if kind == "ClauseEndsWith":
        return [clause.ends_with]
    if kind == "ClauseOr":
        return [name for sub in clause.or_ for name in _names(sub)]
    return []


def _cases() -> list[Case]:
    rng = random.Random(20261123)
    pool = [
        (provider.id, model, name)
        for provider in gp_data.providers
        if provider.id in PROVIDER_MAP
        for model in provider.models
        for name in sorted(set(_names(model.match)))
    ]
    cases = []
    for provider_id, model, name in rng.sample(pool, SAMPLE_SIZE):
        input_tokens = rng.choice((0, 1, 1_000, 150_000, 250_000, 1_200_000))
        usage = {
            "input_tokens": input_tokens,
            "cache_read_tokens": rng.randint(0, input_tokens),
            "output_tokens": rng.choice((0, 7, 2_000, 90_000)),
        }
        cases.append(Case(provider_id, model, name, usage, rng.choice(TIMESTAMPS)))
    return cases


def _category(case: Case) -> str | None:
    """The reason this combination is not comparable, if it is one we do not model."""
    conditional = case.model.prices if isinstance(case.model.prices, list) else None
    first = conditional[0].constraint if conditional else None
    if first is not None and not first.active(case.at):
        return "call before the first price (no backfill)"
    return None


def test_costs_equal_genai_prices() -> None:
    table = PricingTable.load()
    compared, skipped, mismatches = 0, Counter[str](), []
    for case in _cases():
        try:
            theirs = genai_prices.calc_price(
                genai_prices.Usage(**case.usage),
                case.name,
                provider_id=case.provider_id,
                genai_request_timestamp=case.at,
            )
        except LookupError:
            skipped["unknown to genai-prices itself"] += 1
            continue
        category = _category(case)
        if category is not None:
            skipped[category] += 1
            continue
        ours = table.cost(Usage(**case.usage), case.name, PROVIDER_MAP[case.provider_id], case.at)
        compared += 1
        if ours is None or abs(ours.total - theirs.total_price) > Decimal("1e-12"):
            mismatches.append(
                f"{case.provider_id}/{case.name} {case.usage} @{case.at:%Y-%m-%d}: "
                f"ours {ours and ours.total} ({ours and ours.entry_id}), "
                f"theirs {theirs.total_price} ({theirs.model.id})"
            )
    print(f"\ncrosscheck: compared {compared}, skipped {sum(skipped.values())}")
    for reason, count in skipped.items():
        print(f"  skipped {count}: {reason}")
    assert not mismatches, "\n".join(mismatches)
    assert compared >= SAMPLE_SIZE - 5
    assert sum(skipped.values()) <= 5, skipped
