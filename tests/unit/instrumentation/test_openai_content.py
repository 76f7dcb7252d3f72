"""Tier 1: message content in the semconv shape, with size limits, from SDK objects and dicts."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from genai_cost.instrumentation.openai import content


def _text(value: str) -> dict[str, Any]:
    return {"type": "text", "content": value}


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        pytest.param([{"role": "user", "content": "hi"}], [{"role": "user", "parts": [_text("hi")]}], id="text"),
        pytest.param(
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "look"},
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                    ],
                }
            ],
            [{"role": "user", "parts": [_text("look"), {"type": "image_url"}]}],
            id="image-kind-only-never-bytes",
        ),
        pytest.param(
            [
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "weather", "arguments": '{"city":"Oslo"}'},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "rain"},
            ],
            [
                {
                    "role": "assistant",
                    "parts": [{"type": "tool_call", "id": "call_1", "name": "weather", "arguments": '{"city":"Oslo"}'}],
                },
                {"role": "tool", "parts": [{"type": "tool_call_response", "id": "call_1", "response": "rain"}]},
            ],
            id="tool-call-round-trip",
        ),
        pytest.param(
            [SimpleNamespace(role="user", content="obj")], [{"role": "user", "parts": [_text("obj")]}], id="sdk-objects"
        ),
        pytest.param("not a list", [], id="junk"),
    ],
)
def test_chat_input(messages: Any, expected: list[Any]) -> None:
    assert content.chat_input(messages) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("hi", [{"role": "user", "parts": [_text("hi")]}], id="string"),
        pytest.param(
            [
                {"role": "user", "content": [{"type": "input_text", "text": "a"}]},
                {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "c1", "output": "42"},
            ],
            [
                {"role": "user", "parts": [_text("a")]},
                {"role": "assistant", "parts": [{"type": "tool_call", "id": "c1", "name": "f", "arguments": "{}"}]},
                {"role": "tool", "parts": [{"type": "tool_call_response", "id": "c1", "response": "42"}]},
            ],
            id="items",
        ),
    ],
)
def test_responses_input(value: Any, expected: list[Any]) -> None:
    assert content.responses_input(value) == expected


def test_responses_output_and_legacy_choices() -> None:
    output = [
        SimpleNamespace(type="reasoning", summary=[]),
        SimpleNamespace(type="message", content=[SimpleNamespace(type="output_text", text="done")]),
        SimpleNamespace(type="function_call", call_id="c2", name="g", arguments="{}"),
    ]
    assert content.responses_output(output, "completed") == [
        {
            "role": "assistant",
            "parts": [_text("done"), {"type": "tool_call", "id": "c2", "name": "g", "arguments": "{}"}],
            "finish_reason": "completed",
        }
    ]
    choice = SimpleNamespace(text="legacy", finish_reason="length", message=None)
    assert content.choice_output(choice) == {"role": "assistant", "parts": [_text("legacy")], "finish_reason": "length"}
    assert content.completion_input(["a", 3, "b"]) == [
        {"role": "user", "parts": [_text("a")]},
        {"role": "user", "parts": [_text("b")]},
    ]


def test_limits_keep_valid_json() -> None:
    many = [{"role": "user", "content": f"m{i}" + "y" * (content.MAX_TEXT_CHARS + 10)} for i in range(100)]
    decoded = json.loads(content.messages_json(content.chat_input(many)) or "")
    assert len(decoded) == content.MAX_MESSAGES
    assert decoded[-1]["parts"][0]["content"].startswith("m99")  # the latest messages are kept
    assert all(len(m["parts"][0]["content"]) <= content.MAX_TEXT_CHARS + 20 for m in decoded)
    assert content.messages_json([]) is None
