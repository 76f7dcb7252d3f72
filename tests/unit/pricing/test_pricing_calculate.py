"""The cost formula: greedy most-specific-first, exact Decimal, tiers, per-request, clamping."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genai_cost.pricing import PriceEntry, calculate
from genai_cost.pricing.schema import parse_entry
from genai_cost.pricing.units import INPUT_TYPES, OUTPUT_TYPES, UNIT_KEYS
from genai_cost.usage import TOKEN_FIELDS, Usage

EntryFactory = Callable[..., PriceEntry]

D = Decimal

ACCEPTANCE = {"input": 2, "output": 3, "input_breakdown": {"cache_read": 1}}


def test_acceptance_example_is_exact(make_entry: EntryFactory) -> None:
    cost = calculate(Usage(input_tokens=20, cache_read_tokens=5, output_tokens=10), make_entry(**ACCEPTANCE))
    assert cost.input_cost == D("3.5e-05")
    assert cost.output_cost == D("3e-05")
    assert cost.total == D("6.5e-05")
    assert cost.by_type == {"input": D("3.0e-05"), "cache_read": D("5e-06"), "output": D("3e-05")}
    assert cost.currency == "USD"
    assert cost.entry_id == "e"


@pytest.mark.parametrize(
    ("prices", "usage", "expected"),
    [
        pytest.param(
            {"input": 2, "output": 3},
            {"input_tokens": 20, "cache_read_tokens": 5, "output_tokens": 10},
            {"input": D("4.0e-05"), "output": D("3e-05")},
            id="cache_read-without-price-charged-as-input",
        ),
        pytest.param(
            {"input": 4, "input_breakdown": {"cache_creation": 5}},
            {"input_tokens": 10, "cache_creation_tokens": 4},
            {"input": D("2.4e-05"), "cache_creation": D("2.0e-05")},
            id="cache_creation-own-price",
        ),
        pytest.param(
            {"input": 4, "input_breakdown": {"cache_creation": 5, "cache_creation_1h": 8}},
            {"input_tokens": 10, "cache_creation_5m_tokens": 3, "cache_creation_1h_tokens": 2},
            {"input": D("2.0e-05"), "cache_creation": D("1.5e-05"), "cache_creation_1h": D("1.6e-05")},
            id="5m-without-price-at-cache_creation-rate-1h-at-own",
        ),
        pytest.param(
            {"input": 4, "input_breakdown": {"cache_creation_5m": 5}},
            {"input_tokens": 10, "cache_creation_5m_tokens": 3, "cache_creation_1h_tokens": 2},
            {"input": D("2.8e-05"), "cache_creation_5m": D("1.5e-05")},
            id="1h-without-any-cache-price-at-input-rate",
        ),
        pytest.param(
            {"input": 4, "input_breakdown": {"cache_creation_5m": 5, "cache_creation_1h": 8}},
            {"input_tokens": 10, "cache_creation_tokens": 6, "cache_creation_5m_tokens": 3},
            {"input": D("2.8e-05"), "cache_creation_5m": D("1.5e-05")},
            id="cache_creation-remainder-without-price-at-input-rate",
        ),
        pytest.param(
            {"output": 10, "output_breakdown": {"reasoning": 20}},
            {"output_tokens": 10, "reasoning_tokens": 4},
            {"output": D("6.0e-05"), "reasoning": D("8.0e-05")},
            id="reasoning-own-price",
        ),
        pytest.param(
            {"output": 10},
            {"output_tokens": 10, "reasoning_tokens": 4},
            {"output": D("1.00e-04")},
            id="reasoning-without-price-at-output-rate",
        ),
        pytest.param(
            {"input": 1, "input_breakdown": {"audio": 10, "image": 2, "video": 3, "text": 1}},
            {
                "input_tokens": 100,
                "input_audio_tokens": 10,
                "input_image_tokens": 20,
                "input_video_tokens": 30,
                "input_text_tokens": 40,
            },
            {
                "input": D("0E-6"),
                "input_audio": D("1.00e-04"),
                "input_image": D("4.0e-05"),
                "input_video": D("9.0e-05"),
                "input_text": D("4.0e-05"),
            },
            id="input-modalities",
        ),
        pytest.param(
            {"output": 1, "output_breakdown": {"audio": 10, "image": 30}},
            {"output_tokens": 10, "output_audio_tokens": 2, "output_image_tokens": 1},
            {"output": D("7e-06"), "output_audio": D("2.0e-05"), "output_image": D("3.0e-05")},
            id="output-modalities",
        ),
        pytest.param(
            {"input": 1, "output": 2},
            {"output_tokens": 5},
            {"output": D("1.0e-05")},
            id="unreported-count-has-no-key",
        ),
        pytest.param(
            {"input": 1},
            {"input_tokens": 5, "output_tokens": 5},
            {"input": D("5e-06")},
            id="unpriced-side-costs-nothing",
        ),
    ],
)
def test_token_type_fallbacks(
    make_entry: EntryFactory,
    prices: dict[str, Any],
    usage: dict[str, int],
    expected: dict[str, Decimal],
) -> None:
    cost = calculate(Usage(**usage), make_entry(**prices))
    assert dict(cost.by_type) == expected
    assert cost.total == sum(expected.values(), D(0))


TIERED = {
    "input": 1,
    "output": 2,
    "input_breakdown": {"cache_read": D("0.1")},
    "tiers": [
        {"above_input_tokens": 200_000, "input": 2, "output": 4},
        {"above_input_tokens": 1_000_000, "input": 3},
    ],
}


@pytest.mark.parametrize(
    ("input_tokens", "tier", "input_price", "output_price"),
    [
        pytest.param(200_000, None, 1, 2, id="at-threshold-base"),
        pytest.param(200_001, 200_000, 2, 4, id="above-threshold-whole-request"),
        pytest.param(1_000_001, 1_000_000, 3, 4, id="higher-tier-inherits-unlisted-prices"),
    ],
)
def test_tiers_apply_to_the_whole_request(
    make_entry: EntryFactory, input_tokens: int, tier: int | None, input_price: int, output_price: int
) -> None:
    usage = Usage(input_tokens=input_tokens, cache_read_tokens=1_000, output_tokens=1_000_000)
    cost = calculate(usage, make_entry(**TIERED))
    assert cost.tier == tier
    assert cost.by_type["input"] == D(input_price) * (input_tokens - 1_000) / 1_000_000
    assert cost.by_type["cache_read"] == D("0.0001")
    assert cost.output_cost == D(output_price)


def test_per_request_price(make_entry: EntryFactory) -> None:
    cost = calculate(Usage(input_tokens=10), make_entry(input=1, per_request="0.005"))
    assert cost.request_cost == D("0.005")
    assert cost.by_type["request"] == D("0.005")
    assert cost.total == D("0.005") + D("0.00001")


def test_currency_is_the_entries(make_entry: EntryFactory) -> None:
    assert calculate(Usage(input_tokens=1), make_entry(input=1, currency="EUR")).currency == "EUR"


@pytest.mark.parametrize(
    "usage",
    [
        pytest.param(Usage(input_tokens=-5, output_tokens=-1), id="negative-counts"),
        pytest.param(Usage(input_tokens=5, cache_read_tokens=50), id="part-exceeds-whole"),
        pytest.param(Usage(output_tokens=2, reasoning_tokens=-9), id="negative-part"),
    ],
)
def test_invalid_counts_never_cost_negative(make_entry: EntryFactory, usage: Usage) -> None:
    cost = calculate(usage, make_entry(**ACCEPTANCE))
    assert cost.total >= 0
    assert all(amount >= 0 for amount in cost.by_type.values())


def test_parts_exceeding_the_whole_are_charged_as_reported(make_entry: EntryFactory) -> None:
    cost = calculate(Usage(input_tokens=5, cache_read_tokens=50), make_entry(**ACCEPTANCE))
    assert cost.by_type == {"cache_read": D("5.0e-05"), "input": D("0e-6")}


# --- properties ------------------------------------------------------------------------------

prices = st.decimals(min_value=0, max_value=100, places=4)
counts = st.none() | st.integers(min_value=-10, max_value=2_000_000)


@st.composite
def entries(draw: st.DrawFn) -> dict[str, Any]:
    raw: dict[str, Any] = {"id": "p", "match": {"exact": "m"}, "input": draw(prices)}
    raw["output"] = draw(prices)
    raw["input_breakdown"] = draw(st.dictionaries(st.sampled_from(sorted(INPUT_TYPES)), prices))
    for modality in ("audio", "image"):  # overlapping prices need the price of their overlap
        if {"cache_read", modality} <= raw["input_breakdown"].keys():
            raw["input_breakdown"][f"cache_{modality}_read"] = draw(prices)
    raw["output_breakdown"] = draw(st.dictionaries(st.sampled_from(sorted(OUTPUT_TYPES)), prices))
    raw["units"] = draw(st.dictionaries(st.sampled_from(sorted(UNIT_KEYS)), prices))
    if draw(st.booleans()):
        raw["tiers"] = [{"above_input_tokens": 1_000, "input": draw(prices), "output": draw(prices)}]
    if draw(st.booleans()):
        raw["per_request"] = draw(prices)
    return raw


usages = st.builds(Usage, **{name: counts for name in TOKEN_FIELDS})


@settings(deadline=None)  # tests never assert wall-clock times
@given(raw=entries(), usage=usages)
def test_cost_is_never_negative_and_additive(raw: dict[str, Any], usage: Usage) -> None:
    cost = calculate(usage, parse_entry(raw))
    assert cost.total >= 0
    assert all(amount >= 0 for amount in cost.by_type.values())
    # Prices per hour of audio are divided by 3,600, which rounds at Decimal's 28 digits: sums
    # taken in another order may differ in that last digit.
    assert abs(sum(cost.by_type.values(), D(0)) - cost.total) < D("1e-20")
    assert abs(cost.input_cost + cost.output_cost + cost.unit_cost + cost.request_cost - cost.total) < D("1e-20")


@settings(deadline=None)  # tests never assert wall-clock times
@given(
    raw=entries(),
    usage=usages,
    field=st.sampled_from(["input_tokens", "output_tokens"]),
    extra=st.integers(min_value=0, max_value=100_000),
)
def test_cost_is_monotone_in_totals(raw: dict[str, Any], usage: Usage, field: str, extra: int) -> None:
    """More input (or output) tokens never cost less, all else equal (within one tier)."""
    raw.pop("tiers", None)
    entry = parse_entry(raw)
    more = replace(usage, **{field: max(getattr(usage, field) or 0, 0) + extra})
    assert calculate(more, entry).total >= calculate(usage, entry).total


@settings(deadline=None)  # tests never assert wall-clock times
@given(raw=entries(), usage=usages, extra=st.integers(min_value=0, max_value=100_000))
def test_cost_is_monotone_when_a_part_grows_with_its_whole(raw: dict[str, Any], usage: Usage, extra: int) -> None:
    """Adding cache-read tokens (which are also input tokens) never lowers the cost."""
    raw.pop("tiers", None)
    entry = parse_entry(raw)
    more = replace(
        usage,
        input_tokens=max(usage.input_tokens or 0, 0) + extra,
        cache_read_tokens=max(usage.cache_read_tokens or 0, 0) + extra,
    )
    base = replace(
        usage,
        input_tokens=max(usage.input_tokens or 0, 0),
        cache_read_tokens=max(usage.cache_read_tokens or 0, 0),
    )
    assert calculate(more, entry).total >= calculate(base, entry).total
