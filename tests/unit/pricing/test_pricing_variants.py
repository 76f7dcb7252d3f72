"""Price variants by request context: file form, validation, per-key resolution, lookup."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from genai_cost.pricing import PricingError, PricingTable
from genai_cost.pricing.calculate import calculate
from genai_cost.pricing.schema import parse_entry
from genai_cost.usage import Usage

FLEX = {"service_tier": "flex"}
USAGE = Usage(input_tokens=1_000_000, cache_read_tokens=200_000, output_tokens=1_000_000)
NOV = datetime(2026, 11, 1, tzinfo=timezone.utc)


def _entry(**fields: Any) -> dict[str, Any]:
    return {"id": "e", "match": {"exact": "m"}, "input": 2, "output": 8, **fields}


def _cost(raw: dict[str, Any], context: dict[str, str] | None, at: datetime = NOV) -> Decimal:
    return calculate(USAGE, parse_entry(raw), context=context, at=at).total


@pytest.mark.parametrize(
    ("variants", "context", "expected"),
    [
        pytest.param([{"when": FLEX, "input": 1, "output": 4}], None, 2 * 1 + 8, id="no-context"),
        pytest.param([{"when": FLEX, "input": 1, "output": 4}], FLEX, 1 + 4, id="flex"),
        pytest.param([{"when": FLEX, "input": 1}], FLEX, 1 + 8, id="unset-price-from-entry"),
        pytest.param([{"when": FLEX, "input": 1}], {"service_tier": "priority"}, 2 + 8, id="other-value"),
        pytest.param([{"when": {"service_tier": "default"}}], {"service_tier": "default"}, 2 + 8, id="empty-variant"),
        pytest.param(
            [{"when": FLEX, "input": 1}, {"when": FLEX, "input": 3, "output": 5}], FLEX, 1 + 5, id="first-wins-per-key"
        ),
        pytest.param(
            [{"when": {"service_tier": "flex", "processing": "batch"}, "input": 0.5}], FLEX, 2 + 8, id="all-keys-needed"
        ),
        pytest.param(
            [{"when": FLEX, "input": 1, "valid_from": "2026-12-01"}], FLEX, 2 + 8, id="variant-not-yet-in-force"
        ),
        pytest.param([{"when": FLEX, "input": 1, "valid_from": "2026-10-12"}], FLEX, 1 + 8, id="variant-in-force"),
    ],
)
def test_variant_resolution(variants: list[dict[str, Any]], context: dict[str, str] | None, expected: float) -> None:
    # 1M input (of which 0.2M cache reads at the input price: no cache_read price) + 1M output
    assert _cost(_entry(variants=variants), context) == Decimal(str(expected))


def test_a_variant_price_replaces_the_tiers_of_that_price_only() -> None:
    raw = _entry(
        tiers=[{"above_input_tokens": 500_000, "input": 4, "output": 16}],
        variants=[{"when": FLEX, "input": 1}],
    )
    # above the tier: input is the variant's flat 1 (its tiers are gone), output keeps its tier 16
    assert _cost(raw, FLEX) == Decimal(1 + 16)
    assert _cost(raw, None) == Decimal(4 + 16)


def test_a_variant_with_tiers_and_per_request() -> None:
    raw = _entry(
        variants=[
            {"when": FLEX, "input": 1, "tiers": [{"above_input_tokens": 500_000, "input": 3}], "per_request": 0.5}
        ]
    )
    breakdown = calculate(USAGE, parse_entry(raw), context=FLEX, at=NOV)
    assert breakdown.total == Decimal(3 + 8) + Decimal("0.5")
    assert breakdown.tier == 500_000
    assert breakdown.by_type["request"] == Decimal("0.5")


def test_no_context_prices_with_the_entry_itself() -> None:
    entry = parse_entry(_entry(variants=[{"when": FLEX, "input": 1}]))
    assert entry.for_call(None, NOV.timestamp()) is entry
    assert entry.for_call({"service_tier": "priority"}, NOV.timestamp()) is entry
    assert entry.for_call(FLEX, NOV.timestamp()) is entry.for_call(FLEX, NOV.timestamp())  # resolved once


def test_file_form_round_trips() -> None:
    raw = _entry(
        variants=[
            {"when": {"service_tier": "default"}},
            {"when": FLEX, "input": 1, "input_breakdown": {"cache_read": 0.1}, "valid_from": "2026-10-12"},
            {"when": {"processing": "batch"}, "input": 1, "tiers": [{"above_input_tokens": 10, "input": 2}]},
        ]
    )
    entry = parse_entry(raw)
    assert parse_entry(entry.to_json()) == entry
    assert entry.to_json()["variants"] == raw["variants"]


def test_table_match_applies_the_context(make_table: Any) -> None:
    table = make_table(_entry(provider="openai", variants=[{"when": FLEX, "input": 1}]))
    assert table.cost(USAGE, "m", "openai", NOV, FLEX).total == Decimal(1 + 8)
    assert table.cost(USAGE, "m", "openai", NOV).total == Decimal(2 + 8)
    assert table.match("m", "openai", NOV, FLEX).rates.input == Decimal(1)


def test_an_entry_found_through_a_fallback_provider_keeps_its_standard_prices(make_table: Any) -> None:
    # genai-prices: Azure OpenAI falling back to OpenAI's entry gets no OpenAI service-tier prices
    table = make_table(_entry(provider="openai", variants=[{"when": FLEX, "input": 1}]))
    assert table.cost(USAGE, "m", "azure.ai.openai", NOV, FLEX).total == Decimal(2 + 8)


BAD_VARIANTS = [
    pytest.param({"input": 1}, "variants[0].when", "required", id="no-when"),
    pytest.param({"when": {}, "input": 1}, "variants[0].when", "required", id="empty-when"),
    pytest.param({"when": {"service_tier": 1}}, "variants[0].when", "required", id="non-string-value"),
    pytest.param({"when": FLEX, "inputt": 1}, "variants[0].inputt", "unknown field", id="unknown-field"),
    pytest.param({"when": FLEX, "input": -1}, "variants[0].input", "negative", id="negative"),
    pytest.param(
        {"when": FLEX, "input_breakdown": {"cache_reed": 1}},
        "variants[0].input_breakdown.cache_reed",
        "unknown token type",
        id="unknown-token-type",
    ),
    pytest.param({"when": FLEX, "valid_from": "soon"}, "variants[0].valid_from", "ISO date", id="bad-valid-from"),
    pytest.param(
        {"when": FLEX, "input": 1, "tiers": [{"above_input_tokens": 5, "output": 2}]},
        "variants[0].tiers",
        "does not",
        id="tier-price-not-in-variant",
    ),
]


@pytest.mark.parametrize(("variant", "field", "message"), BAD_VARIANTS)
def test_bad_variants_name_file_entry_and_field(
    tmp_path: Path, variant: dict[str, Any], field: str, message: str
) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"entries": [_entry(variants=[variant])]}))
    with pytest.raises(PricingError) as caught:
        PricingTable.load(files=[path], include_bundled=False)
    assert (caught.value.entry, caught.value.field) == ("e", field)
    assert str(caught.value).startswith(f"{path}: entry 'e': field '{field}': ")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_variants_must_be_a_list() -> None:
    with pytest.raises(PricingError, match="list of variants"):
        parse_entry(_entry(variants={"when": FLEX}))


def test_bundled_openai_flex_is_half_price() -> None:
    table = PricingTable.load()
    standard = table.cost(USAGE, "gpt-5", "openai", NOV)
    flex = table.cost(USAGE, "gpt-5", "openai", NOV, FLEX)
    assert standard is not None and flex is not None
    assert flex.total * 2 == standard.total


# --- time-of-day prices --------------------------------------------------------------------

OFF_PEAK = {"start": "16:30", "end": "00:30", "input": 1, "output": 4}


@pytest.mark.parametrize(
    ("clock", "expected"),
    [
        pytest.param("16:29:59", 2 + 8, id="before-window"),
        pytest.param("16:30:00", 1 + 4, id="window-start"),
        pytest.param("23:59:00", 1 + 4, id="before-midnight"),
        pytest.param("00:29:59", 1 + 4, id="after-midnight"),
        pytest.param("00:30:00", 2 + 8, id="window-end"),
    ],
)
def test_a_time_of_day_window_across_midnight(clock: str, expected: int) -> None:
    at = datetime.fromisoformat(f"2026-11-01T{clock}+00:00")
    assert _cost(_entry(time_of_day=[OFF_PEAK]), None, at) == Decimal(expected)


def test_the_first_window_containing_the_time_wins_and_variants_apply_on_top() -> None:
    raw = _entry(
        time_of_day=[{"start": "10:00", "end": "12:00", "input": 3}, {"start": "11:00", "end": "13:00", "input": 5}],
        variants=[{"when": FLEX, "output": 1}],
    )
    at = datetime(2026, 11, 1, 11, 30, tzinfo=timezone.utc)
    assert _cost(raw, None, at) == Decimal(3)  # the window sets no output price: none is charged
    assert _cost(raw, FLEX, at) == Decimal(3 + 1)
    assert _cost(raw, None, at.replace(hour=12)) == Decimal(5)


def test_time_of_day_round_trips() -> None:
    entry = parse_entry(_entry(time_of_day=[OFF_PEAK, {"start": "01:00:30", "end": "02:00", "per_request": 0.1}]))
    assert parse_entry(entry.to_json()) == entry
    assert entry.to_json()["time_of_day"][0] == OFF_PEAK


@pytest.mark.parametrize(
    ("window", "field", "message"),
    [
        pytest.param({"end": "02:00", "input": 1}, "time_of_day[0].start", "required", id="no-start"),
        pytest.param({"start": "25:00", "end": "02:00", "input": 1}, "time_of_day[0].start", "HH:MM", id="bad-time"),
        pytest.param({"start": "01:00+02:00", "end": "02:00", "input": 1}, "time_of_day[0].start", "UTC", id="offset"),
        pytest.param({"start": "02:00", "end": "02:00", "input": 1}, "time_of_day[0].end", "empty", id="empty"),
        pytest.param({"start": "01:00", "end": "02:00"}, "time_of_day[0]", "no price", id="no-price"),
        pytest.param({"start": "01:00", "end": "02:00", "inptu": 1}, "time_of_day[0].inptu", "unknown", id="typo"),
    ],
)
def test_bad_time_of_day_windows(window: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(PricingError) as caught:
        parse_entry(_entry(time_of_day=[window]))
    assert caught.value.field == field
    assert message in str(caught.value)


def test_bundled_deepseek_costs_less_off_peak() -> None:
    table = PricingTable.load()
    peak = table.cost(USAGE, "deepseek-chat", "deepseek", datetime(2026, 11, 1, 10, tzinfo=timezone.utc))
    off_peak = table.cost(USAGE, "deepseek-chat", "deepseek", datetime(2026, 11, 1, 20, tzinfo=timezone.utc))
    assert peak is not None and off_peak is not None
    assert off_peak.total * 2 == peak.total


@pytest.mark.parametrize("clock", ["12:00", "23:00"], ids=["peak", "off-peak"])
def test_an_entry_matched_for_an_instant_keeps_its_prices_whenever_it_is_priced(make_table: Any, clock: str) -> None:
    """``match(at=...)`` resolves the window: pricing the entry later (``calculate`` defaults to
    now; instrumentors price when a call ends) must not look at the clock again. The CLI's
    ``cost --at`` and every call straddling a window's edge depend on it."""
    table = make_table(_entry(provider="openai", time_of_day=[OFF_PEAK]))
    at = datetime.fromisoformat(f"2026-11-01T{clock}:00+00:00")
    entry = table.match("m", "openai", at)
    assert entry is not None
    expected = calculate(USAGE, entry, at=at).total
    for later in ("12:00", "23:00"):  # whatever the hour it is priced at
        assert calculate(USAGE, entry, at=datetime.fromisoformat(f"2026-11-02T{later}:00+00:00")).total == expected
