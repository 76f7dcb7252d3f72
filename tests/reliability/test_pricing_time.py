"""One rule for when a call is priced: the prices in force when the request started.

A stream that starts before a price's ``valid_from`` and ends after it is priced at the older
price by the instrumentor (which priced it at its end before) and by ``CostSpanProcessor``
(another instrumentation's span of the same call, priced at its start). The expected entry is
the one in force at each span's own start time, read from the exported span (no clock is
asserted): the server holds the stream open until ``valid_from`` has passed, so the call
straddles it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from tests.reliability.support import wire
from tests.reliability.support.fault_server import Connection, FaultServer, HttpRequest, Script
from tests.reliability.support.harness import client

from genai_cost.instrumentation.openai import OpenAIInstrumentor
from genai_cost.pricing import PricingTable
from genai_cost.processor import CostSpanProcessor
from genai_cost.semconv import GenAI, Ours

PRICE_CHANGE = timedelta(milliseconds=400)
"""How long after the test starts the new price applies (the stream is open by then)."""
OTHER_SPAN = "other instrumentation's chat span"


@dataclass
class Pipeline:
    spans: InMemorySpanExporter
    tracer_provider: TracerProvider
    other_tracer_provider: TracerProvider
    """Another instrumentation's, priced by a processor of its own: in the instrumentor's
    pipeline its span of the same call would be known as that call and not priced again."""
    valid_from: datetime


@pytest.fixture
def pipeline() -> Iterator[Pipeline]:
    valid_from = datetime.now(timezone.utc) + PRICE_CHANGE
    entries = [
        {"id": "before", "provider": "openai", "match": {"exact": "gpt-4o-mini"}, "input": "1", "output": "2"},
        {"id": "after", "provider": "openai", "match": {"exact": "gpt-4o-mini"}, "input": "100", "output": "200",
         "valid_from": valid_from.isoformat()},
    ]  # fmt: skip
    table = PricingTable.load(entries=entries, include_bundled=False)
    spans = InMemorySpanExporter()
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()], shutdown_on_exit=False)
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(CostSpanProcessor(SimpleSpanProcessor(spans), table, meter_provider))
    other_tracer_provider = TracerProvider()
    other_tracer_provider.add_span_processor(CostSpanProcessor(SimpleSpanProcessor(spans), table, meter_provider))
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, pricing=table)
    yield Pipeline(spans, tracer_provider, other_tracer_provider, valid_from)
    instrumentor.uninstrument()


def _stream_across(valid_from: datetime) -> Script:
    """The first chunks at once, the rest (and the usage chunk) once ``valid_from`` has passed."""
    chunks = wire.chat_chunks()

    def script(connection: Connection, request: HttpRequest) -> None:
        connection.start_chunked()
        connection.sse(chunks[:2])
        while datetime.now(timezone.utc) <= valid_from and not connection.stopping.is_set():
            time.sleep(0.01)
        connection.sse(chunks[2:])
        connection.chunk(b"data: [DONE]\n\n")
        connection.chunk(b"")

    return script


def _entry_in_force(span: ReadableSpan, valid_from: datetime) -> str:
    assert span.start_time is not None
    return "before" if span.start_time < valid_from.timestamp() * 1e9 else "after"


def test_instrumentor_and_processor_price_a_straddling_stream_alike(pipeline: Pipeline, faults: FaultServer) -> None:
    # Another instrumentation's span of the same call: started with it, priced by the processor.
    other = pipeline.other_tracer_provider.get_tracer("other-instrumentation").start_span(
        OTHER_SPAN,
        kind=SpanKind.CLIENT,
        attributes={GenAI.PROVIDER_NAME: "openai", GenAI.REQUEST_MODEL: "gpt-4o-mini"},
    )
    stream = client(faults.base_url).chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Hello"}],
        stream=True,
        stream_options={"include_usage": True},
        extra_headers=faults.headers(_stream_across(pipeline.valid_from)),
    )
    usage = [chunk.usage for chunk in stream if chunk.usage is not None][-1]
    other.set_attributes(
        {GenAI.USAGE_INPUT_TOKENS: usage.prompt_tokens, GenAI.USAGE_OUTPUT_TOKENS: usage.completion_tokens}
    )
    other.end()

    spans = {span.name: span for span in pipeline.spans.get_finished_spans()}
    ours, theirs = spans["chat gpt-4o-mini"], spans[OTHER_SPAN]
    assert ours.end_time is not None and ours.end_time > pipeline.valid_from.timestamp() * 1e9
    for span in (ours, theirs):
        attributes = span.attributes or {}
        assert attributes[Ours.PRICING_ENTRY] == _entry_in_force(span, pipeline.valid_from), span.name
    ours_attributes, theirs_attributes = ours.attributes or {}, theirs.attributes or {}
    assert ours_attributes[GenAI.USAGE_COST_AMOUNT] == theirs_attributes[GenAI.USAGE_COST_AMOUNT]
