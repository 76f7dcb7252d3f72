"""Errors reach the app unchanged (same type and message as uninstrumented); spans say ERROR."""

from __future__ import annotations

import importlib.metadata
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from tests.integration.anthropic.helpers import call, expected_cost, request
from tests.support.fake_http import FakeHTTPServer
from tests.support.instrumenting import assert_failed, instrumented
from tests.support.telemetry import metric_points

from genai_cost.instrumentation.anthropic import AnthropicInstrumentor
from genai_cost.semconv import Metrics

CASES = [
    pytest.param(shape, scenario, id=f"{shape}-{scenario}")
    for shape in ("create", "create_stream", "stream_helper")
    for scenario in ("error_400", "error_401", "error_429", "error_529")
] + [
    pytest.param(shape, scenario, id=f"{shape}-{scenario}")
    for shape in ("create_stream", "stream_helper")
    for scenario in ("stream_error", "reset_mid_stream")
]


def _outcome(origin: str, shape: str, scenario: str, *, is_async: bool) -> tuple[type[BaseException], str]:
    with pytest.raises(Exception) as caught:
        call(origin, shape, request(scenario), is_async=is_async)
    return type(caught.value), str(caught.value)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize(("shape", "scenario"), CASES)
def test_error_reaches_app_unchanged_and_span_is_error(
    fake_anthropic: FakeHTTPServer,
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
    shape: str,
    scenario: str,
    is_async: bool,
) -> None:
    plain = _outcome(fake_anthropic.origin, shape, scenario, is_async=is_async)
    with instrumented(AnthropicInstrumentor(), tracer_provider=tracer_provider, meter_provider=meter_provider):
        traced = _outcome(fake_anthropic.origin, shape, scenario, is_async=is_async)

    assert traced == plain
    (span,) = span_exporter.get_finished_spans()
    assert_failed(span, traced[0], metric_reader)


def test_unsampled_calls_still_record_metrics(fake_anthropic: FakeHTTPServer, metric_reader: InMemoryMetricReader,
                                              meter_provider: MeterProvider) -> None:  # fmt: skip
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider(sampler=ALWAYS_OFF)
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    with instrumented(AnthropicInstrumentor(), tracer_provider=tracer_provider, meter_provider=meter_provider):
        call(fake_anthropic.origin, "stream_helper", request("cache_write"), is_async=False)

    assert exporter.get_finished_spans() == ()
    (cost,) = metric_points(metric_reader, Metrics.OPERATION_COST)
    assert cost.sum == pytest.approx(float(expected_cost("cache_write")))


def test_entry_point_loads_the_instrumentor() -> None:
    (entry_point,) = [
        entry_point
        for entry_point in importlib.metadata.entry_points(group="opentelemetry_instrumentor")
        if entry_point.name == "genai_cost_anthropic"
    ]
    loaded: Any = entry_point.load()
    assert loaded is AnthropicInstrumentor
    assert loaded().instrumentation_dependencies() == ("anthropic >= 0.40",)
