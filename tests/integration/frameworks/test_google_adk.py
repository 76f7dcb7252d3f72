"""google-adk, which emits its own GenAI spans (``invoke_workflow``, ``invoke_agent``,
``generate_content <model>`` with ``gen_ai.usage.*``), over the real google-genai SDK against the
fake Gemini API, priced by CostSpanProcessor: each LLM call is counted exactly once, with or
without our google-genai span under ADK's, and the agent's span carries the total.

Streamed (``StreamingMode.SSE``), ADK ends its ``generate_content`` span when it has read the
last chunk, before the SDK's stream (and so our span of the call) is closed. google-adk cannot
share the ``test`` environment (it pins opentelemetry-sdk <= 1.44 and google-genai < 3), so it
runs in a cached venv (``test_frameworks_venv.py``); here, without it, these tests are skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from tests.support.fake_google_genai import SCENARIOS, fake_google_genai_server
from tests.support.fake_http import FakeHTTPServer
from tests.support.frameworks import Pipeline, assert_priced_once, assert_rolled_up
from tests.support.instrumenting import instrumented
from tests.support.price_oracle import oracle_cost

from genai_cost import track_usage
from genai_cost.instrumentation.google_genai import GoogleGenAIInstrumentor
from genai_cost.pricing import PricingTable

pytest.importorskip("google.adk", reason="google-adk is not installed; test_frameworks_venv.py runs this in a venv")
from google.adk.agents import LlmAgent
from google.adk.agents.run_config import RunConfig, StreamingMode
from google.adk.models import Gemini
from google.adk.runners import InMemoryRunner
from google.genai import types

# google-genai 2.x subclasses aiohttp's ClientSession (with or without us).
pytestmark = pytest.mark.filterwarnings("ignore:Inheritance class AiohttpClientSession:DeprecationWarning")

MODEL = "gemini-2.5-flash"
CACHED = SCENARIOS["cached"]
RUNS = 2
ADK_SCOPE = "gcp.vertex.agent"
OUR_SCOPE = "genai_cost.instrumentation.google_genai"


class _Relay(SpanProcessor):
    """ADK traces with the global tracer provider, which is set once per process: its one
    processor hands every span on to the current test's pipeline."""

    target: SpanProcessor | None = None

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if self.target is not None:
            self.target.on_start(span, parent_context=parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        if self.target is not None:
            self.target.on_end(span)


_RELAY = _Relay()


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeHTTPServer]:
    with fake_google_genai_server() as server:
        yield server


@pytest.fixture
def pipeline() -> Iterator[Pipeline]:
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(_RELAY)
        trace.set_tracer_provider(provider)
    pipeline = Pipeline()
    _RELAY.target = pipeline.processor
    yield pipeline
    _RELAY.target = None


def runner(fake: FakeHTTPServer) -> InMemoryRunner:
    model = Gemini(model=MODEL, base_url=fake.origin, client_kwargs={"api_key": "AIza-test-DO-NOT-LEAK"})
    once = types.HttpRetryOptions(attempts=1)
    config = types.GenerateContentConfig(
        http_options=types.HttpOptions(headers={"x-fake-scenario": "cached"}, retry_options=once)
    )
    helper = LlmAgent(name="helper", model=model, instruction="Be brief.", generate_content_config=config)
    return InMemoryRunner(agent=helper, app_name="app")


def question() -> types.Content:
    return types.Content(role="user", parts=[types.Part(text="Say hello")])


def answer(events: list[Any]) -> str:
    """The agent's final answer (streamed, the last, not partial, event holds all of it)."""
    (final,) = [e for e in events if e.is_final_response() and not e.partial]
    return "".join(part.text or "" for part in final.content.parts)


def run_async(app: InMemoryRunner, streaming: StreamingMode = StreamingMode.NONE) -> list[str]:
    async def one() -> str:
        session = await app.session_service.create_session(app_name="app", user_id="user")
        config = RunConfig(streaming_mode=streaming)
        events = app.run_async(user_id="user", session_id=session.id, new_message=question(), run_config=config)
        return answer([event async for event in events])

    async def run() -> list[str]:
        return [await one() for _ in range(RUNS)]

    return asyncio.run(run())


def run_streamed(app: InMemoryRunner) -> list[str]:
    return run_async(app, StreamingMode.SSE)


def run_sync(app: InMemoryRunner) -> list[str]:
    def one() -> str:
        session = asyncio.run(app.session_service.create_session(app_name="app", user_id="user"))
        return answer(list(app.run(user_id="user", session_id=session.id, new_message=question())))

    return [one() for _ in range(RUNS)]


RUNNERS = [
    pytest.param(run_sync, id="run"),
    pytest.param(run_async, id="run_async"),
    pytest.param(run_streamed, id="run_async-sse"),
]


@pytest.mark.parametrize("run", RUNNERS)
@pytest.mark.parametrize("ours", [pytest.param(True, id="with-our-google-genai-span"), pytest.param(False, id="alone")])
def test_each_agent_call_priced_once_and_rolled_up_to_the_agent_span(
    fake: FakeHTTPServer, pipeline: Pipeline, run: Callable[[InMemoryRunner], list[str]], ours: bool
) -> None:
    pricing = PricingTable.default()
    sdk_layer = instrumented(GoogleGenAIInstrumentor(), **pipeline.options, pricing=pricing) if ours else nullcontext()
    with sdk_layer, track_usage() as usage:
        outputs = run(runner(fake))

    assert outputs == [outputs[0]] * RUNS and outputs[0].startswith("Hello"), "the app's answers"
    cost = oracle_cost(MODEL, "google", input_tokens=CACHED.prompt, cache_read_tokens=CACHED.cached,
                       output_tokens=CACHED.candidates)  # fmt: skip
    tokens = (CACHED.prompt, CACHED.candidates)
    assert_priced_once(pipeline, usage, calls=RUNS, cost=cost, tokens=tokens, scope=OUR_SCOPE if ours else ADK_SCOPE)
    assert len(pipeline.spans(OUR_SCOPE)) == (RUNS if ours else 0)
    assert len(pipeline.spans(ADK_SCOPE, f"generate_content {MODEL}")) == RUNS
    assert_rolled_up(pipeline.spans(ADK_SCOPE, "invoke_agent helper"), calls=1, cost=cost, tokens=tokens)
    assert_rolled_up(pipeline.spans(ADK_SCOPE, "invoke_workflow helper"), calls=1, cost=cost, tokens=tokens)
