"""``track_usage()`` in a process where nothing counts LLM calls warns once; otherwise it is silent.

Each case runs in a fresh interpreter: whether a counter exists is a property of the process.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import genai_cost

SETUP = "import logging; logging.basicConfig(format='%(levelname)s %(message)s')\nimport genai_cost\n"
TWO_EMPTY_BLOCKS = """
with genai_cost.track_usage():
    pass

@genai_cost.track_usage()
def no_llm_calls():
    pass

no_llm_calls()
print("done")
"""


def stderr_of(script: str) -> str:
    env = {"PYTHONPATH": str(Path(genai_cost.__file__).parents[1])}
    result = subprocess.run(
        [sys.executable, "-c", SETUP + script], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout == "done\n"
    return result.stderr


def test_blocks_in_a_process_without_instrumentation_warn_once() -> None:
    stderr = stderr_of(TWO_EMPTY_BLOCKS)

    warnings = stderr.splitlines()
    assert len(warnings) == 1, stderr
    assert warnings[0].startswith("WARNING genai-cost: a track_usage() block ended while no LLM call could be counted")
    assert "genai_cost.instrument()" in warnings[0]
    assert "opentelemetry-instrument" in warnings[0]


@pytest.mark.parametrize(
    "setup",
    [
        pytest.param("genai_cost.instrument()", id="instrument"),
        pytest.param(
            "from opentelemetry.sdk.trace import SpanProcessor\ngenai_cost.CostSpanProcessor(SpanProcessor())",
            id="cost-span-processor",
        ),
    ],
)
def test_blocks_without_llm_calls_in_an_instrumented_process_are_silent(setup: str) -> None:
    assert stderr_of(setup + "\n" + TWO_EMPTY_BLOCKS) == ""
