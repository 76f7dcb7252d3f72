"""``genai-cost pricing diff OLD NEW`` and ``genai-cost pricing info``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support.price_server import PriceServer

from genai_cost.cli import EXIT_BAD_INPUT, EXIT_OK, main
from genai_cost.config import ENV, get_settings
from genai_cost.pricing.provenance import bundled_provenance
from genai_cost.pricing.sync import SUPPLEMENT_PATH
from genai_cost.pricing.table import BUNDLED_PATH


def _file(tmp_path: Path, name: str, entries: list[dict[str, Any]], **header: str) -> str:
    path = tmp_path / name
    path.write_text(json.dumps({**header, "entries": entries}))
    return str(path)


def _entry(entry_id: str, input_price: float, output_price: float, **more: Any) -> dict[str, Any]:
    return {"id": entry_id, "provider": "openai", "match": {"exact": entry_id}, "input": input_price,
            "output": output_price, **more}  # fmt: skip


@pytest.fixture
def tables(tmp_path: Path) -> tuple[str, str]:
    old = _file(tmp_path, "old.json", [_entry("kept", 1, 2), _entry("gone", 1, 1), _entry("same", 3, 4)])
    new = _file(
        tmp_path,
        "new.json",
        [
            _entry("kept", 1.5, 2, input_breakdown={"cache_read": 0.5}),
            _entry("same", 3, 4),
            _entry("fresh", 2, 8),
        ],
        generated_at="2026-12-01T00:00:00Z",
    )
    return old, new


def test_diff_lists_added_removed_and_changed_prices(
    tables: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = tables
    assert main(["pricing", "diff", old, new]) == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"old: {old}@sha256:") and lines[0].endswith("(3 entries)")
    assert lines[1:] == [
        f"new: {new}@2026-12-01T00:00:00Z (3 entries)",
        "added: 1 entry",
        "  + fresh  in 2  out 8",
        "removed: 1 entry",
        "  - gone",
        "changed: 1 entry",
        "  ~ kept",
        "      input: 1 -> 1.5",
        "      input_breakdown.cache_read: - -> 0.5",
    ]


def test_diff_json(tables: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    old, new = tables
    assert main(["pricing", "diff", old, new, "--json"]) == EXIT_OK
    out = json.loads(capsys.readouterr().out)
    assert out["new"] == {"source": new, "version": f"{new}@2026-12-01T00:00:00Z", "entries": 3}
    assert [entry["id"] for entry in out["added"]] == ["fresh"]
    assert out["added"][0]["input"] == "2" and out["added"][0]["output"] == "8"
    assert [entry["id"] for entry in out["removed"]] == ["gone"]
    assert out["changed"] == [
        {
            "id": "kept",
            "changes": [
                {"field": "input", "old": 1, "new": 1.5},
                {"field": "input_breakdown.cache_read", "old": None, "new": 0.5},
            ],
        }
    ]


def test_diff_reads_genai_prices_data_from_a_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # genai-prices' published shape (prices/new_data/v2/data.json): an array of providers.
    data = [{"id": "openai", "name": "OpenAI", "api_pattern": r"https://api\.openai\.com",
             "models": [{"id": "acme-chat", "match": {"equals": "acme-chat"},
                         "prices": {"input_mtok": 2, "output_mtok": 4, "cache_read_mtok": 0.5}}]}]  # fmt: skip
    old = _file(tmp_path, "old.json", [{**_entry("openai:acme-chat", 1, 4), "match": {"exact": "acme-chat"}}])
    with PriceServer() as server:
        server.serve(data)
        assert main(["pricing", "diff", old, server.url]) == EXIT_OK
        etag = server.etag.strip('"')
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == f"new: {server.url}@etag:{etag} (1 entry)"
    assert lines[-3:] == ["  ~ openai:acme-chat", "      input: 1 -> 2", "      input_breakdown.cache_read: - -> 0.5"]


def test_diff_of_the_bundled_table_and_the_installed_genai_prices_is_the_supplement(
    capsys: pytest.CaptureFixture[str],
) -> None:
    supplement = sorted(entry["id"] for entry in json.loads(Path(SUPPLEMENT_PATH).read_text())["entries"])
    assert main(["pricing", "diff", "bundled", "genai-prices", "--json"]) == EXIT_OK
    out = json.loads(capsys.readouterr().out)
    assert out["old"]["version"] == bundled_provenance().version
    assert [entry["id"] for entry in out["removed"]] == supplement
    assert out["added"] == [] and out["changed"] == []


def test_diff_of_a_missing_file_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = str(tmp_path / "nope.json")
    assert main(["pricing", "diff", "bundled", missing]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and missing in err


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in (ENV.PRICING_URL, ENV.PRICING_FILE, ENV.PRICING_REFRESH):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


def _bundled_count() -> int:
    return len(json.loads(Path(BUNDLED_PATH).read_text())["entries"])


def test_info_without_refresh_is_the_bundled_table(env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pricing", "info", "--json"]) == EXIT_OK
    out = json.loads(capsys.readouterr().out)
    bundled = bundled_provenance()
    assert out["sources"] == ["bundled"] and out["version"] == bundled.version
    assert bundled.generated_at is not None and out["generated_at"] == bundled.generated_at.isoformat()
    assert out["entries"] == _bundled_count() and out["age_seconds"] >= 0
    assert out["refresh"].startswith("off")


def test_info_checks_the_refresh_url(env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with PriceServer() as server:
        server.serve({"generated_at": "2026-11-30T12:00:00Z", "entries": [_entry("house-model", 1, 2)]})
        env.setenv(ENV.PRICING_URL, server.url)
        get_settings.cache_clear()
        assert main(["pricing", "info"]) == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"sources    bundled < {server.url}"
    assert lines[1] == f"version    {bundled_provenance().version}+{server.url}@2026-11-30T12:00:00Z"
    assert lines[2].startswith("generated  2026-11-30T12:00:00+00:00 (") and lines[2].endswith(" ago)")
    assert lines[3] == f"entries    {_bundled_count() + 1}"
    assert lines[4] == f"refresh    {server.url} every 3600 s: checked now, ok"


def test_info_with_a_failing_url_says_so_and_shows_the_table_without_it(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with PriceServer() as server:
        server.mode = "status:503"
        env.setenv(ENV.PRICING_URL, server.url)
        get_settings.cache_clear()
        assert main(["pricing", "info", "--json"]) == EXIT_OK
    out = json.loads(capsys.readouterr().out)
    assert out["sources"] == ["bundled"]
    assert "FAILED" in out["refresh"] and "HTTP 503" in out["refresh"]
