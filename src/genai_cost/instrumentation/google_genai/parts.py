"""``generate_content`` contents as semconv JSON, only when content capture is turned on.

``contents`` may be a string, a ``Content``, a ``Part`` or a list of them (SDK objects or
dicts). Parts map to semconv parts: ``text``, ``function_call`` (a ``tool_call``),
``function_response`` (a ``tool_call_response``), thoughts (``reasoning``); inline and file
data keep their kind only, never their bytes. Clipping and the message cap are the shared ones
of :mod:`genai_cost.instrumentation.openai.content`.
"""

from __future__ import annotations

import json
from typing import Any

from genai_cost.instrumentation._attributes import read
from genai_cost.instrumentation.openai.content import Message, message, messages_json, readable_items, text_part

__all__ = ["input_messages", "system_instructions"]


def _dumps(value: Any) -> str:
    return str(text_part(json.dumps(value, ensure_ascii=False, default=str))["content"])


def _part(part: Any) -> dict[str, Any]:
    if isinstance(part, str):
        return text_part(part)
    text = read(part, "text")
    if isinstance(text, str):
        return (
            {"type": "reasoning", "content": text_part(text)["content"]} if read(part, "thought") else text_part(text)
        )
    if (call := read(part, "function_call")) is not None:
        return {"type": "tool_call", "id": read(call, "id"), "name": read(call, "name"),
                "arguments": _dumps(read(call, "args"))}  # fmt: skip
    if (response := read(part, "function_response")) is not None:
        return {
            "type": "tool_call_response",
            "id": read(response, "id"),
            "response": _dumps(read(response, "response")),
        }
    kind = next(
        (name for name in ("inline_data", "file_data", "executable_code") if read(part, name) is not None), None
    )
    return {"type": kind or "unknown"}


def _message(item: Any) -> Message:
    parts = read(item, "parts")
    if parts is None:  # a bare part or string is a user turn of its own
        return message("user", [_part(item)])
    role = read(item, "role")
    return message("assistant" if role == "model" else role or "user", [_part(part) for part in readable_items(parts)])


def input_messages(contents: Any) -> str | None:
    """``gen_ai.input.messages`` of a request's ``contents``."""
    items = contents if isinstance(contents, (list, tuple)) else [] if contents is None else [contents]
    return messages_json([_message(item) for item in items])


def system_instructions(config: Any) -> str | None:
    """``gen_ai.system_instructions`` of ``config.system_instruction`` (text or a ``Content``)."""
    instruction = read(config, "system_instruction")
    if instruction is None:
        return None
    parts = read(instruction, "parts")
    if parts is not None:
        items = readable_items(parts)
    else:
        items = instruction if isinstance(instruction, (list, tuple)) else [instruction]
    return messages_json([_part(item) for item in items])
