"""Converse message content as semconv JSON, only when content capture is turned on.

Converse content blocks map to semconv parts: ``text``, ``toolUse`` (a ``tool_call`` with its
JSON input), ``toolResult`` (a ``tool_call_response``), ``reasoningContent`` (``reasoning``);
images, documents and videos keep their kind only, never their bytes. Clipping and the
message cap are the shared ones of :mod:`genai_cost.instrumentation.openai.content`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from genai_cost.instrumentation.openai.content import Message, message, messages_json, readable_items, text_part

__all__ = ["converse_messages", "converse_output", "system_json", "tool_call"]


def tool_call(call_id: Any, name: Any, arguments: Any) -> dict[str, Any]:
    """A ``tool_call`` part; ``arguments`` as given (a JSON string) or dumped from an object."""
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments, ensure_ascii=False, default=str)
    return {"type": "tool_call", "id": call_id, "name": name, "arguments": text_part(arguments)["content"]}


def _texts(blocks: Any) -> str:
    texts = (block.get("text") for block in readable_items(blocks) if isinstance(block, Mapping))
    return "".join(text for text in texts if isinstance(text, str))


def _part(block: Mapping[str, Any]) -> dict[str, Any] | None:
    if isinstance(block.get("text"), str):
        return text_part(block["text"])
    if isinstance(use := block.get("toolUse"), Mapping):
        return tool_call(use.get("toolUseId"), use.get("name"), use.get("input"))
    if isinstance(result := block.get("toolResult"), Mapping):
        response = text_part(_texts(result.get("content")))["content"]
        return {"type": "tool_call_response", "id": result.get("toolUseId"), "response": response}
    if isinstance(reasoning := block.get("reasoningContent"), Mapping):
        text = (
            reasoning.get("reasoningText", {}).get("text")
            if isinstance(reasoning.get("reasoningText"), Mapping)
            else None
        )
        return {"type": "reasoning", "content": text_part(text)["content"]} if isinstance(text, str) else None
    kind = next(iter(block), None)
    return {"type": kind} if isinstance(kind, str) and kind != "cachePoint" else None


def _message(raw: Any, finish_reason: Any = None) -> Message:
    blocks = raw.get("content") if isinstance(raw, Mapping) else None
    parts = [part for block in readable_items(blocks) if isinstance(block, Mapping) and (part := _part(block))]
    return message(raw.get("role") if isinstance(raw, Mapping) else None, parts, finish_reason)


def converse_messages(messages: Any) -> str | None:
    """``gen_ai.input.messages`` of a Converse ``messages`` list."""
    return messages_json([_message(raw) for raw in readable_items(messages)])


def system_json(system: Any) -> str | None:
    """``gen_ai.system_instructions`` of a Converse ``system`` list."""
    text = _texts(system)
    return messages_json([text_part(text)]) if text else None


def converse_output(output_message: Any, finish_reason: Any) -> str | None:
    """``gen_ai.output.messages`` of a Converse ``output.message``."""
    return messages_json([_message(output_message, finish_reason)]) if output_message else None
