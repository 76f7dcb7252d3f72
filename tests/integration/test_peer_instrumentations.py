"""The tests that run beside other GenAI instrumentations and LangChain (the ``peers`` extra).

The ``test`` extra leaves those packages out, so that the environment the README's commands
create has no instrumentation but genai-cost's; here the tests that need them run in a cached
venv that has them (tests/support/venvs.py). Where the peers are not installed, those tests
skip and name this runner.
"""

from __future__ import annotations

import pytest
from tests.support.venvs import cached_venv, peer_requirements, run_pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PEER_MODULES = (
    "opentelemetry.instrumentation.openai_v2",
    "openinference.instrumentation.openai",
    "langchain_openai",
    "langchain_community.callbacks.manager",
    "openinference.instrumentation.langchain",
    "langchain_anthropic",
    "langchain_aws",
)
PEER_TESTS = (
    "tests/integration/processor/test_processor_with_peer_instrumentors.py",
    "tests/integration/tracking/test_langchain_parity.py",
    "tests/integration/frameworks/test_langchain.py",
    "tests/reliability/test_wrapping.py",
    "tests/reliability/test_foreign_values.py::test_hostile_usage_through_openai_v2_spans",
)


def test_peer_tests_pass_beside_the_peers() -> None:
    python = cached_venv("peers", peer_requirements(), "\n".join(f"import {module}" for module in PEER_MODULES))
    result = run_pytest(python, *PEER_TESTS)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in summary and "skipped" not in summary, result.stdout
    print(f"beside the peers: {summary}")
