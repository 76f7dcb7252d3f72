"""Attribution on metrics is capped in distinct values per key and process: beyond the limit a
value is recorded as ``_other`` and counted; memory stays flat however many values arrive."""

from __future__ import annotations

import gc
import logging
import tracemalloc
from collections.abc import Callable

import openai
import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from tests.integration.attribution.conftest import (
    FEATURE,
    MESSAGES,
    MODEL,
    OTHER,
    OVERFLOW,
    OVERFLOW_KEY,
    TENANT,
    Telemetry,
    one_call_cost,
)
from tests.support.telemetry import metric_points

import genai_cost
from genai_cost import CostSpanProcessor
from genai_cost.semconv import GenAI, Metrics


def _overflow(reader: InMemoryMetricReader) -> dict[str, int]:
    return {point.attributes[OVERFLOW_KEY]: point.value for point in metric_points(reader, OVERFLOW)}


def test_values_beyond_the_limit_fold_into_other_and_are_counted(
    instrument: Callable[..., Telemetry], client: openai.OpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    telemetry = instrument(GENAI_COST_METRIC_ATTRIBUTION="tenant,feature", GENAI_COST_METRIC_ATTRIBUTION_LIMIT="3")
    tenants = [f"tenant-{i}" for i in range(7)]

    with genai_cost.track_usage() as usage:
        for tenant in [*tenants, *tenants[:3], "x" * 300]:  # the first three again; then a huge value
            with genai_cost.attribute(tenant=tenant, feature="search"):
                client.chat.completions.create(model=MODEL, messages=MESSAGES)

    one = float(one_call_cost())
    assert telemetry.cost_by(TENANT) == pytest.approx(
        {"tenant-0": 2 * one, "tenant-1": 2 * one, "tenant-2": 2 * one, OTHER: 5 * one}
    )
    assert telemetry.count_by(FEATURE) == {"search": 11}
    assert _overflow(telemetry.reader) == {"tenant": 5}
    assert "more than 3 distinct values of attribution key 'tenant'" in caplog.text
    # Spans and track_usage keep every value (cut to 256 characters): only metrics are capped.
    assert {(s.attributes or {})[TENANT] for s in telemetry.llm_spans()} == {*tenants, "x" * 256}
    assert len(usage.by("tenant")) == 8


class _Drop(SpanProcessor):
    """The exporting processor of a long-running service, minus the export."""

    def on_end(self, span: ReadableSpan) -> None:
        pass


@pytest.mark.slow
def test_a_hundred_thousand_tenants_keep_memory_flat(
    configure: Callable[..., None], caplog: pytest.LogCaptureFixture
) -> None:
    # LLM spans of another instrumentation priced by CostSpanProcessor (one per tenant), on a
    # meter provider collected as a service's would be: the SDK's series and our limiter stop
    # growing at the limit, so memory after 100k tenants is what it was after 20k.
    configure(GENAI_COST_METRIC_ATTRIBUTION="tenant", GENAI_COST_METRIC_ATTRIBUTION_LIMIT="100")
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(CostSpanProcessor(_Drop(), meter_provider=meter_provider))
    tracer = tracer_provider.get_tracer("opentelemetry.instrumentation.someone_elses")
    attributes = {
        GenAI.OPERATION_NAME: "chat",
        GenAI.PROVIDER_NAME: "openai",
        GenAI.REQUEST_MODEL: MODEL,
        GenAI.USAGE_INPUT_TOKENS: 11,
        GenAI.USAGE_OUTPUT_TOKENS: 16,
    }

    def calls(start: int, stop: int) -> None:
        for i in range(start, stop):
            with genai_cost.attribute(tenant=f"tenant-{i:06d}"):
                tracer.start_span("chat", kind=trace.SpanKind.CLIENT, attributes=attributes).end()

    caplog.set_level(logging.ERROR)
    tracemalloc.start()
    try:
        calls(0, 20_000)
        reader.collect()
        gc.collect()
        after_20k = tracemalloc.get_traced_memory()[0]
        calls(20_000, 100_000)
        reader.collect()
        gc.collect()
        after_100k, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    print(
        f"\ntraced memory after 20k tenants {after_20k / 1024:.0f} KiB, after 100k {after_100k / 1024:.0f} KiB "
        f"(growth {(after_100k - after_20k) / 1024:+.1f} KiB, peak {peak / 1024:.0f} KiB)"
    )
    assert after_100k - after_20k < 64 * 1024
    costs = {p.attributes[TENANT]: p.count for p in metric_points(reader, Metrics.OPERATION_COST)}
    assert len(costs) == 101
    assert costs[OTHER] == 100_000 - 100
    assert _overflow(reader) == {"tenant": 100_000 - 100}
    print(f"cost series by tenant: {len(costs)} (100 tenants + {OTHER!r} with {costs[OTHER]} calls)")
