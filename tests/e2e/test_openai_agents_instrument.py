"""``opentelemetry-instrument`` with an openai-agents app (``app_openai_agents.py``): the agents'
traces through OpenTelemetry's openai-agents-v2 bridge (loaded by its entry point) and
genai-cost's openai spans reach a local OTLP receiver, each call priced once (a run and a
streamed run), with the agent, the workflow and the app's span carrying the total.

openai-agents runs in a cached venv (tests/integration/frameworks/test_frameworks_venv.py runs
this file there); here, without it, the test is skipped.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.e2e.frameworks import assert_priced_once, run_instrumented
from tests.support.price_oracle import oracle_cost

from genai_cost.demo.fake_openai import SCENARIOS, FakeOpenAIServer

pytestmark = pytest.mark.e2e
pytest.importorskip("agents", reason="openai-agents is not installed; test_frameworks_venv.py runs this in a venv")
pytest.importorskip("opentelemetry.instrumentation.openai_agents")

APP = Path(__file__).with_name("app_openai_agents.py")
CACHED = SCENARIOS["cached"]
CALLS = 2  # a run, a streamed run


def test_agent_calls_are_priced_once_and_rolled_up(fake_openai: FakeOpenAIServer) -> None:
    received = run_instrumented(APP, FAKE_OPENAI_URL=fake_openai.base_url)

    cost = oracle_cost(
        "gpt-4o-mini", "openai", input_tokens=CACHED.prompt_tokens, cache_read_tokens=CACHED.cached_tokens,
        output_tokens=CACHED.completion_tokens,
    )  # fmt: skip
    rollups = {"handle-request": CALLS, "invoke_agent helper": 1, "Agent workflow": 1}
    assert_priced_once(received, calls=CALLS, cost=cost, rollups=rollups)
