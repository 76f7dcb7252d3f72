"""The ``genai-cost`` command line, through ``main([...])`` and once as the installed script."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from genai_cost.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_UNKNOWN_MODEL, main
from genai_cost.pricing import PricingError, PricingTable
from genai_cost.pricing.table import BUNDLED_PATH

BUNDLED = Path(BUNDLED_PATH)


def _file(tmp_path: Path, entries: list[dict[str, Any]], name: str = "p.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps({"entries": entries}), "utf-8")
    return str(path)


ACCEPTANCE = {
    "id": "acceptance",
    "match": {"exact": "house-model"},
    "input": 2,
    "output": 3,
    "input_breakdown": {"cache_read": 1},
}


def test_cost_json_is_exact(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "cost",
            "--model",
            "house-model",
            "--input-tokens",
            "20",
            "--cache-read-tokens",
            "5",
            "--output-tokens",
            "10",
            "--pricing",
            _file(tmp_path, [ACCEPTANCE]),
            "--json",
        ]
    )
    assert code == EXIT_OK
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "priced"
    assert out["total"] == "0.000065"
    assert out["currency"] == "USD"
    assert out["entry"] == {"id": "acceptance", "name": "acceptance"}
    assert out["breakdown"] == {"cache_read": "0.000005", "input": "0.00003", "output": "0.00003"}


def test_cost_human_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["cost", "--model", "house-model", "--input-tokens", "20", "--output-tokens", "10"]
    assert main([*args, "--cache-read-tokens", "5", "--pricing", _file(tmp_path, [ACCEPTANCE])]) == 0
    out = capsys.readouterr().out
    assert "cache_read" in out and "$0.000005" in out
    assert out.rstrip().endswith("total              $0.000065")


def test_cost_on_the_bundled_table(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["cost", "--model", "gpt-4o-mini", "--input-tokens", "1200", "--output-tokens", "300"]
    assert main([*args, "--provider", "openai", "--json"]) == EXIT_OK
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "priced" and out["entry"]["id"] == "openai:gpt-4o-mini"


def test_cost_unknown_model_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["cost", "--model", "no-such-model", "--input-tokens", "1", "--output-tokens", "1"]
    assert main([*args, "--json"]) == EXIT_UNKNOWN_MODEL
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "unknown_model" and out["total"] is None and out["breakdown"] == {}


def test_cost_at_date_uses_history(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _file(tmp_path, [{**ACCEPTANCE, "valid_from": "2025-01-01"}])
    args = ["cost", "--model", "house-model", "--input-tokens", "1", "--output-tokens", "1"]
    assert main([*args, "--pricing", path, "--at", "2024-12-31"]) == EXIT_UNKNOWN_MODEL
    assert main([*args, "--pricing", path, "--at", "2025-01-01T00:00:00Z"]) == EXIT_OK
    capsys.readouterr()


def test_price_shows_the_entry(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["price", "gpt-3.5-turbo-0125", "--provider", "openai"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "openai:gpt-3.5-turbo" in out and "$0.5 per 1M tokens" in out


def test_price_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["price", "anthropic.claude-v2", "--provider", "bedrock", "--json"]) == EXIT_OK
    out = json.loads(capsys.readouterr().out)
    assert out["provider"] == "aws.bedrock"
    assert out["entry"]["input"] == 8 and out["entry"]["output"] == 24


def test_price_unknown_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["price", "no-such-model"]) == EXIT_UNKNOWN_MODEL
    assert "unknown model" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param([], id="no-command"),
        pytest.param(["cost", "--model", "m", "--input-tokens", "1"], id="missing-option"),
        pytest.param(
            ["cost", "--model", "m", "--input-tokens", "-1", "--output-tokens", "1"],
            id="negative-count",
        ),
        pytest.param(["cost", "--model", "m", "--input-tokens", "x", "--output-tokens", "1"], id="not-int"),
        pytest.param(["price", "m", "--at", "last tuesday"], id="bad-date"),
        pytest.param(["price", "m", "--provider", "acme"], id="unknown-provider"),
        pytest.param(["price", "m", "--pricing", "/nonexistent.json"], id="missing-file"),
        pytest.param(["frobnicate"], id="unknown-command"),
    ],
)
def test_bad_usage_exits_2_with_one_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith("genai-cost: error: ")
    assert err.count("\n") == 1


def test_bad_pricing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _file(tmp_path, [{**ACCEPTANCE, "input": -2}])
    assert main(["price", "house-model", "--pricing", path]) == EXIT_BAD_INPUT
    assert capsys.readouterr().err == (
        f"genai-cost: error: {path}: entry 'acceptance': field 'input': price must not be negative, got -2\n"
    )


def test_pricing_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = _file(tmp_path, [ACCEPTANCE], "good.json")
    bad = _file(tmp_path, [{**ACCEPTANCE, "match": {"regex": "(a+)+"}}], "bad.json")
    assert main(["pricing", "validate", good]) == EXIT_OK
    assert f"{good}: ok (1 entry)" in capsys.readouterr().out
    assert main(["pricing", "validate", good, bad]) == EXIT_BAD_INPUT
    captured = capsys.readouterr()
    assert f"{bad}: entry 'acceptance': field 'match.regex'" in captured.err


def test_pricing_validate_reports_every_problem_a_line_each(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    typos = {**ACCEPTANCE, "ouput": 3, "input_breakdown": {"cache_reed": 1}}
    bad_price = {**ACCEPTANCE, "id": "second", "match": {"exact": "second-model"}, "input": "two"}
    path = _file(tmp_path, [typos, bad_price, {**ACCEPTANCE, "id": "fine", "match": {"exact": "fine-model"}}])
    assert main(["pricing", "validate", path]) == EXIT_BAD_INPUT
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(": field ")[0] for line in lines] == [
        f"genai-cost: error: {path}: entry 'acceptance'",
        f"genai-cost: error: {path}: entry 'acceptance'",
        f"genai-cost: error: {path}: entry 'second'",
    ]
    assert ["'ouput'" in lines[0], "'input_breakdown.cache_reed'" in lines[1], "'input'" in lines[2]] == [True] * 3


def test_a_file_with_several_problems_is_one_line_at_startup(tmp_path: Path) -> None:
    path = _file(tmp_path, [{**ACCEPTANCE, "ouput": 3, "input_breakdown": {"cache_reed": 1}}])
    with pytest.raises(PricingError) as raised:
        PricingTable.load(files=[path])
    assert "\n" not in str(raised.value)
    assert str(raised.value).endswith("(and 1 more problem)")
    assert len(raised.value.problems) == 2


def test_pricing_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pricing", "list", "--provider", "cohere"]) == EXIT_OK
    header, *rows = capsys.readouterr().out.splitlines()
    assert header.split() == ["PROVIDER", "$/1M", "IN", "$/1M", "OUT", "FROM", "ID"]
    assert rows and all(row.startswith("cohere ") for row in rows)


def test_pricing_sync_to_a_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("genai_prices")
    output = tmp_path / "prices.json"
    assert main(["pricing", "sync", "--output", str(output)]) == EXIT_OK
    assert "wrote" in capsys.readouterr().out
    assert len(output.read_bytes()) == pytest.approx(len(BUNDLED.read_bytes()), abs=100)


def test_installed_script() -> None:
    script = shutil.which("genai-cost")
    if script is None:
        pytest.skip("the genai-cost script is not installed (pip install -e .)")
    args = ["cost", "--model", "gpt-4o-mini", "--input-tokens", "1200", "--output-tokens", "300"]
    done = subprocess.run([script, *args, "--json"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "priced"
    unknown = subprocess.run([script, "price", "no-such-model"], capture_output=True, text=True, check=False)
    assert unknown.returncode == EXIT_UNKNOWN_MODEL
    bad = subprocess.run([script, "price"], capture_output=True, text=True, check=False)
    assert bad.returncode == EXIT_BAD_INPUT and "Traceback" not in bad.stderr
