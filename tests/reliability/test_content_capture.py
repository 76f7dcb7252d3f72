"""Message content: absent unless capture is enabled; when enabled, bounded by documented limits."""

from __future__ import annotations

import json

from tests.reliability.support import wire
from tests.reliability.support.fault_server import FaultServer
from tests.reliability.support.harness import Telemetry, client

from genai_cost.instrumentation.openai.content import MAX_MESSAGES, MAX_TEXT_CHARS
from genai_cost.semconv import GenAI

PROMPT = "the-prompt-text-" * 4_000  # 64 KB
MESSAGES = [{"role": "user", "content": f"{i}:{PROMPT}"} for i in range(MAX_MESSAGES + 8)]
CONTENT_ATTRIBUTES = (GenAI.INPUT_MESSAGES, GenAI.OUTPUT_MESSAGES)


def _call(telemetry: Telemetry, faults: FaultServer) -> None:
    reply = wire.chat_completion()
    reply["choices"][0]["message"]["content"] = "the-answer-text-" * 4_000
    sdk = client(faults.base_url)
    with telemetry.instrumented():
        sdk.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, extra_headers=faults.headers(
            wire.json_reply(reply)))  # fmt: skip


def test_content_is_absent_by_default(telemetry: Telemetry, faults: FaultServer) -> None:
    _call(telemetry, faults)
    span = telemetry.only_span()
    assert not set(CONTENT_ATTRIBUTES) & set(span.attributes or {})
    exported = span.to_json()
    assert "the-prompt-text" not in exported and "the-answer-text" not in exported


def test_captured_content_is_bounded(telemetry: Telemetry, faults: FaultServer, capture_content: None) -> None:
    _call(telemetry, faults)
    attributes = telemetry.only_span().attributes or {}
    sent = json.loads(attributes[GenAI.INPUT_MESSAGES])
    assert len(sent) == MAX_MESSAGES
    assert sent[-1]["parts"][0]["content"].startswith(f"{len(MESSAGES) - 1}:")  # the latest are kept
    received = json.loads(attributes[GenAI.OUTPUT_MESSAGES])
    texts = [part["content"] for message in sent + received for part in message["parts"]]
    assert all(len(text) <= MAX_TEXT_CHARS + len("...[truncated]") for text in texts)
    assert all(text.endswith("...[truncated]") for text in texts)
