"""Message content: never captured by default, semconv JSON when asked, no secrets either way."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.support.fake_bedrock import TEXT

from genai_cost.config import ENV, get_settings
from genai_cost.instrumentation.bedrock.converse import ConverseEventAccumulator
from genai_cost.semconv import GenAI

from .helpers import SONNET, only_span

SYSTEM = [{"text": "Be brief."}]
CONVERSATION = [
    {"role": "user", "content": [{"text": "What is on this picture?"},
                                 {"image": {"format": "png", "source": {"bytes": b"\x89PNG-secret-pixels"}}}]},
    {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "look", "input": {"zoom": 2}}}]},
    {"role": "user", "content": [{"toolResult": {"toolUseId": "t1", "content": [{"text": "a cat"}]}}]},
]  # fmt: skip


@pytest.fixture
def capture(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(ENV.CAPTURE_MESSAGE_CONTENT, "true")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_content_not_captured_by_default_and_no_secrets(bedrock: Any, span_exporter: InMemorySpanExporter) -> None:
    bedrock.converse(modelId=SONNET, messages=CONVERSATION, system=SYSTEM)

    attributes = only_span(span_exporter).attributes or {}
    assert not {GenAI.INPUT_MESSAGES, GenAI.OUTPUT_MESSAGES, GenAI.SYSTEM_INSTRUCTIONS} & set(attributes)
    values = repr(dict(attributes))
    assert "DO-NOT-LEAK" not in values
    assert "AKIDFAKE" not in values


@pytest.mark.usefixtures("capture")
def test_converse_content_captured_when_asked(
    instrument: Callable[..., Any], new_client: Callable[[], Any], span_exporter: InMemorySpanExporter
) -> None:
    instrument()
    new_client().converse(modelId=SONNET, messages=CONVERSATION, system=SYSTEM)

    attributes = only_span(span_exporter).attributes or {}
    assert json.loads(str(attributes[GenAI.SYSTEM_INSTRUCTIONS])) == [{"type": "text", "content": "Be brief."}]
    assert json.loads(str(attributes[GenAI.INPUT_MESSAGES])) == [
        {"role": "user", "parts": [{"type": "text", "content": "What is on this picture?"}, {"type": "image"}]},
        {"role": "assistant", "parts": [{"type": "tool_call", "id": "t1", "name": "look", "arguments": '{"zoom": 2}'}]},
        {"role": "user", "parts": [{"type": "tool_call_response", "id": "t1", "response": "a cat"}]},
    ]
    assert json.loads(str(attributes[GenAI.OUTPUT_MESSAGES])) == [
        {"role": "assistant", "parts": [{"type": "text", "content": "".join(TEXT)}], "finish_reason": "end_turn"}
    ]
    assert "secret-pixels" not in repr(dict(attributes))


@pytest.mark.usefixtures("capture")
def test_converse_stream_content_captured_when_asked(
    instrument: Callable[..., Any], new_client: Callable[[], Any], span_exporter: InMemorySpanExporter
) -> None:
    instrument()
    list(new_client().converse_stream(modelId=SONNET, messages=CONVERSATION[:1])["stream"])

    attributes = only_span(span_exporter).attributes or {}
    assert json.loads(str(attributes[GenAI.OUTPUT_MESSAGES])) == [
        {"role": "assistant", "parts": [{"type": "text", "content": "".join(TEXT)}], "finish_reason": "end_turn"}
    ]


def test_streamed_tool_use_is_joined() -> None:
    accumulator = ConverseEventAccumulator({}, capture_content=True)
    events = [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "Let me look."}}},
        {"contentBlockStart": {"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "t2", "name": "look"}}}},
        {"contentBlockDelta": {"contentBlockIndex": 1, "delta": {"toolUse": {"input": '{"zo'}}}},
        {"contentBlockDelta": {"contentBlockIndex": 1, "delta": {"toolUse": {"input": 'om": 3}'}}}},
        {"messageStop": {"stopReason": "tool_use"}},
    ]
    for event in events:
        assert accumulator.add(event) is True

    output = json.loads(str(accumulator.result().attributes[GenAI.OUTPUT_MESSAGES]))
    assert output == [
        {
            "role": "assistant",
            "parts": [
                {"type": "text", "content": "Let me look."},
                {"type": "tool_call", "id": "t2", "name": "look", "arguments": '{"zoom": 3}'},
            ],
            "finish_reason": "tool_use",
        }
    ]
