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
from tests.e2e.frameworks import assert_openai_app_priced_once

from genai_cost.demo.fake_openai import FakeOpenAIServer

pytestmark = pytest.mark.e2e
pytest.importorskip("agents", reason="openai-agents is not installed; test_frameworks_venv.py runs this in a venv")
pytest.importorskip("opentelemetry.instrumentation.openai_agents")

APP = Path(__file__).with_name("app_openai_agents.py")


def test_agent_calls_are_priced_once_and_rolled_up(fake_openai: FakeOpenAIServer) -> None:
    # a run and a streamed run
    assert_openai_app_priced_once(
        APP, fake_openai, calls=2, rollups={"handle-request": 2, "invoke_agent helper": 1, "Agent workflow": 1}
    )
