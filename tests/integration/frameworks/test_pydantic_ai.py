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
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import openai
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.support.instrumenting import instrumented
from tests.support.price_oracle import oracle_cost
from tests.support.telemetry import metric_points

from genai_cost import CostSpanProcessor, track_usage
from genai_cost.demo.fake_openai import SCENARIOS, FakeOpenAIServer
from genai_cost.instrumentation.openai import OpenAIInstrumentor
from genai_cost.pricing import PricingTable
from genai_cost.semconv import GenAI, Metrics, Ours

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


@dataclass
class Pipeline:
    exporter: InMemorySpanExporter
    reader: InMemoryMetricReader
    tracer_provider: TracerProvider
    meter_provider: MeterProvider

    def spans(self, scope: str) -> list[ReadableSpan]:
        return [s for s in self.exporter.get_finished_spans() if s.instrumentation_scope.name.startswith(scope)]


@pytest.fixture
def pipeline() -> Pipeline:
    exporter, reader = InMemorySpanExporter(), InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(CostSpanProcessor(SimpleSpanProcessor(exporter), meter_provider=meter_provider))
    return Pipeline(exporter, reader, tracer_provider, meter_provider)


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


def one_call_cost() -> float:
    return oracle_cost(
        MODEL,
        "openai",
        input_tokens=CACHED.prompt_tokens,
        cache_read_tokens=CACHED.cached_tokens,
        output_tokens=CACHED.completion_tokens,
    )


def assert_priced_once_and_rolled_up(pipeline: Pipeline, usage: Any) -> None:
    cost = one_call_cost()
    (point,) = metric_points(pipeline.reader, Metrics.OPERATION_COST)
    assert point.count == RUNS, "one cost record per LLM call"
    assert point.sum == pytest.approx(RUNS * cost, rel=1e-9)
    assert usage.successful_requests == RUNS
    assert usage.prompt_tokens == RUNS * CACHED.prompt_tokens
    assert usage.completion_tokens == RUNS * CACHED.completion_tokens
    assert usage.total_cost == pytest.approx(Decimal(str(RUNS * cost)), rel=Decimal("1e-9"))

    runs = [s for s in pipeline.spans("pydantic-ai") if s.name == "invoke_agent helper"]
    assert len(runs) == RUNS
    for run in runs:
        attributes = run.attributes or {}
        assert attributes[Ours.SUBTREE_CALLS] == 1
        assert attributes[Ours.SUBTREE_COST_AMOUNT] == pytest.approx(cost, rel=1e-9)
        assert attributes[Ours.SUBTREE_INPUT_TOKENS] == CACHED.prompt_tokens
        assert attributes[Ours.SUBTREE_OUTPUT_TOKENS] == CACHED.completion_tokens


@pytest.mark.parametrize("run", RUNNERS)
@pytest.mark.parametrize("ours", [pytest.param(True, id="with-our-openai-span"), pytest.param(False, id="alone")])
def test_each_agent_call_priced_once_and_rolled_up_to_the_agent_span(
    fake: FakeOpenAIServer, pipeline: Pipeline, run: Callable[[Any], list[str]], ours: bool
) -> None:
    helper = agent(fake, pipeline)
    options = {"tracer_provider": pipeline.tracer_provider, "meter_provider": pipeline.meter_provider}
    sdk_layer = instrumented(OpenAIInstrumentor(), **options, pricing=PricingTable.default()) if ours else nullcontext()
    with sdk_layer, track_usage() as usage:
        outputs = run(helper)

    # The fake server's answer (a stream of it stops a word or two short, chunks being counted).
    assert outputs == [outputs[0]] * RUNS and outputs[0] and PANGRAM.startswith(outputs[0])
    assert_priced_once_and_rolled_up(pipeline, usage)
    sdk_spans = pipeline.spans("genai_cost.instrumentation.openai")
    assert len(sdk_spans) == (RUNS if ours else 0)
    chat_spans = [s for s in pipeline.spans("pydantic-ai") if s.name == f"chat {MODEL}"]
    assert len(chat_spans) == RUNS
    # Exactly one span per call holds the cost: ours when it is there, else pydantic-ai's.
    priced = [s for s in pipeline.exporter.get_finished_spans() if GenAI.USAGE_COST_AMOUNT in (s.attributes or {})]
    pricing_scope = (sdk_spans or chat_spans)[0].instrumentation_scope.name
    assert [s.instrumentation_scope.name for s in priced] == [pricing_scope] * RUNS
