"""``genai-cost cost --context`` and ``genai-cost price`` with variants and time-of-day windows."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from genai_cost.cli import EXIT_BAD_INPUT, EXIT_OK, main

ENTRY = {
    "id": "house",
    "provider": "openai",
    "match": {"exact": "house-model"},
    "input": 2,
    "output": 8,
    "variants": [
        {"when": {"service_tier": "default"}},
        {"when": {"service_tier": "flex"}, "input": 1, "output": 4, "valid_from": "2025-01-01"},
    ],
    "time_of_day": [{"start": "22:00", "end": "06:00", "input": 0.5, "output": 2}],
}
COST = ["cost", "--model", "house-model", "--provider", "openai", "--input-tokens", "1000000"]
COST += ["--output-tokens", "1000000", "--at", "2026-11-01T12:00:00Z"]


@pytest.fixture
def pricing(tmp_path: Path) -> list[str]:
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"entries": [ENTRY]}), "utf-8")
    return ["--pricing", str(path)]


@pytest.mark.parametrize(
    ("extra", "total"),
    [
        pytest.param([], "10", id="standard"),
        pytest.param(["--context", "service_tier=flex"], "5", id="flex"),
        pytest.param(["--context", "service_tier=default"], "10", id="default"),
        pytest.param(["--context", "service_tier=flex", "--context", "processing=batch"], "5", id="two-keys"),
    ],
)
def test_cost_with_context(
    pricing: list[str], capsys: pytest.CaptureFixture[str], extra: list[str], total: str
) -> None:
    assert main([*COST, *extra, *pricing, "--json"]) == EXIT_OK
    out = json.loads(capsys.readouterr().out)
    assert Decimal(out["total"]) == Decimal(total)
    assert out["context"] == dict(item.split("=") for item in extra if "=" in item)


def test_cost_at_a_time_of_day(pricing: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    args = [arg if arg != "2026-11-01T12:00:00Z" else "2026-11-01T23:00:00Z" for arg in COST]
    assert main([*args, *pricing, "--json"]) == EXIT_OK
    assert Decimal(json.loads(capsys.readouterr().out)["total"]) == Decimal("2.5")


def test_cost_human_output_names_the_context(pricing: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*COST, "--context", "service_tier=flex", *pricing]) == EXIT_OK
    assert "(service_tier=flex)" in capsys.readouterr().out


def test_a_bad_context_is_a_usage_error(pricing: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*COST, "--context", "flex", *pricing]) == EXIT_BAD_INPUT
    assert "expected KEY=VALUE" in capsys.readouterr().err


def test_price_lists_variants_and_windows(pricing: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["price", "house-model", "--provider", "openai", *pricing]) == EXIT_OK
    out = capsys.readouterr().out
    assert "with service_tier=default: same" in out
    assert "with service_tier=flex, from 2025-01-01:" in out
    assert "from 22:00 to 06:00 UTC (all prices replaced):" in out


def test_price_json_is_the_entry_as_written(pricing: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    # at 23:00 the window's prices apply to calls, but the entry shown is the whole entry
    assert main(["price", "house-model", "--provider", "openai", "--at", "2026-11-01T23:00:00Z", *pricing,
                 "--json"]) == EXIT_OK  # fmt: skip
    entry = json.loads(capsys.readouterr().out)["entry"]
    assert entry["input"] == 2
    assert entry["variants"] == ENTRY["variants"]
    assert entry["time_of_day"] == ENTRY["time_of_day"]
