"""openai-agents through its OpenTelemetry integration (OpenTelemetry's
opentelemetry-instrumentation-openai-agents-v2, a tracing processor that turns the SDK's traces
into spans), over the real openai SDK against the fake OpenAI server (Responses API), priced by
CostSpanProcessor: each LLM call is counted exactly once, and the agent's span carries the total.

The integration puts ``gen_ai.usage.input_tokens``/``output_tokens`` (no cached tokens) on its
``response`` span and makes its spans current, so our SDK span of the same call runs under it.
openai-agents cannot share the ``test`` environment (it pins websockets < 17), so it runs in a
cached venv (``test_frameworks_venv.py``); here, without it, these tests are skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from typing import Any

import openai
import pytest
from tests.support.frameworks import Pipeline, assert_priced_once, assert_rolled_up
from tests.support.instrumenting import instrumented
from tests.support.price_oracle import oracle_cost

from genai_cost import track_usage
from genai_cost.demo.fake_openai import SCENARIOS, FakeOpenAIServer
from genai_cost.instrumentation.openai import OpenAIInstrumentor
from genai_cost.pricing import PricingTable

agents = pytest.importorskip(
    "agents", reason="openai-agents is not installed; test_frameworks_venv.py runs this in a venv"
)
OpenAIAgentsInstrumentor = pytest.importorskip("opentelemetry.instrumentation.openai_agents").OpenAIAgentsInstrumentor

MODEL = "gpt-4o-mini"
CACHED = SCENARIOS["cached"]
RUNS = 2
AGENTS_SCOPE = "opentelemetry.instrumentation.openai_agents"
OUR_SCOPE = "genai_cost.instrumentation.openai"


@pytest.fixture
def pipeline() -> Iterator[Pipeline]:
    """A pipeline the agents' traces reach (and only it: not OpenAI's trace backend)."""
    pipeline = Pipeline()
    agents.set_trace_processors([])
    instrumentor = OpenAIAgentsInstrumentor()
    instrumentor.instrument(tracer_provider=pipeline.tracer_provider, capture_message_content=False)
    try:
        yield pipeline
    finally:
        instrumentor.uninstrument()


def assistant(fake: FakeOpenAIServer) -> Any:
    client = openai.AsyncOpenAI(
        base_url=fake.base_url, api_key="sk-test", max_retries=0, default_headers={"x-fake-scenario": "cached"}
    )
    model = agents.OpenAIResponsesModel(MODEL, openai_client=client)
    return agents.Agent(name="helper", instructions="Be brief.", model=model)


def run_sync(helper: Any) -> list[str]:
    return [str(agents.Runner.run_sync(helper, "Say hello").final_output) for _ in range(RUNS)]


def run_async(helper: Any) -> list[str]:
    async def run() -> list[str]:  # one event loop: the client's connections belong to it
        async with helper.model._client:
            return [str((await agents.Runner.run(helper, "Say hello")).final_output) for _ in range(RUNS)]

    return asyncio.run(run())


def run_streamed(helper: Any) -> list[str]:
    async def one() -> str:
        result = agents.Runner.run_streamed(helper, "Say hello")
        events = [event async for event in result.stream_events() if event.type == "raw_response_event"]
        return "".join(event.data.delta for event in events if event.data.type == "response.output_text.delta")

    async def run() -> list[str]:
        async with helper.model._client:
            return [await one() for _ in range(RUNS)]

    return asyncio.run(run())


RUNNERS = [
    pytest.param(run_sync, id="run_sync"),
    pytest.param(run_async, id="run"),
    pytest.param(run_streamed, id="run_streamed"),
]


@pytest.mark.parametrize("run", RUNNERS)
@pytest.mark.parametrize("ours", [pytest.param(True, id="with-our-openai-span"), pytest.param(False, id="alone")])
def test_each_agent_call_priced_once_and_rolled_up_to_the_agent_span(
    fake_openai: FakeOpenAIServer, pipeline: Pipeline, run: Callable[[Any], list[str]], ours: bool
) -> None:
    helper = assistant(fake_openai)
    pricing = PricingTable.default()
    sdk_layer = instrumented(OpenAIInstrumentor(), **pipeline.options, pricing=pricing) if ours else nullcontext()
    with sdk_layer, track_usage() as usage:
        outputs = run(helper)

    assert outputs == [outputs[0]] * RUNS and outputs[0], "the app's answers"
    # Our span reads the cached tokens; the integration's span reports input and output only.
    cached = {"cache_read_tokens": CACHED.cached_tokens} if ours else {}
    cost = oracle_cost(
        MODEL, "openai", input_tokens=CACHED.prompt_tokens, output_tokens=CACHED.completion_tokens, **cached
    )
    tokens = (CACHED.prompt_tokens, CACHED.completion_tokens)
    assert_priced_once(pipeline, usage, calls=RUNS, cost=cost, tokens=tokens, scope=OUR_SCOPE if ours else AGENTS_SCOPE)
    assert len(pipeline.spans(OUR_SCOPE)) == (RUNS if ours else 0)
    assert_rolled_up(pipeline.spans(AGENTS_SCOPE, "invoke_agent helper"), calls=1, cost=cost, tokens=tokens)
    assert_rolled_up(pipeline.spans(AGENTS_SCOPE, "Agent workflow"), calls=1, cost=cost, tokens=tokens)
