"""Message content is on the span only when OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT asks for it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.integration.anthropic.helpers import call, request
from tests.support.fake_http import FakeHTTPServer
from tests.support.instrumenting import instrumented

from genai_cost.config import ENV
from genai_cost.instrumentation.anthropic import AnthropicInstrumentor
from genai_cost.semconv import GenAI

MESSAGES: list[dict[str, Any]] = [
    {"role": "user", "content": "What is the weather in Paris?"},
    {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Let me check."},
            {"type": "tool_use", "id": "toolu_01", "name": "weather", "input": {"city": "Paris"}},
        ],
    },
    {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01", "content": "18C, sunny"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
        ],
    },
]


@pytest.fixture
def capture(
    monkeypatch: pytest.MonkeyPatch, tracer_provider: TracerProvider, meter_provider: MeterProvider
) -> Iterator[AnthropicInstrumentor]:
    """Instrumented with content capture turned on."""
    monkeypatch.setenv(ENV.CAPTURE_MESSAGE_CONTENT, "true")
    with instrumented(
        AnthropicInstrumentor(), tracer_provider=tracer_provider, meter_provider=meter_provider
    ) as instrumentor:
        yield instrumentor


@pytest.fixture
def no_capture(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> Iterator[AnthropicInstrumentor]:
    """Instrumented with the default settings."""
    with instrumented(
        AnthropicInstrumentor(), tracer_provider=tracer_provider, meter_provider=meter_provider
    ) as instrumentor:
        yield instrumentor


@pytest.mark.parametrize("shape", ["create", "stream_helper"])
def test_content_is_captured_when_asked(
    capture: AnthropicInstrumentor, fake_anthropic: FakeHTTPServer, span_exporter: InMemorySpanExporter, shape: str
) -> None:
    call(fake_anthropic.origin, shape, request(messages=MESSAGES, system="Be brief."), is_async=False)

    (span,) = span_exporter.get_finished_spans()
    attributes = span.attributes or {}
    assert json.loads(str(attributes[GenAI.INPUT_MESSAGES])) == [
        {"role": "user", "parts": [{"type": "text", "content": "What is the weather in Paris?"}]},
        {
            "role": "assistant",
            "parts": [
                {"type": "text", "content": "Let me check."},
                {"type": "tool_call", "id": "toolu_01", "name": "weather", "arguments": '{"city": "Paris"}'},
            ],
        },
        {
            "role": "user",
            "parts": [{"type": "tool_call_response", "id": "toolu_01", "response": "18C, sunny"}, {"type": "image"}],
        },
    ]
    assert json.loads(str(attributes[GenAI.SYSTEM_INSTRUCTIONS])) == [{"type": "text", "content": "Be brief."}]
    assert "iVBORw0KGgo=" not in str(attributes[GenAI.INPUT_MESSAGES])


def test_no_content_by_default(
    no_capture: AnthropicInstrumentor, fake_anthropic: FakeHTTPServer, span_exporter: InMemorySpanExporter
) -> None:
    call(fake_anthropic.origin, "create", request(messages=MESSAGES, system="Be brief."), is_async=False)

    (span,) = span_exporter.get_finished_spans()
    assert GenAI.INPUT_MESSAGES not in (span.attributes or {})
    assert GenAI.SYSTEM_INSTRUCTIONS not in (span.attributes or {})
