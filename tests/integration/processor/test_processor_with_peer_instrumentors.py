"""CostSpanProcessor on spans made by other OpenAI instrumentations, through the real SDK.

opentelemetry-instrumentation-openai-v2 (semconv ``gen_ai.*`` names) and OpenInference
(``llm.*`` names) instrument the openai SDK talking to the local fake server; the processor
prices their spans, records the cost metric once per call and rolls cost up to the parent.
Our own instrumentor's spans pass through without being counted twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
from tests.support.telemetry import metric_points
from tests.support.venvs import import_peer

from genai_cost import CostSpanProcessor, track_usage
from genai_cost.demo.fake_openai import SCENARIOS, FakeOpenAIServer
from genai_cost.instrumentation.openai import OpenAIInstrumentor
from genai_cost.pricing import PricingTable
from genai_cost.semconv import CostSource, GenAI, Metrics, OpenInference, Ours, PricingStatus

MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class Peer:
    """Another instrumentation and the attribute names it reports tokens under."""

    module: str
    input_tokens: str
    output_tokens: str
    cache_read_tokens: str | None

    def instrumentor(self) -> Any:
        return import_peer(self.module).OpenAIInstrumentor()

    def tokens(self, span: ReadableSpan) -> tuple[int, int, int]:
        attrs = span.attributes
        cached = attrs.get(self.cache_read_tokens, 0) if self.cache_read_tokens else 0
        return attrs[self.input_tokens], attrs.get(self.output_tokens, 0), cached


OPENAI_V2 = Peer("opentelemetry.instrumentation.openai_v2", GenAI.USAGE_INPUT_TOKENS, GenAI.USAGE_OUTPUT_TOKENS, None)
OPENINFERENCE = Peer(
    "openinference.instrumentation.openai",
    OpenInference.TOKEN_COUNT_PROMPT,
    OpenInference.TOKEN_COUNT_COMPLETION,
    OpenInference.TOKEN_COUNT_PROMPT_CACHE_READ,
)


@dataclass
class Pipeline:
    exporter: InMemorySpanExporter
    reader: InMemoryMetricReader
    tracer_provider: TracerProvider
    meter_provider: MeterProvider


@pytest.fixture
def pipeline() -> Pipeline:
    exporter, reader = InMemorySpanExporter(), InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(CostSpanProcessor(SimpleSpanProcessor(exporter), meter_provider=meter_provider))
    return Pipeline(exporter, reader, tracer_provider, meter_provider)


@pytest.fixture
def client(fake_openai: FakeOpenAIServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=fake_openai.base_url, api_key="sk-test", max_retries=0) as client:
        yield client


@pytest.fixture(params=[pytest.param(OPENAI_V2, id="openai-v2"), pytest.param(OPENINFERENCE, id="openinference")])
def peer(request: pytest.FixtureRequest, pipeline: Pipeline) -> Iterator[Peer]:
    peer: Peer = request.param
    instrumentor = peer.instrumentor()
    instrumentor.instrument(tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider)
    yield peer
    instrumentor.uninstrument()


def make_calls(client: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": "hi"}]
    client.chat.completions.create(model="gpt-4o-mini", messages=messages)  # type: ignore[arg-type]
    client.chat.completions.create(
        model="gpt-4o-mini",
        messages=messages,  # type: ignore[arg-type]
        extra_headers={"x-fake-scenario": "cached"},
    )
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=messages,  # type: ignore[arg-type]
        stream=True,
        stream_options={"include_usage": True},
    )
    for _chunk in stream:
        pass
    client.embeddings.create(model="text-embedding-3-small", input="hi")


def stated_cost(model: str, input_tokens: int, output_tokens: int, cache_read: int) -> float:
    """Cost from the bundled entry's per-1M rates for the reported token counts."""
    entry = PricingTable.default().match(model, "openai")
    assert entry is not None
    rates = entry.rates
    assert rates.input is not None
    cache_rate = rates.input_breakdown.get("cache_read", rates.input)
    cost = (input_tokens - cache_read) * rates.input + cache_read * cache_rate
    if output_tokens:
        assert rates.output is not None
        cost += output_tokens * rates.output
    return float(cost / MILLION)


def priced(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if GenAI.USAGE_COST_AMOUNT in s.attributes]


def model_of(span: ReadableSpan) -> str:
    for key in (
        GenAI.RESPONSE_MODEL,
        GenAI.REQUEST_MODEL,
        OpenInference.MODEL_NAME,
        OpenInference.EMBEDDING_MODEL_NAME,
    ):
        if key in span.attributes:
            return str(span.attributes[key])
    raise AssertionError(f"no model on {span.name}")


def test_peer_spans_are_priced_from_their_reported_tokens(
    peer: Peer, pipeline: Pipeline, client: openai.OpenAI
) -> None:
    with track_usage() as usage:
        make_calls(client)

    spans = priced(pipeline.exporter)
    assert len(spans) == 4
    reported = sorted(peer.tokens(span) for span in spans)
    default, cached = SCENARIOS["default"], SCENARIOS["cached"]
    expected_chat = (default.prompt_tokens, default.completion_tokens, 0)
    assert reported.count(expected_chat) == 2  # plain and streamed
    assert any(r[:2] == (cached.prompt_tokens, cached.completion_tokens) for r in reported)
    for span in spans:
        attrs = span.attributes
        assert attrs[GenAI.USAGE_COST_AMOUNT] == pytest.approx(
            stated_cost(model_of(span), *peer.tokens(span)), rel=1e-12
        )
        assert attrs[GenAI.USAGE_COST_SOURCE] == CostSource.LOCAL
        assert attrs[Ours.PRICING_STATUS] == PricingStatus.PRICED

    total = sum(span.attributes[GenAI.USAGE_COST_AMOUNT] for span in spans)
    points = metric_points(pipeline.reader, Metrics.OPERATION_COST)
    assert sum(p.count for p in points) == 4
    assert sum(p.sum for p in points) == pytest.approx(total, rel=1e-9)
    assert float(usage.total_cost) == pytest.approx(total, rel=1e-9)
    assert usage.successful_requests == 4


def test_peer_spans_roll_up_to_the_app_span(peer: Peer, pipeline: Pipeline, client: openai.OpenAI) -> None:
    with pipeline.tracer_provider.get_tracer("app").start_as_current_span("handle-request"):
        make_calls(client)

    spans = priced(pipeline.exporter)
    (parent,) = [s for s in pipeline.exporter.get_finished_spans() if s.name == "handle-request"]
    assert parent.attributes[Ours.SUBTREE_CALLS] == 4
    assert parent.attributes[Ours.SUBTREE_COST_AMOUNT] == pytest.approx(
        sum(s.attributes[GenAI.USAGE_COST_AMOUNT] for s in spans), rel=1e-12
    )
    assert parent.attributes[Ours.SUBTREE_INPUT_TOKENS] == sum(peer.tokens(s)[0] for s in spans)


@pytest.fixture
def ours(pipeline: Pipeline) -> Iterator[Callable[[], None]]:
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider)
    yield lambda: None
    instrumentor.uninstrument()


def test_our_own_spans_pass_through_and_are_counted_once(
    ours: Callable[[], None], pipeline: Pipeline, client: openai.OpenAI
) -> None:
    with track_usage() as usage:
        make_calls(client)

    spans = priced(pipeline.exporter)
    assert len(spans) == 4
    points = metric_points(pipeline.reader, Metrics.OPERATION_COST)
    assert sum(p.count for p in points) == 4
    assert usage.successful_requests == 4
    assert float(usage.total_cost) == pytest.approx(sum(s.attributes[GenAI.USAGE_COST_AMOUNT] for s in spans))


def test_with_openinference_too_each_call_is_counted_once(
    ours: Callable[[], None], pipeline: Pipeline, client: openai.OpenAI
) -> None:
    instrumentor = OPENINFERENCE.instrumentor()
    instrumentor.instrument(tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider)
    try:
        with pipeline.tracer_provider.get_tracer("app").start_as_current_span("handle-request"):
            make_calls(client)
    finally:
        instrumentor.uninstrument()

    spans = pipeline.exporter.get_finished_spans()
    theirs = [s for s in spans if s.instrumentation_scope.name.startswith("openinference")]
    assert len(theirs) == 4
    assert all(GenAI.USAGE_COST_AMOUNT not in s.attributes for s in theirs)
    # genai-cost's spans (the streamed one included) ended with their call and carry the cost.
    assert len(priced(pipeline.exporter)) == 4
    points = metric_points(pipeline.reader, Metrics.OPERATION_COST)
    assert sum(p.count for p in points) == 4
    (parent,) = [s for s in spans if s.name == "handle-request"]
    assert parent.attributes[Ours.SUBTREE_CALLS] == 4
