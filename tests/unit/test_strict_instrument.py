"""``GENAI_COST_STRICT`` in code: ``instrument()`` with an unusable pricing file fails there, in
one exception naming the file, instead of pricing every call as an error later."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import genai_cost
from genai_cost.config import get_settings
from genai_cost.pricing import PricingError, PricingTable
from genai_cost.pricing import table as pricing_module


@pytest.fixture
def missing_pricing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "nonexistent.json"
    monkeypatch.setenv("GENAI_COST_PRICING_FILE", str(path))
    monkeypatch.setattr(pricing_module, "_default", [])  # the process-wide table is built anew
    get_settings.cache_clear()
    yield path
    genai_cost.uninstrument()
    monkeypatch.undo()
    get_settings.cache_clear()


def test_strict_instrument_raises_one_clear_error(missing_pricing_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENAI_COST_STRICT", "true")
    get_settings.cache_clear()
    with pytest.raises(PricingError) as raised:
        genai_cost.instrument()
    message = str(raised.value)
    assert str(missing_pricing_file) in message
    assert "\n" not in message


def test_without_strict_instrument_falls_back_to_the_bundled_table(missing_pricing_file: Path) -> None:
    genai_cost.instrument()
    assert PricingTable.default().match("gpt-4o-mini", provider="openai") is not None
