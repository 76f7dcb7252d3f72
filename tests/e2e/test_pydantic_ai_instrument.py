"""``opentelemetry-instrument`` with a pydantic-ai app (``app_pydantic_ai.py``): pydantic-ai's own
``chat`` spans (usage, no cost) and genai-cost's openai spans under them reach a local OTLP
receiver, each call priced once (a run and a streamed run), with the agent's and the app's
spans carrying the total.

pydantic-ai runs in a cached venv (tests/integration/frameworks/test_frameworks_venv.py runs
this file there); here, without it, the test is skipped.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.e2e.frameworks import assert_openai_app_priced_once

from genai_cost.demo.fake_openai import FakeOpenAIServer

pytestmark = pytest.mark.e2e
pytest.importorskip("pydantic_ai", reason="pydantic-ai is not installed; test_frameworks_venv.py runs this in a venv")

APP = Path(__file__).with_name("app_pydantic_ai.py")


def test_agent_calls_are_priced_once_and_rolled_up(fake_openai: FakeOpenAIServer) -> None:
    rollups = {"handle-request": 2, "invoke_agent helper": 1}
    assert_openai_app_priced_once(APP, fake_openai, calls=2, rollups=rollups)  # a run and a streamed run
