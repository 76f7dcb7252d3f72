"""Memory is bounded in bytes, not only in entries: the server controls the model name's size.

Each call is answered with a unique 100 KB model name. What genai-cost keeps afterwards (the
pricing lookup cache, the metric model-name limiter and the metric series it lets through,
the unknown-model warning set) is measured with ``tracemalloc`` after a garbage collection.
Spans are dropped as they end, so nothing else holds the names.
"""

from __future__ import annotations

import gc
import logging
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.trace import SpanKind
from tests.reliability.support import wire
from tests.reliability.support.fault_server import Connection, FaultServer, HttpRequest, Script
from tests.reliability.support.harness import client, pricing_table
from tests.support.telemetry import metric_points

from genai_cost.instrumentation.openai import OpenAIInstrumentor
from genai_cost.metrics import OTHER_MODEL
from genai_cost.pricing import PricingTable
from genai_cost.processor import CostSpanProcessor
from genai_cost.semconv import GenAI, Metrics, Ours, PricingStatus
from genai_cost.tracking import track_usage

CALLS = 120
NAME_BYTES = 100_000
RETAINED_LIMIT = 3_000_000
"""Bytes genai-cost may keep after the calls; the names served total 12 MB."""


def _huge_name(number: int) -> str:
    """Unique in its first characters; even ones priced by the ``gpt-4o-mini-`` prefix entry, odd ones unknown."""
    head = "gpt-4o-mini" if number % 2 == 0 else "mystery"
    return f"{head}-{number}-".ljust(NAME_BYTES, "x")


def _requested(number: int | None) -> str:
    """What the app asks for: an unknown name is unknown as requested too (a call whose answering
    model has no price is priced by the requested one)."""
    return "mystery" if number is not None and number % 2 else "gpt-4o-mini"


def _reply(number: int | None, *, stream: bool) -> Script:
    """Serves ``gpt-4o-mini`` or the huge name ``number``, made when served (the server keeps scripts)."""

    def script(connection: Connection, request: HttpRequest) -> None:
        model = "gpt-4o-mini" if number is None else _huge_name(number)
        if stream:
            wire.sse_reply(wire.chat_chunks(model))(connection, request)
        else:
            connection.respond_json(200, wire.chat_completion(model))

    return script


class _Statuses(SpanProcessor):
    """Keeps each ended span's pricing status (a short string), and nothing else of it."""

    def __init__(self) -> None:
        self.statuses: list[str] = []

    def on_end(self, span: ReadableSpan) -> None:
        if span.kind is SpanKind.CLIENT:
            self.statuses.append(str((span.attributes or {}).get(Ours.PRICING_STATUS)))


@contextmanager
def _retained_bytes() -> Iterator[list[int]]:
    """Bytes still allocated, after a collection, by what ran inside the block."""
    found: list[int] = []
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        yield found
        gc.collect()
        found.append(tracemalloc.get_traced_memory()[0] - before)
    finally:
        tracemalloc.stop()


def _table_with_prefix() -> PricingTable:
    """The suite's table plus a ``gpt-4o-mini-`` prefix entry."""
    family = {"id": "reliability:gpt-4o-mini-family", "provider": "openai", "match": {"prefix": "gpt-4o-mini-"}}
    entries = [*pricing_table().entries, {**family, "input": "0.15", "output": "0.6"}]
    return PricingTable.load(entries=entries, include_bundled=False)


@dataclass
class _Pipeline:
    """Spans dropped as they end (their statuses kept), metrics read in memory."""

    statuses: _Statuses = field(default_factory=_Statuses)
    reader: InMemoryMetricReader = field(default_factory=InMemoryMetricReader)
    tracer_provider: TracerProvider = field(default_factory=TracerProvider)
    meter_provider: MeterProvider = field(init=False)

    def __post_init__(self) -> None:
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def response_models(self, metric: str) -> set[str]:
        return {point.attributes[GenAI.RESPONSE_MODEL] for point in metric_points(self.reader, metric)}


@pytest.fixture
def pipeline() -> Iterator[_Pipeline]:
    pipeline = _Pipeline()
    pipeline.tracer_provider.add_span_processor(pipeline.statuses)
    yield pipeline
    pipeline.meter_provider.shutdown()
    pipeline.tracer_provider.shutdown()


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_unique_huge_response_models_are_not_kept(
    pipeline: _Pipeline,
    faults: FaultServer,
    caplog: pytest.LogCaptureFixture,
    stream: bool,
) -> None:
    sdk = client(faults.base_url)
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(
        tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider, pricing=_table_with_prefix()
    )

    def call(number: int | None) -> None:
        headers = faults.headers(_reply(number, stream=stream))
        result: Any = sdk.chat.completions.create(
            model=_requested(number), messages=[], stream=stream, extra_headers=headers
        )
        if stream:
            list(result)

    caplog.set_level(logging.WARNING, logger="genai_cost")
    try:
        call(None)  # the SDK's lazy imports and the pools are not ours to count
        pipeline.reader.get_metrics_data()
        with _retained_bytes() as retained:
            for i in range(CALLS):
                call(i)
            pipeline.reader.get_metrics_data()
    finally:
        instrumentor.uninstrument()

    assert retained[0] < RETAINED_LIMIT, f"{retained[0]:,} bytes kept after {CALLS} calls"
    assert pipeline.statuses.statuses[1:] == [PricingStatus.PRICED, PricingStatus.UNKNOWN_MODEL] * (CALLS // 2)
    assert pipeline.response_models(Metrics.OPERATION_DURATION) == {"gpt-4o-mini", OTHER_MODEL}
    warnings = [record.getMessage() for record in caplog.records if "no price for model" in record.getMessage()]
    assert len(warnings) == CALLS // 2  # one per unknown name (unique in its first characters)
    assert all(len(message) < 1_000 for message in warnings)


def test_processor_keeps_no_huge_model_names_of_other_instrumentations(
    pipeline: _Pipeline,
) -> None:
    processor = CostSpanProcessor(pipeline.statuses, _table_with_prefix(), pipeline.meter_provider)
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("another-instrumentation")

    def span(model: str) -> None:
        attributes = {
            GenAI.PROVIDER_NAME: "openai",
            GenAI.RESPONSE_MODEL: model,
            GenAI.USAGE_INPUT_TOKENS: 10,
            GenAI.USAGE_OUTPUT_TOKENS: 5,
        }
        with tracer.start_as_current_span("chat", kind=SpanKind.CLIENT, attributes=attributes):
            pass

    span("gpt-4o-mini")
    pipeline.reader.get_metrics_data()
    with _retained_bytes() as retained:
        for i in range(CALLS):
            span(_huge_name(i))
        pipeline.reader.get_metrics_data()
    provider.shutdown()

    assert retained[0] < RETAINED_LIMIT, f"{retained[0]:,} bytes kept after {CALLS} spans"
    assert pipeline.statuses.statuses[1:] == [PricingStatus.PRICED, PricingStatus.UNKNOWN_MODEL] * (CALLS // 2)
    assert pipeline.response_models(Metrics.OPERATION_COST) == {"gpt-4o-mini", OTHER_MODEL}


def test_track_usage_block_keeps_no_huge_model_names(pipeline: _Pipeline, faults: FaultServer) -> None:
    """A long-lived block (a whole job's budget) counts per model without keeping the names."""
    sdk = client(faults.base_url)
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(
        tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider, pricing=_table_with_prefix()
    )

    def call(number: int | None) -> None:
        sdk.chat.completions.create(
            model=_requested(number), messages=[], extra_headers=faults.headers(_reply(number, stream=False))
        )

    try:
        call(None)
        with track_usage() as usage, _retained_bytes() as retained:
            for i in range(CALLS):
                call(i)
    finally:
        instrumentor.uninstrument()

    assert retained[0] < RETAINED_LIMIT, f"{retained[0]:,} bytes kept by a block after {CALLS} calls"
    assert usage.successful_requests == CALLS
    assert {model for _, model in usage.by_model} == {OTHER_MODEL}
    assert usage.unpriced_requests == CALLS // 2
