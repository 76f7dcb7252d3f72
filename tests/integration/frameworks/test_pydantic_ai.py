"""pydantic-ai with its own OpenTelemetry instrumentation on, over the real openai SDK against the
fake OpenAI server, priced by CostSpanProcessor: each LLM call is counted exactly once, and the
agent's ``invoke_agent`` span carries the subtree total.

pydantic-ai puts ``gen_ai.usage.*`` tokens on its ``chat <model>`` span; with our openai
instrumentor on too, our priced SDK span sits under it, so the same call shows usage twice in
one trace. pydantic-ai cannot share the ``test`` environment (it needs genai-prices >= 0.2.4,
``test`` pins 0.2.3), so it runs in a cached venv (``test_frameworks_venv.py``); here, without
it, these tests are skipped.
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

pydantic_ai = pytest.importorskip(
    "pydantic_ai", reason="pydantic-ai is not installed; test_frameworks_venv.py runs this in a venv"
)
from pydantic_ai.models.instrumented import InstrumentationSettings  # noqa: E402
from pydantic_ai.models.openai import OpenAIChatModel  # noqa: E402
from pydantic_ai.providers.openai import OpenAIProvider  # noqa: E402

MODEL = "gpt-4o-mini"
CACHED = SCENARIOS["cached"]
RUNS = 2
PANGRAM = "The quick brown fox jumps over the lazy dog."  # the fake server's default answer
PYDANTIC_AI_SCOPE = "pydantic-ai"
OUR_SCOPE = "genai_cost.instrumentation.openai"


@pytest.fixture
def pipeline() -> Pipeline:
    return Pipeline()


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


def agent(fake: FakeOpenAIServer, pipeline: Pipeline) -> Any:
    client = openai.AsyncOpenAI(
        base_url=fake.base_url, api_key="sk-test", max_retries=0, default_headers={"x-fake-scenario": "cached"}
    )
    model = OpenAIChatModel(MODEL, provider=OpenAIProvider(openai_client=client))
    helper = pydantic_ai.Agent(model, name="helper")
    helper.instrument = InstrumentationSettings(
        tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider
    )
    return helper


def run_sync(helper: Any) -> list[str]:
    return [str(helper.run_sync("Say hello").output) for _ in range(RUNS)]


def run_async(helper: Any) -> list[str]:
    async def run() -> list[str]:  # one event loop: the client's connections belong to it
        async with helper.model.client:
            return [str((await helper.run("Say hello")).output) for _ in range(RUNS)]

    return asyncio.run(run())


def run_stream(helper: Any) -> list[str]:
    async def one() -> str:
        async with helper.run_stream("Say hello") as result:
            return "".join([delta async for delta in result.stream_text(delta=True)])

    async def run() -> list[str]:
        async with helper.model.client:
            return [await one() for _ in range(RUNS)]

    return asyncio.run(run())


RUNNERS = [
    pytest.param(run_sync, id="run_sync"),
    pytest.param(run_async, id="run"),
    pytest.param(run_stream, id="run_stream"),
]


@pytest.mark.parametrize("run", RUNNERS)
@pytest.mark.parametrize("ours", [pytest.param(True, id="with-our-openai-span"), pytest.param(False, id="alone")])
def test_each_agent_call_priced_once_and_rolled_up_to_the_agent_span(
    fake: FakeOpenAIServer, pipeline: Pipeline, run: Callable[[Any], list[str]], ours: bool
) -> None:
    helper = agent(fake, pipeline)
    pricing = PricingTable.default()
    sdk_layer = instrumented(OpenAIInstrumentor(), **pipeline.options, pricing=pricing) if ours else nullcontext()
    with sdk_layer, track_usage() as usage:
        outputs = run(helper)

    # The fake server's answer (a stream of it stops a word or two short, chunks being counted).
    assert outputs == [outputs[0]] * RUNS and outputs[0] and PANGRAM.startswith(outputs[0])
    cost = oracle_cost(
        MODEL,
        "openai",
        input_tokens=CACHED.prompt_tokens,
        cache_read_tokens=CACHED.cached_tokens,
        output_tokens=CACHED.completion_tokens,
    )
    tokens = (CACHED.prompt_tokens, CACHED.completion_tokens)
    # Exactly one span per call holds the cost: ours when it is there, else pydantic-ai's.
    scope = OUR_SCOPE if ours else PYDANTIC_AI_SCOPE
    assert_priced_once(pipeline, usage, calls=RUNS, cost=cost, tokens=tokens, scope=scope)
    assert len(pipeline.spans(OUR_SCOPE)) == (RUNS if ours else 0)
    assert len(pipeline.spans(PYDANTIC_AI_SCOPE, f"chat {MODEL}")) == RUNS
    runs = pipeline.spans(PYDANTIC_AI_SCOPE, "invoke_agent helper")
    assert len(runs) == RUNS
    assert_rolled_up(runs, calls=1, cost=cost, tokens=tokens)
