"""``genai-cost gateway rotel``: the command line that starts rotel with the processor."""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Callable
from pathlib import Path

import pytest

import genai_cost
from genai_cost.cli import EXIT_BAD_INPUT, EXIT_OK, main


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["gateway", "rotel", "--exporter-endpoint=http://tempo:4317", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_names_the_processor_and_makes_this_genai_cost_importable(
    capsys: pytest.CaptureFixture[str], configure: Callable[..., None]
) -> None:
    configure()
    code, out, _err = _run(capsys, "--json")
    assert code == EXIT_OK
    launch = json.loads(out)
    processor = Path(launch["processor"])
    assert processor.is_file() and "def process_spans" not in processor.read_text()  # a re-export only
    assert f"--otlp-with-trace-processor={processor}" in launch["argv"]
    assert "--otlp-exporter-endpoint=http://tempo:4317" in launch["argv"]
    package_home = str(Path(genai_cost.__file__).resolve().parents[1])
    assert launch["env"]["PYTHONPATH"].split(os.pathsep)[0] == package_home


def test_pricing_settings_are_passed_on_with_absolute_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], configure: Callable[..., None]
) -> None:
    (tmp_path / "prices.json").write_text(
        json.dumps({"entries": [{"id": "acme:m", "match": {"exact": "m"}, "input": 1.0, "output": 2.0}]})
    )
    monkeypatch.chdir(tmp_path)
    configure(GENAI_COST_PRICING_FILE="prices.json", GENAI_COST_PRICING_REFRESH="600")
    code, out, _err = _run(capsys)
    assert code == EXIT_OK
    command = shlex.split(out.splitlines()[-1])
    assert command[0] == "env"
    assert f"GENAI_COST_PRICING_FILE={tmp_path / 'prices.json'}" in command
    assert "GENAI_COST_PRICING_REFRESH=600" in command


def test_a_bad_pricing_file_fails_here_not_in_the_collector(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], configure: Callable[..., None]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[{")
    configure(GENAI_COST_PRICING_FILE=str(bad))
    code, out, err = _run(capsys)
    assert code == EXIT_BAD_INPUT and out == ""
    assert str(bad) in err


def test_without_an_exporter_endpoint_it_refuses_rather_than_export_into_itself(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["gateway", "rotel"]) == EXIT_BAD_INPUT
    assert "--exporter-endpoint" in capsys.readouterr().err
