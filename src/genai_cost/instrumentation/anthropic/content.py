"""Messages API content as semconv JSON, only when content capture is turned on.

Content blocks map to semconv parts: ``text``, ``tool_use`` (a ``tool_call`` with its JSON
input), ``tool_result`` (a ``tool_call_response``), ``thinking`` (``reasoning``); images and
documents keep their kind only, never their bytes. Clipping and the message cap are the shared
ones of :mod:`genai_cost.instrumentation.openai.content`.
"""

from __future__ import annotations

import json
from typing import Any

from genai_cost.instrumentation._attributes import read
from genai_cost.instrumentation.openai.content import Message, message, messages_json, readable_items, text_part

__all__ = ["input_messages", "system_instructions"]


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(text for block in readable_items(content) if isinstance(text := read(block, "text"), str))


def _part(block: Any) -> dict[str, Any]:
    kind = read(block, "type")
    if kind == "text":
        return text_part(_text([block]))
    if kind == "tool_use":
        arguments = json.dumps(read(block, "input"), ensure_ascii=False, default=str)
        return {"type": "tool_call", "id": read(block, "id"), "name": read(block, "name"),
                "arguments": text_part(arguments)["content"]}  # fmt: skip
    if kind == "tool_result":
        response = text_part(_text(read(block, "content")))["content"]
        return {"type": "tool_call_response", "id": read(block, "tool_use_id"), "response": response}
    if kind == "thinking" and isinstance(thinking := read(block, "thinking"), str):
        return {"type": "reasoning", "content": text_part(thinking)["content"]}
    return {"type": kind if isinstance(kind, str) else "unknown"}


def _message(raw: Any) -> Message:
    content = read(raw, "content")
    parts = [text_part(content)] if isinstance(content, str) else [_part(block) for block in readable_items(content)]
    return message(read(raw, "role"), parts)


def input_messages(messages: Any) -> str | None:
    """``gen_ai.input.messages`` of a Messages request's ``messages``."""
    return messages_json([_message(raw) for raw in readable_items(messages)])


def system_instructions(system: Any) -> str | None:
    """``gen_ai.system_instructions`` of the ``system`` prompt (a string or text blocks)."""
    text = _text(system)
    return messages_json([text_part(text)]) if text else None
