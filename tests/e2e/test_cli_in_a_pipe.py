"""Every ``genai-cost`` command in a pipe whose reader went away (``genai-cost ... | head``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from tests.e2e.otlp import clean_env

import genai_cost

pytestmark = pytest.mark.e2e

KILLED_BY_SIGPIPE = 128 + signal.SIGPIPE
"""What a shell reports for ``cat big-file | head``: the convention for a writer whose reader left."""
PRICING_FILE = Path(__file__).parents[2] / "src" / "genai_cost" / "pricing" / "data" / "prices.json"
COMMANDS = [
    pytest.param(["pricing", "list"], KILLED_BY_SIGPIPE, id="pricing-list"),
    pytest.param(["pricing", "validate", str(PRICING_FILE)], KILLED_BY_SIGPIPE, id="pricing-validate"),
    pytest.param(["price", "gpt-4o"], KILLED_BY_SIGPIPE, id="price"),
    pytest.param(["price", "gpt-4o", "--json"], KILLED_BY_SIGPIPE, id="price-json"),
    pytest.param(
        ["cost", "--model", "gpt-4o", "--input-tokens", "10", "--output-tokens", "5"], KILLED_BY_SIGPIPE, id="cost"
    ),
    pytest.param(["demo"], KILLED_BY_SIGPIPE, id="demo"),
    # argparse prints help and ignores a failed write itself.
    pytest.param(["--help"], 0, id="help"),
    pytest.param(["cost", "--help"], 0, id="cost-help"),
]


def run_into_closed_pipe(args: list[str]) -> subprocess.CompletedProcess[str]:
    """Run ``genai-cost args`` with stdout a pipe whose read end is already closed."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader went away before the first line, like `| head -0`
    env = clean_env(PYTHONPATH=str(Path(genai_cost.__file__).parents[1]))
    command = [sys.executable, "-c", "import sys; from genai_cost.cli import main; sys.exit(main())", *args]
    try:
        return subprocess.run(command, env=env, stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)


@pytest.mark.parametrize(("args", "returncode"), COMMANDS)
def test_a_command_whose_reader_went_away_stops_quietly(args: list[str], returncode: int) -> None:
    result = run_into_closed_pipe(args)

    assert result.stderr == ""
    assert result.returncode == returncode


def test_pricing_list_into_head_prints_its_first_lines_and_no_traceback() -> None:
    env = clean_env(PYTHONPATH=str(Path(genai_cost.__file__).parents[1]))
    cli = f"{sys.executable} -c 'import sys; from genai_cost.cli import main; sys.exit(main())'"
    result = subprocess.run(
        ["bash", "-c", f"{cli} pricing list | head -n 2"], env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0
    assert len(result.stdout.splitlines()) == 2
    assert result.stderr == ""
