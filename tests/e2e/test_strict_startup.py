"""``GENAI_COST_STRICT=true`` with a bad pricing file stops the process with one line on stderr."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from tests.e2e.otlp import clean_env, opentelemetry_instrument

import genai_cost

pytestmark = pytest.mark.e2e

APP = "print('the app ran')"
MISSING = "/nonexistent/prices.json"
STOPPED = (
    "genai-cost: GENAI_COST_STRICT is set and the pricing configuration is invalid: "
    f"{MISSING}: cannot read file: No such file or directory"
)


def strict_env(**env: str) -> dict[str, str]:
    return clean_env(
        PYTHONPATH=str(Path(genai_cost.__file__).parents[1]),
        GENAI_COST_STRICT="true",
        GENAI_COST_PRICING_FILE=MISSING,
        OTEL_TRACES_EXPORTER="none",
        OTEL_METRICS_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
        **env,
    )


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_under_opentelemetry_instrument_the_app_does_not_start_and_stderr_is_one_line() -> None:
    result = run([opentelemetry_instrument(), sys.executable, "-c", APP], strict_env())

    assert result.stderr.splitlines() == [STOPPED]
    assert result.returncode != 0
    assert result.stdout == ""


def test_with_another_configurator_the_post_instrument_check_stops_it_the_same_way() -> None:
    result = run([opentelemetry_instrument(), sys.executable, "-c", APP], strict_env(OTEL_PYTHON_CONFIGURATOR="sdk"))

    ours = [line for line in result.stderr.splitlines() if "genai" in line and "not loaded because" not in line]
    assert ours == [STOPPED], result.stderr
    assert "Traceback" not in result.stderr
    assert result.returncode != 0
    assert result.stdout == ""


def test_genai_cost_demo_stops_with_the_one_line_too() -> None:
    cli = "import sys; from genai_cost.cli import main; sys.exit(main())"
    result = run([sys.executable, "-c", cli, "demo"], strict_env())

    assert result.stderr.splitlines() == [STOPPED]
    assert result.returncode == 1
    assert result.stdout == ""
