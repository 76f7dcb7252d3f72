"""Deterministic OpenAI chat bodies and the fault scripts that serve them.

Bodies have fixed ids and timestamps so an uninstrumented and an instrumented run of the
same call can be compared for equality.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Any

from tests.reliability.support.fault_server import Connection, HttpRequest, Script

__all__ = [
    "USAGE",
    "chat_chunks",
    "chat_completion",
    "endless_stream",
    "json_dumps",
    "json_reply",
    "raw_reply",
    "reset_before_response",
    "sse_reply",
    "stall",
    "unauthorized_echoing_key",
]

USAGE: dict[str, Any] = {
    "prompt_tokens": 120,
    "completion_tokens": 30,
    "total_tokens": 150,
    "prompt_tokens_details": {"cached_tokens": 100},
    "completion_tokens_details": {"reasoning_tokens": 10},
}
_CREATED = 1_763_000_000


def chat_completion(model: Any = "gpt-4o-mini", usage: Any = USAGE, **extra: Any) -> dict[str, Any]:
    """A ``chat.completion`` body; ``usage=None`` leaves the key out."""
    body: dict[str, Any] = {
        "id": "chatcmpl-reliability",
        "object": "chat.completion",
        "created": _CREATED,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello there."},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        **extra,
    }
    if usage is not None:
        body["usage"] = usage
    return body


def chat_chunks(model: Any = "gpt-4o-mini", words: int = 4, usage: Any = USAGE) -> list[dict[str, Any]]:
    """Stream chunks: role, ``words`` deltas, finish, then a usage-only chunk unless ``usage`` is None."""
    base = {"id": "chatcmpl-reliability", "object": "chat.completion.chunk", "created": _CREATED, "model": model}

    def choice(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}

    chunks = [choice({"role": "assistant", "content": ""})]
    chunks += [choice({"content": f" word{i}"}) for i in range(words)]
    chunks.append(choice({}, "stop"))
    if usage is not None:
        chunks.append({**base, "choices": [], "usage": usage})
    return chunks


def json_dumps(body: Any) -> bytes:
    return json.dumps(body).encode()


def json_reply(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Script:
    def script(connection: Connection, request: HttpRequest) -> None:
        connection.respond_json(status, body, headers=headers)

    return script


def raw_reply(payload: bytes, status: int = 200) -> Script:
    """A complete response whose body is exactly ``payload`` (e.g. invalid JSON)."""

    def script(connection: Connection, request: HttpRequest) -> None:
        connection.respond(status, payload)

    return script


def unauthorized_echoing_key(error: Callable[[str], Any]) -> Script:
    """A 401 whose body quotes the key the client sent, as real APIs do; ``error(key)`` builds it."""

    def script(connection: Connection, request: HttpRequest) -> None:
        headers = request.headers
        key = headers.get("x-api-key") or headers.get("api-key") or headers.get("authorization", "")
        connection.respond_json(401, error(key.removeprefix("Bearer ")))

    return script


def sse_reply(events: Iterable[Any], *, ending: str = "done") -> Script:
    """An SSE stream of ``events`` then: ``done`` (``[DONE]`` + clean end), ``eof`` (clean end,
    no ``[DONE]``), ``truncate`` (half an event, then a clean end), ``cut`` (half an event, then
    the connection closes without ending the chunked body) or ``reset`` (TCP RST)."""
    events = list(events)

    def script(connection: Connection, request: HttpRequest) -> None:
        connection.start_chunked()
        connection.sse(events)
        if ending == "reset":
            connection.reset()
            return
        if ending == "done":
            connection.chunk(b"data: [DONE]\n\n")
        elif ending in ("truncate", "cut"):
            connection.chunk(b'data: {"id": "chatcmpl-reliability", "choi')
        if ending != "cut":
            connection.chunk(b"")

    return script


def reset_before_response() -> Script:
    def script(connection: Connection, request: HttpRequest) -> None:
        connection.reset()

    return script


def stall() -> Script:
    """Read the request and never answer (until the client gives up or the server stops)."""

    def script(connection: Connection, request: HttpRequest) -> None:
        connection.wait_for_client_to_leave()

    return script


def endless_stream(model: str = "gpt-4o-mini") -> Script:
    """A stream that never ends: a delta every millisecond until the client hangs up."""

    def script(connection: Connection, request: HttpRequest) -> None:
        connection.start_chunked()
        first, delta = chat_chunks(model, words=1, usage=None)[:2]
        connection.sse([first])
        while not connection.stopping.is_set() and connection.sse([delta]):
            time.sleep(0.001)

    return script
