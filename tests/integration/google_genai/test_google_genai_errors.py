"""Errors reach the app unchanged (same type and message as uninstrumented); spans say ERROR."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.integration.google_genai.helpers import FLASH, MODES, call, config
from tests.support.fake_http import FakeHTTPServer
from tests.support.instrumenting import assert_failed, instrumented

from genai_cost.instrumentation.google_genai import GoogleGenAIInstrumentor
from genai_cost.semconv import GenAI

CASES = [
    pytest.param(shape, scenario, id=f"{shape}-{scenario}")
    for shape in ("generate", "stream")
    for scenario in ("error_400", "error_429", "error_500")
] + [pytest.param("stream", "reset_mid_stream", id="stream-reset_mid_stream")]


def _outcome(origin: str, mode: str, shape: str, scenario: str, *, is_async: bool) -> tuple[type[BaseException], str]:
    kwargs = {"model": FLASH, "contents": "x", "config": config(scenario)}
    with pytest.raises(Exception) as caught:
        call(origin, mode, shape, kwargs, is_async=is_async)
    return type(caught.value), str(caught.value)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize(("shape", "scenario"), CASES)
def test_error_reaches_app_unchanged_and_span_is_error(
    fake_google: FakeHTTPServer,
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
    shape: str,
    scenario: str,
    mode: str,
    is_async: bool,
) -> None:
    plain = _outcome(fake_google.origin, mode, shape, scenario, is_async=is_async)
    with instrumented(GoogleGenAIInstrumentor(), tracer_provider=tracer_provider, meter_provider=meter_provider):
        traced = _outcome(fake_google.origin, mode, shape, scenario, is_async=is_async)

    assert traced == plain
    (span,) = span_exporter.get_finished_spans()
    assert_failed(span, traced[0], metric_reader)
    assert (span.attributes or {})[GenAI.PROVIDER_NAME] == MODES[mode]
