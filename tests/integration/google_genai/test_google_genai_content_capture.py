"""Contents are on the span only when OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT asks for it."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from google.genai import types
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.integration.google_genai.helpers import FLASH, call, config
from tests.support.fake_http import FakeHTTPServer
from tests.support.instrumenting import instrumented

from genai_cost.config import ENV
from genai_cost.instrumentation.google_genai import GoogleGenAIInstrumentor
from genai_cost.semconv import GenAI

CONTENTS = [
    types.Content(role="user", parts=[types.Part(text="Weather in Paris?")]),
    types.Content(
        role="model", parts=[types.Part(function_call=types.FunctionCall(name="weather", args={"city": "Paris"}))]
    ),
    types.Content(
        role="user",
        parts=[
            types.Part(function_response=types.FunctionResponse(name="weather", response={"temp": "18C"})),
            types.Part(inline_data=types.Blob(mime_type="image/png", data=b"\x89PNG-secret-bytes")),
        ],
    ),
]


@pytest.fixture
def capture(
    monkeypatch: pytest.MonkeyPatch, tracer_provider: TracerProvider, meter_provider: MeterProvider
) -> Iterator[GoogleGenAIInstrumentor]:
    """Instrumented with content capture turned on."""
    monkeypatch.setenv(ENV.CAPTURE_MESSAGE_CONTENT, "true")
    with instrumented(
        GoogleGenAIInstrumentor(), tracer_provider=tracer_provider, meter_provider=meter_provider
    ) as instrumentor:
        yield instrumentor


@pytest.fixture
def no_capture(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> Iterator[GoogleGenAIInstrumentor]:
    """Instrumented with the default settings."""
    with instrumented(
        GoogleGenAIInstrumentor(), tracer_provider=tracer_provider, meter_provider=meter_provider
    ) as instrumentor:
        yield instrumentor


@pytest.mark.parametrize("shape", ["generate", "stream"])
def test_contents_are_captured_when_asked(
    capture: GoogleGenAIInstrumentor, fake_google: FakeHTTPServer, span_exporter: InMemorySpanExporter, shape: str
) -> None:
    kwargs = {"model": FLASH, "contents": CONTENTS, "config": config(system_instruction="Be brief.")}
    call(fake_google.origin, "gemini", shape, kwargs, is_async=False)

    (span,) = span_exporter.get_finished_spans()
    attributes = span.attributes or {}
    assert json.loads(str(attributes[GenAI.INPUT_MESSAGES])) == [
        {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]},
        {
            "role": "assistant",
            "parts": [{"type": "tool_call", "id": None, "name": "weather", "arguments": '{"city": "Paris"}'}],
        },
        {
            "role": "user",
            "parts": [
                {"type": "tool_call_response", "id": None, "response": '{"temp": "18C"}'},
                {"type": "inline_data"},
            ],
        },
    ]
    assert json.loads(str(attributes[GenAI.SYSTEM_INSTRUCTIONS])) == [{"type": "text", "content": "Be brief."}]


def test_a_plain_string_prompt_is_one_user_message(
    capture: GoogleGenAIInstrumentor, fake_google: FakeHTTPServer, span_exporter: InMemorySpanExporter
) -> None:
    call(
        fake_google.origin, "vertex", "generate", {"model": FLASH, "contents": "Hi", "config": config()}, is_async=True
    )

    (span,) = span_exporter.get_finished_spans()
    messages = json.loads(str((span.attributes or {})[GenAI.INPUT_MESSAGES]))
    assert messages == [{"role": "user", "parts": [{"type": "text", "content": "Hi"}]}]


def test_no_content_by_default(
    no_capture: GoogleGenAIInstrumentor, fake_google: FakeHTTPServer, span_exporter: InMemorySpanExporter
) -> None:
    kwargs = {"model": FLASH, "contents": CONTENTS, "config": config(system_instruction="Be brief.")}
    call(fake_google.origin, "gemini", "generate", kwargs, is_async=False)

    (span,) = span_exporter.get_finished_spans()
    assert GenAI.INPUT_MESSAGES not in (span.attributes or {})
    assert GenAI.SYSTEM_INSTRUCTIONS not in (span.attributes or {})
