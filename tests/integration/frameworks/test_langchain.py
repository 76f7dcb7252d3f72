"""LangChain's ChatOpenAI (langchain-openai) over the real openai SDK against the fake OpenAI
server, with our openai instrumentor on, with and without OpenInference's LangChain
instrumentation: each LLM call is counted exactly once, and the chain's span carries the total.

OpenInference's LangChain spans carry ``llm.token_count.*`` on the ``ChatOpenAI`` span, but it
does not make its spans current (its tracer says attaching a context from callbacks is
hazardous), so our SDK span of the same call starts in a trace of its own: the tree cannot tell
that the two are one call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
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
from tests.support.venvs import import_peer

from genai_cost import CostSpanProcessor, track_usage
from genai_cost.demo.fake_openai import SCENARIOS, FakeOpenAIServer
from genai_cost.instrumentation.openai import OpenAIInstrumentor
from genai_cost.pricing import PricingTable
from genai_cost.semconv import GenAI, Metrics, Ours

ChatOpenAI = import_peer("langchain_openai").ChatOpenAI
LangChainInstrumentor = import_peer("openinference.instrumentation.langchain").LangChainInstrumentor
from langchain_core.output_parsers import StrOutputParser  # noqa: E402
from langchain_core.prompts import ChatPromptTemplate  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # LangChain's own, with or without us

MODEL = "gpt-4o-mini"
CACHED = SCENARIOS["cached"]
CALLS = 2
LANGCHAIN_SCOPE = "openinference.instrumentation.langchain"
OUR_SCOPE = "genai_cost.instrumentation.openai"


class Pipeline:
    def __init__(self) -> None:
        self.exporter, self.reader = InMemorySpanExporter(), InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.tracer_provider = TracerProvider()
        processor = CostSpanProcessor(SimpleSpanProcessor(self.exporter), meter_provider=self.meter_provider)
        self.tracer_provider.add_span_processor(processor)

    def spans(self, scope: str, name: str | None = None) -> list[ReadableSpan]:
        return [
            span
            for span in self.exporter.get_finished_spans()
            if span.instrumentation_scope.name == scope and (name is None or span.name == name)
        ]


@pytest.fixture
def pipeline() -> Pipeline:
    return Pipeline()


@pytest.fixture(params=[pytest.param(True, id="langchain-spans"), pytest.param(False, id="sdk-spans-only")])
def langchain_spans(request: pytest.FixtureRequest, pipeline: Pipeline) -> Iterator[bool]:
    """Our openai instrumentor always; OpenInference's LangChain instrumentor when the param says so."""
    options = {"tracer_provider": pipeline.tracer_provider, "meter_provider": pipeline.meter_provider}
    with instrumented(OpenAIInstrumentor(), **options, pricing=PricingTable.default()):
        if not request.param:
            yield False
            return
        instrumentor = LangChainInstrumentor()
        instrumentor.instrument(tracer_provider=pipeline.tracer_provider)
        try:
            yield True
        finally:
            instrumentor.uninstrument()


def chain(fake: FakeOpenAIServer) -> Any:
    chat = ChatOpenAI(
        model=MODEL,
        base_url=fake.base_url,
        api_key="sk-test-langchain",  # type: ignore[arg-type]
        max_retries=0,
        stream_usage=True,
        default_headers={"x-fake-scenario": "cached"},
        # langchain-openai otherwise shares one async client per base URL, bound to the first event loop.
        http_async_client=openai.DefaultAsyncHttpxClient(),
    )
    return ChatPromptTemplate.from_template("Tell me about {topic}") | chat | StrOutputParser()


def invoke(runnable: Any) -> list[str]:
    return [runnable.invoke({"topic": "foxes"}) for _ in range(CALLS)]


def ainvoke(runnable: Any) -> list[str]:
    async def run() -> list[str]:
        async with runnable.steps[1].http_async_client:  # closed on the loop that opened its connections
            return [await runnable.ainvoke({"topic": "foxes"}) for _ in range(CALLS)]

    return asyncio.run(run())


def stream(runnable: Any) -> list[str]:
    return ["".join(runnable.stream({"topic": "foxes"})) for _ in range(CALLS)]


RUNNERS = [pytest.param(invoke, id="invoke"), pytest.param(ainvoke, id="ainvoke"), pytest.param(stream, id="stream")]


@pytest.mark.parametrize("run", RUNNERS)
def test_each_chain_call_priced_once_and_rolled_up_to_the_chain_span(
    fake_openai: FakeOpenAIServer, pipeline: Pipeline, langchain_spans: bool, run: Callable[[Any], list[str]]
) -> None:
    app = pipeline.tracer_provider.get_tracer("app")
    with track_usage() as usage, app.start_as_current_span("request"):
        outputs = run(chain(fake_openai))

    assert outputs == [outputs[0]] * CALLS and outputs[0], "the app's answers"
    cost = oracle_cost(
        MODEL,
        "openai",
        input_tokens=CACHED.prompt_tokens,
        cache_read_tokens=CACHED.cached_tokens,
        output_tokens=CACHED.completion_tokens,
    )
    points = metric_points(pipeline.reader, Metrics.OPERATION_COST)
    assert sum(point.count for point in points) == CALLS, "one cost record per LLM call"
    assert sum(point.sum for point in points) == pytest.approx(CALLS * cost, rel=1e-9)
    assert usage.successful_requests == CALLS
    assert (usage.prompt_tokens, usage.completion_tokens) == (
        CALLS * CACHED.prompt_tokens,
        CALLS * CACHED.completion_tokens,
    )
    assert usage.total_cost == pytest.approx(Decimal(str(CALLS * cost)), rel=Decimal("1e-9"))

    # Exactly one span per call holds the cost: our SDK span.
    priced = [s for s in pipeline.exporter.get_finished_spans() if GenAI.USAGE_COST_AMOUNT in (s.attributes or {})]
    assert [s.instrumentation_scope.name for s in priced] == [OUR_SCOPE] * CALLS
    # The app's span around it all: each call once, though our span and LangChain's are both below it.
    (request,) = pipeline.spans("app", "request")
    assert (request.attributes or {})[Ours.SUBTREE_CALLS] == CALLS
    assert (request.attributes or {})[Ours.SUBTREE_COST_AMOUNT] == pytest.approx(CALLS * cost, rel=1e-9)
    if not langchain_spans:
        return
    chains = pipeline.spans(LANGCHAIN_SCOPE, "RunnableSequence")
    assert len(chains) == CALLS
    for span in chains:
        attributes = span.attributes or {}
        assert attributes[Ours.SUBTREE_CALLS] == 1
        assert attributes[Ours.SUBTREE_COST_AMOUNT] == pytest.approx(cost, rel=1e-9)
        assert attributes[Ours.SUBTREE_INPUT_TOKENS] == CACHED.prompt_tokens
        assert attributes[Ours.SUBTREE_OUTPUT_TOKENS] == CACHED.completion_tokens
