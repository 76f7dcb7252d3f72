"""Message content as semconv JSON (``gen_ai.input.messages``, ``gen_ai.output.messages``).

Only used when ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` asks for it. The shape
follows the GenAI semconv message schema: ``[{"role": ..., "parts": [{"type": "text",
"content": ...}, {"type": "tool_call", ...}], "finish_reason": ...}]``. Every text is capped
at :data:`MAX_TEXT_CHARS` and at most :data:`MAX_MESSAGES` (the latest) messages are kept, so
one huge prompt cannot blow up a span; the JSON always stays valid.

Capture never consumes or mutates the app's arguments: where the SDK declares ``Iterable[...]``
the app may pass a generator, which the SDK iterates to build the request. Only lists and
tuples (:func:`readable_items`) are walked; any other iterable is left unread.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from genai_cost.instrumentation._attributes import given, read

__all__ = [
    "MAX_MESSAGES",
    "MAX_TEXT_CHARS",
    "chat_input",
    "choice_output",
    "completion_input",
    "message",
    "messages_json",
    "readable_items",
    "responses_input",
    "responses_output",
    "text_part",
]

MAX_TEXT_CHARS = 8_192
MAX_MESSAGES = 32
_TRUNCATED = "...[truncated]"

Message = dict[str, Any]


def readable_items(value: Any) -> list[Any] | tuple[Any, ...]:
    """``value`` if it is a list or tuple, else ``()``: a one-shot iterator is never iterated."""
    return value if isinstance(value, (list, tuple)) else ()


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TEXT_CHARS else text[:MAX_TEXT_CHARS] + _TRUNCATED


def text_part(text: str) -> dict[str, Any]:
    return {"type": "text", "content": _clip(text)}


def _tool_call(call_id: Any, name: Any, arguments: Any) -> dict[str, Any]:
    part: dict[str, Any] = {"type": "tool_call", "id": call_id, "name": name}
    if isinstance(arguments, str):
        part["arguments"] = _clip(arguments)
    return part


def _content_parts(content: Any) -> list[dict[str, Any]]:
    """Parts of an OpenAI ``content``: a string or a list of typed parts."""
    content = given(content)
    if isinstance(content, str):
        return [text_part(content)]
    parts = []
    for part in readable_items(content):
        kind = read(part, "type")
        text = read(part, "text")
        if isinstance(text, str):
            parts.append(text_part(text))
        elif isinstance(read(part, "refusal"), str):
            parts.append(text_part(read(part, "refusal")))
        elif isinstance(kind, str):
            parts.append({"type": kind})  # images, audio, files: the kind only, never the bytes
    return parts


def message(role: Any, parts: list[dict[str, Any]], finish_reason: Any = None) -> Message:
    out: Message = {"role": role if isinstance(role, str) else "assistant", "parts": parts}
    if isinstance(finish_reason, str):
        out["finish_reason"] = finish_reason
    return out


def _chat_message(raw: Any, finish_reason: Any = None) -> Message:
    role = read(raw, "role")
    if role == "tool":
        texts = [part["content"] for part in _content_parts(read(raw, "content")) if "content" in part]
        response = {"type": "tool_call_response", "id": read(raw, "tool_call_id"), "response": "".join(texts)}
        return message(role, [response])
    parts = _content_parts(read(raw, "content"))
    for call in readable_items(read(raw, "tool_calls")):
        function = read(call, "function")
        parts.append(_tool_call(read(call, "id"), read(function, "name"), read(function, "arguments")))
    return message(role, parts, finish_reason)


def choice_output(choice: Any) -> Message:
    """One choice of a chat completion (``message``) or a legacy completion (``text``)."""
    reason = read(choice, "finish_reason")
    chat_message = read(choice, "message")
    if chat_message is not None:
        return _chat_message(chat_message, reason)
    text = read(choice, "text")
    return message("assistant", [text_part(text)] if isinstance(text, str) else [], reason)


def chat_input(messages: Any) -> list[Message]:
    """Chat completions ``messages`` (dicts or SDK objects)."""
    return [_chat_message(raw) for raw in readable_items(messages)]


def completion_input(prompt: Any) -> list[Message]:
    """A legacy completions ``prompt``: a string or a list of strings."""
    prompt = given(prompt)
    prompts = [prompt] if isinstance(prompt, str) else readable_items(prompt)
    return [message("user", [text_part(text)]) for text in prompts if isinstance(text, str)]


def responses_input(value: Any) -> list[Message]:
    """A Responses API ``input``: a string or a list of input items."""
    value = given(value)
    if isinstance(value, str):
        return [message("user", [text_part(value)])]
    messages = []
    for item in readable_items(value):
        kind = read(item, "type")
        if kind == "function_call_output":
            output = read(item, "output")
            response = {"type": "tool_call_response", "id": read(item, "call_id")}
            response["response"] = _clip(output) if isinstance(output, str) else None
            messages.append(message("tool", [response]))
        elif kind == "function_call":
            call = _tool_call(read(item, "call_id"), read(item, "name"), read(item, "arguments"))
            messages.append(message("assistant", [call]))
        elif kind in (None, "message"):
            messages.append(message(read(item, "role"), _content_parts(read(item, "content"))))
    return messages


def responses_output(output: Iterable[Any], finish_reason: Any) -> list[Message]:
    """The ``output`` items of a Responses API result as one assistant message."""
    parts: list[dict[str, Any]] = []
    for item in output:
        kind = read(item, "type")
        if kind == "message":
            parts.extend(_content_parts(read(item, "content")))
        elif kind == "function_call":
            parts.append(_tool_call(read(item, "call_id"), read(item, "name"), read(item, "arguments")))
    return [message("assistant", parts, finish_reason)]


def messages_json(messages: list[Message]) -> str | None:
    """The attribute value: the latest :data:`MAX_MESSAGES` messages as compact JSON."""
    if not messages:
        return None
    return json.dumps(messages[-MAX_MESSAGES:], ensure_ascii=False, separators=(",", ":"), default=str)
