"""``instrument()`` called directly refuses an SDK version outside ``_instruments`` (BaseInstrumentor's check)."""

from __future__ import annotations

import logging

import openai
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.integration.openai.helpers import only_span

from genai_cost.instrumentation.openai import OpenAIInstrumentor

MESSAGES = [{"role": "user", "content": "Say hello."}]


# BaseInstrumentor is a singleton per class through the inherited ``_instance``: each subclass
# here resets it, or it would get OpenAIInstrumentor's instance (and its requirements).


class _RequiresFutureOpenAI(OpenAIInstrumentor):
    _instance = None
    _instruments = ("openai >= 999",)


class _RequiresMissingSDK(OpenAIInstrumentor):
    _instance = None
    _instruments = ("genai-cost-no-such-sdk >= 1",)


@pytest.mark.parametrize("instrumentor_class", [_RequiresFutureOpenAI, _RequiresMissingSDK])
def test_direct_instrument_refuses_an_unsupported_sdk(
    instrumentor_class: type[OpenAIInstrumentor],
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    span_exporter: InMemorySpanExporter,
    client: openai.OpenAI,
    caplog: pytest.LogCaptureFixture,
) -> None:
    instrumentor = instrumentor_class()
    assert type(instrumentor) is instrumentor_class
    with caplog.at_level(logging.ERROR):
        instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        assert not instrumentor.is_instrumented_by_opentelemetry
        assert any(instrumentor_class._instruments[0] in record.getMessage() for record in caplog.records)
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
        assert span_exporter.get_finished_spans() == ()
    finally:
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()


def test_direct_instrument_accepts_the_installed_sdk(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    span_exporter: InMemorySpanExporter,
    client: openai.OpenAI,
) -> None:
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
    finally:
        instrumentor.uninstrument()
    only_span(span_exporter)
