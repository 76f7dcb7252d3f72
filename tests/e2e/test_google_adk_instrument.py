"""``opentelemetry-instrument`` with a google-adk app (``app_google_adk.py``): ADK's own GenAI spans
and genai-cost's google-genai spans reach a local OTLP receiver, each call priced once (a whole
answer and an SSE stream), with the agent, the workflow and the app's span carrying the total.

google-adk runs in a cached venv (tests/integration/frameworks/test_frameworks_venv.py runs this
file there); here, without it, the test is skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.e2e.frameworks import assert_priced_once, run_instrumented
from tests.e2e.otlp import attributes
from tests.support.fake_google_genai import SCENARIOS, fake_google_genai_server
from tests.support.fake_http import FakeHTTPServer
from tests.support.price_oracle import oracle_cost

from genai_cost.semconv import GenAI

pytestmark = pytest.mark.e2e
pytest.importorskip("google.adk", reason="google-adk is not installed; test_frameworks_venv.py runs this in a venv")

APP = Path(__file__).with_name("app_google_adk.py")
CACHED = SCENARIOS["cached"]
CALLS = 2  # one whole answer, one streamed


@pytest.fixture(scope="module")
def gemini() -> Iterator[FakeHTTPServer]:
    with fake_google_genai_server() as server:
        yield server


def test_adk_calls_are_priced_once_and_rolled_up(gemini: FakeHTTPServer) -> None:
    received = run_instrumented(APP, FAKE_GEMINI_URL=gemini.origin)

    cost = oracle_cost(
        "gemini-2.5-flash", "google", input_tokens=CACHED.prompt, cache_read_tokens=CACHED.cached,
        output_tokens=CACHED.candidates,
    )  # fmt: skip
    rollups = {"handle-request": CALLS, "invoke_agent helper": 1, "invoke_workflow helper": 1}
    assert_priced_once(received, calls=CALLS, cost=cost, rollups=rollups)
    # ADK's own spans of the calls have usage, and are not priced again.
    adk_calls = [attributes(s) for s in received.spans() if s.name == "generate_content gemini-2.5-flash"]
    assert len(adk_calls) == 2 * CALLS  # ADK's and genai-cost's
    assert sum(GenAI.USAGE_COST_AMOUNT in a for a in adk_calls) == CALLS
