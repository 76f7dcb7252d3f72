"""Loading: layers, JSON and TOML files, every class of bad input, the process default table."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from genai_cost.config import Settings
from genai_cost.pricing import PriceEntry, PricingError, PricingTable
from genai_cost.pricing import table as table_module


def _write(tmp_path: Path, name: str, content: Any) -> str:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), "utf-8")
    return str(path)


def _entry(entry_id: str = "x", **fields: Any) -> dict[str, Any]:
    return {"id": entry_id, "match": {"exact": "m"}, "input": 1, **fields}


# --- layers ----------------------------------------------------------------------------------


def test_file_replaces_bundled_entry_with_the_same_id(tmp_path: Path) -> None:
    bundled = PricingTable.load().match("gpt-4o", "openai")
    assert bundled is not None
    override = {**bundled.to_json(), "input": 100}
    table = PricingTable.load(files=[_write(tmp_path, "p.json", {"entries": [override]})])
    entry = table.match("gpt-4o", "openai")
    assert entry is not None and entry.id == bundled.id and entry.rates.input == 100


def test_layers_bundled_then_files_then_code(tmp_path: Path) -> None:
    first = _write(tmp_path, "a.json", {"entries": [_entry("x", input=1), _entry("y", match={"exact": "n"})]})
    second = _write(tmp_path, "b.json", {"entries": [_entry("x", input=2)]})
    table = PricingTable.load(files=[first, second], entries=[_entry("x", input=3), _entry("z", match={"exact": "o"})])
    assert table.match("m").rates.input == 3  # type: ignore[union-attr]
    assert table.match("n").id == "y"  # type: ignore[union-attr]
    assert table.match("o").id == "z"  # type: ignore[union-attr]
    assert table.match("gpt-4o-mini", "openai") is not None  # bundled entries still there
    without_code = PricingTable.load(files=[first, second])
    assert without_code.match("m").rates.input == 2  # type: ignore[union-attr]


def test_later_layer_wins_a_tie_between_different_ids(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.json", {"entries": [_entry("from-file")]})
    table = PricingTable.load(files=[path], entries=[_entry("from-code")], include_bundled=False)
    assert table.match("m").id == "from-code"  # type: ignore[union-attr]


def test_entries_may_be_objects(make_entry: Any) -> None:
    entry: PriceEntry = make_entry(input=7)
    table = PricingTable.load(entries=[entry], include_bundled=False)
    assert table.match("m") is entry
    assert table.entries == (entry,)


def test_toml_file(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "prices.toml",
        """
[[entries]]
id = "my-model"
provider = "openai"
match = { prefix = "my-" }
input = 0.5
output = 1.5
valid_from = 2024-05-01
input_breakdown = { cache_read = 0.25 }

[[entries.tiers]]
above_input_tokens = 1000
input = 1
""",
    )
    entry = PricingTable.load(files=[path], include_bundled=False).match("my-x", "openai")
    assert entry is not None and entry.id == "my-model"
    assert str(entry.rates.input_breakdown["cache_read"]) == "0.25"
    assert entry.tiers[0].above_input_tokens == 1000
    assert entry.valid_from is not None and entry.valid_from.isoformat() == "2024-05-01T00:00:00+00:00"


def test_bundled_entries_can_be_left_out() -> None:
    assert PricingTable.load(include_bundled=False).match("gpt-4o", "openai") is None


# --- bad input -------------------------------------------------------------------------------

BAD_ENTRIES = [
    pytest.param([_entry(colour="red")], "x", "colour", "unknown field", id="unknown-field"),
    pytest.param([_entry(input=-1)], "x", "input", "must not be negative", id="negative-price"),
    pytest.param([_entry(output="NaN")], "x", "output", "finite", id="non-finite-price"),
    pytest.param([_entry(input=True)], "x", "input", "expected a number", id="bool-price"),
    pytest.param(
        [_entry(tiers=[{"above_input_tokens": 10, "output": -2}])],
        "x",
        "tiers[0].output",
        "must not be negative",
        id="negative-tier-price",
    ),
    pytest.param(
        [_entry(tiers=[{"above_input_tokens": -1, "input": 2}])],
        "x",
        "tiers[0].above_input_tokens",
        "non-negative integer",
        id="bad-tier-threshold",
    ),
    pytest.param(
        [_entry(input_breakdown={"cache_foo": 1})],
        "x",
        "input_breakdown.cache_foo",
        "unknown token type",
        id="unknown-input-token-type",
    ),
    pytest.param(
        [_entry(output_breakdown={"cache_read": 1})],
        "x",
        "output_breakdown.cache_read",
        "unknown token type",
        id="unknown-output-token-type",
    ),
    pytest.param(
        [_entry(units={"web_searches": 10})],
        "x",
        "units.web_searches",
        "unknown unit (expected one of: audio_hours",
        id="unknown-unit",
    ),
    pytest.param(
        [_entry(input_breakdown={"cache_read": 1, "audio": 2})],
        "x",
        "input_breakdown.cache_audio_read",
        "input_breakdown.cache_read and input_breakdown.audio are priced",
        id="overlap-without-its-price",
    ),
    pytest.param([_entry(match={"regex": "gpt-(4"})], "x", "match.regex", "invalid regular", id="bad-regex"),
    pytest.param(
        [_entry(match={"regex": "(a+)+$"})],
        "x",
        "match.regex",
        "catastrophically (nested unbounded quantifiers)",
        id="catastrophic-regex-nested",
    ),
    pytest.param(
        [_entry(match={"any": [{"exact": "a"}, {"regex": "(x|y*)*z"}]})],
        "x",
        "match.any[1].regex",
        "catastrophically",
        id="catastrophic-regex-in-branch",
    ),
    pytest.param(
        [_entry(match={"regex": r"\d+\d*x"})],
        "x",
        "match.regex",
        "adjacent unbounded quantifiers",
        id="catastrophic-regex-adjacent",
    ),
    pytest.param([_entry(match={"regex": "a" * 600})], "x", "match.regex", "longer than", id="long-regex"),
    pytest.param([_entry(match={"glob": "gpt*"})], "x", "match", "unknown clause", id="unknown-clause"),
    pytest.param(
        [_entry(match={"exact": "a", "prefix": "b"})],
        "x",
        "match",
        "exactly one",
        id="two-clauses",
    ),
    pytest.param([_entry("a"), _entry("b")], "b", "match", "overlaps entry 'a'", id="overlapping-exact"),
    pytest.param(
        [
            _entry("a", match={"prefix": "gpt-"}, provider="openai"),
            _entry("b", match={"any": [{"exact": "z"}, {"prefix": "gpt-"}]}, provider="openai"),
        ],
        "b",
        "match",
        "overlaps entry 'a'",
        id="overlapping-prefix",
    ),
    pytest.param([_entry(provider="azure")], "x", "provider", "did you mean 'azure.ai.openai'", id="alias"),
    pytest.param([_entry(provider="acme")], "x", "provider", "unknown provider", id="provider"),
    pytest.param([_entry(valid_from="yesterday")], "x", "valid_from", "ISO date", id="bad-valid_from"),
    pytest.param([_entry(currency="usd")], "x", "currency", "ISO 4217", id="bad-currency"),
    pytest.param([_entry(strip_date_suffix="yes")], "x", "strip_date_suffix", "true or false", id="bad-bool"),
    pytest.param([{"match": {"exact": "m"}, "input": 1}], "#0", "id", "required", id="no-id"),
    pytest.param([_entry(), _entry()], "x", "id", "duplicate id", id="duplicate-id"),
    pytest.param([{"id": "x", "match": {"exact": "m"}}], "x", "input", "sets no price", id="no-price"),
    pytest.param(["gpt-4o"], "#0", None, "expected an object", id="entry-not-object"),
]


@pytest.mark.parametrize(("entries", "entry", "field", "message"), BAD_ENTRIES)
def test_bad_entries_name_file_entry_and_field(
    tmp_path: Path, entries: list[Any], entry: str, field: str | None, message: str
) -> None:
    path = _write(tmp_path, "prices.json", {"entries": entries})
    with pytest.raises(PricingError) as caught:
        PricingTable.load(files=[path])
    error = caught.value
    assert (error.source, error.entry, error.field) == (path, entry, field)
    expected_start = f"{path}: entry '{entry}': " + (f"field '{field}': " if field else "")
    assert str(error).startswith(expected_start)
    assert message in str(error)
    assert "\n" not in str(error)


@pytest.mark.parametrize(
    ("name", "content", "field", "message"),
    [
        pytest.param("p.json", '{"entries": [', None, "malformed JSON", id="malformed-json"),
        pytest.param("p.toml", "[[entries]\nid = 1", None, "malformed TOML", id="malformed-toml"),
        pytest.param("p.json", "[]", None, "expected an object", id="top-level-list"),
        pytest.param("p.json", '{"entries": {}}', "entries", "list of entries", id="not-a-list"),
        pytest.param("p.json", '{"entries": [], "version": 2}', "version", "unknown", id="top-level-field"),
    ],
)
def test_bad_files_name_the_file(tmp_path: Path, name: str, content: str, field: str | None, message: str) -> None:
    path = _write(tmp_path, name, content)
    with pytest.raises(PricingError) as caught:
        PricingTable.load(files=[path])
    assert str(caught.value).startswith(f"{path}: ")
    assert caught.value.field == field
    assert message in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    path = str(tmp_path / "nope.json")
    with pytest.raises(PricingError, match="cannot read file"):
        PricingTable.load(files=[path])


def test_code_entries_are_labelled() -> None:
    with pytest.raises(PricingError) as caught:
        PricingTable.load(entries=[_entry(input=-1)])
    assert str(caught.value) == "<entries>: entry 'x': field 'input': price must not be negative, got -1"


# --- PricingTable.default() ------------------------------------------------------------------


@pytest.fixture
def fresh_default(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Lets a test choose the settings, and rebuilds the process default table around it."""

    def use(settings: Settings) -> None:
        monkeypatch.setattr(table_module, "get_settings", lambda: settings)

    saved = list(table_module._default)
    table_module._default.clear()
    yield use
    table_module._default[:] = saved


def test_default_layers_settings_files_and_aliases(tmp_path: Path, fresh_default: Any) -> None:
    path = _write(tmp_path, "p.json", {"entries": [_entry("mine", match={"exact": "house-model"})]})
    fresh_default(Settings(pricing_files=(path,), model_aliases={"prod-gpt": "gpt-4o"}))
    table = PricingTable.default()
    assert table.match("house-model").id == "mine"  # type: ignore[union-attr]
    assert table.match("prod-gpt", "azure.ai.openai") is not None
    assert PricingTable.default() is table


def test_default_is_built_once_across_threads(fresh_default: Any) -> None:
    fresh_default(Settings())
    seen: list[PricingTable] = []
    threads = [threading.Thread(target=lambda: seen.append(PricingTable.default())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(table) for table in seen}) == 1


def test_default_bad_file_warns_once_and_uses_bundled(
    tmp_path: Path, fresh_default: Any, caplog: pytest.LogCaptureFixture
) -> None:
    path = _write(tmp_path, "p.json", {"entries": [_entry(input=-1)]})
    fresh_default(Settings(pricing_files=(path,)))
    with caplog.at_level(logging.WARNING, logger="genai_cost.pricing.table"):
        table = PricingTable.default()
        PricingTable.default()
    assert [r.getMessage() for r in caplog.records] == [
        "genai-cost: ignoring pricing files, using the bundled table: "
        f"{path}: entry 'x': field 'input': price must not be negative, got -1"
    ]
    assert table.match("gpt-4o", "openai") is not None


def test_default_bad_file_raises_when_strict(tmp_path: Path, fresh_default: Any) -> None:
    path = _write(tmp_path, "p.json", "{not json")
    fresh_default(Settings(pricing_files=(path,), strict=True))
    with pytest.raises(PricingError, match="malformed JSON"):
        PricingTable.default()


def test_concurrent_first_lookups_see_complete_providers() -> None:
    """Bundled entries are decoded per provider on first use; racing threads must agree."""
    calls = [("gpt-4o", "openai"), ("claude-3-5-sonnet-20241022", "anthropic"), ("gpt-4o", "azure")]
    expected = {call: PricingTable.load().match(*call) for call in calls}
    table = PricingTable.load()
    results: list[tuple[tuple[str, str], object]] = []
    barrier = threading.Barrier(12)

    def look(call: tuple[str, str]) -> None:
        barrier.wait()
        results.append((call, table.match(*call)))

    threads = [threading.Thread(target=look, args=(calls[i % 3],)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 12
    assert all(entry == expected[call] for call, entry in results)
