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
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from tests.e2e.otlp import OtlpHttpReceiver, attributes, clean_env, run
from tests.support.fake_google_genai import SCENARIOS, fake_google_genai_server
from tests.support.fake_http import FakeHTTPServer
from tests.support.price_oracle import oracle_cost

from genai_cost.semconv import GenAI, Metrics, Ours

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
    with OtlpHttpReceiver() as receiver:
        env = clean_env(
            FAKE_GEMINI_URL=gemini.origin,
            OTEL_SERVICE_NAME="e2e-google-adk",
            OTEL_PYTHON_CONFIGURATOR="genai_cost",
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
        )
        plain = run(APP, env, instrumented=False)
        instrumented = run(APP, env)

    assert instrumented.returncode == plain.returncode == 0, instrumented.stderr
    assert instrumented.stdout == plain.stdout
    cost = oracle_cost(
        "gemini-2.5-flash", "google", input_tokens=CACHED.prompt, cache_read_tokens=CACHED.cached,
        output_tokens=CACHED.candidates,
    )  # fmt: skip
    spans = receiver.received.spans()
    priced = [s for s in spans if GenAI.USAGE_COST_AMOUNT in attributes(s)]
    assert [(s.kind, attributes(s)[GenAI.USAGE_COST_AMOUNT]) for s in priced] == [
        (Span.SPAN_KIND_CLIENT, pytest.approx(cost, rel=1e-9))
    ] * CALLS
    adk_calls = [s for s in spans if s.name == "generate_content gemini-2.5-flash" and s not in priced]
    assert len(adk_calls) == CALLS  # ADK's own spans of the calls, with usage, not priced again
    assert all(GenAI.USAGE_OUTPUT_TOKENS in attributes(s) for s in adk_calls)
    for name, calls in (("handle-request", CALLS), ("invoke_agent helper", 1), ("invoke_workflow helper", 1)):
        for span in [s for s in spans if s.name == name]:
            rollup = attributes(span)
            assert (rollup[Ours.SUBTREE_CALLS], rollup[Ours.SUBTREE_COST_AMOUNT]) == (
                calls,
                pytest.approx(calls * cost, rel=1e-9),
            ), name
    cost_metric = receiver.received.metric(Metrics.OPERATION_COST)
    assert cost_metric is not None
    assert sum(point.count for point in cost_metric.histogram.data_points) == CALLS
    assert sum(point.sum for point in cost_metric.histogram.data_points) == pytest.approx(CALLS * cost, rel=1e-9)
