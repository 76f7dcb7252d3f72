"""A fake Mistral API: ``/v1/chat/completions`` (JSON, or SSE ``data:`` chunks with
``stream: true``) and ``/v1/embeddings``, as the real API sends them.

Stream shape from a recorded ``mistral-large-latest`` stream
(github.com/M-Lai-ai/LLM-Provider-reference, Mistral/streaming.md): ``data:`` lines only (no
``event:``), a first chunk with ``delta.role``, text deltas with ``finish_reason: null``, the
last chunk with ``finish_reason`` and ``usage`` (34 prompt, 100 completion, 134 total there),
then ``data: [DONE]``. The cached-prompt split (``usage.prompt_tokens_details.cached_tokens``)
is where genai-prices' Mistral extractor reads it. Embeddings: Mistral's API reference
(``usage`` with ``prompt_tokens``, ``total_tokens``).

The ``x-fake-scenario`` header picks a :data:`SCENARIOS` entry.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tests.support.fake_http import FakeHTTPServer, Reply, Request

__all__ = ["SCENARIOS", "Scenario", "answer", "fake_mistral_server"]


@dataclass(frozen=True)
class Scenario:
    prompt_tokens: int = 34
    completion_tokens: int = 100
    cached_tokens: int | None = None
    status: int = 200
    reset_after_frames: int | None = None


SCENARIOS: dict[str, Scenario] = {
    "default": Scenario(),
    "cached": Scenario(prompt_tokens=2048, completion_tokens=50, cached_tokens=1792),
    "error_400": Scenario(status=400),
    "error_429": Scenario(status=429),
    "error_500": Scenario(status=500),
    "reset_mid_stream": Scenario(reset_after_frames=2),
}

_ID = "f798ebd5c41a45d88bb079635121cade"
_CREATED = 1732548656
_WORDS = ("C", "oca", "-", "Col", "a", " is", " a", " drink")


def _usage(scenario: Scenario) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "prompt_tokens": scenario.prompt_tokens,
        "total_tokens": scenario.prompt_tokens + scenario.completion_tokens,
        "completion_tokens": scenario.completion_tokens,
    }
    if scenario.cached_tokens is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": scenario.cached_tokens}
    return usage


def _completion(model: str, scenario: Scenario) -> dict[str, Any]:
    message = {"role": "assistant", "content": "".join(_WORDS), "tool_calls": None, "prefix": False}
    return {
        "id": _ID,
        "object": "chat.completion",
        "created": _CREATED,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "length"}],
        "usage": _usage(scenario),
    }


def _chunks(model: str, scenario: Scenario) -> Iterator[dict[str, Any]]:
    head = {"id": _ID, "object": "chat.completion.chunk", "created": _CREATED, "model": model}
    yield {**head, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}
    for word in _WORDS[:-1]:
        yield {**head, "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]}
    last = [{"index": 0, "delta": {"content": _WORDS[-1]}, "finish_reason": "length"}]
    yield {**head, "choices": last, "usage": _usage(scenario)}


def _data(payload: Any) -> bytes:
    return f"data: {payload if isinstance(payload, str) else json.dumps(payload)}\n\n".encode()


def _embeddings(body: dict[str, Any], scenario: Scenario) -> dict[str, Any]:
    inputs = body.get("inputs")
    texts = [inputs] if isinstance(inputs, str) else list(inputs or [])
    return {
        "id": "8d6a8e8ee0fa460c9360526480f636ee",
        "object": "list",
        "data": [{"object": "embedding", "embedding": [-0.0165, 0.0718], "index": i} for i in range(len(texts))],
        "model": body.get("model"),
        "usage": {"prompt_tokens": scenario.prompt_tokens, "total_tokens": scenario.prompt_tokens,
                  "completion_tokens": 0},
    }  # fmt: skip


def answer(request: Request) -> Reply:
    scenario = SCENARIOS.get(request.headers.get("x-fake-scenario", "default"))
    path = request.path.split("?")[0]
    if scenario is None:
        return Reply(404, {"object": "error", "message": "no such scenario"})
    if scenario.status != 200:
        error = {"object": "error", "message": f"fake error {scenario.status}", "type": "invalid_request_error"}
        return Reply(scenario.status, error)
    body = request.json()
    model = str(body.get("model"))
    if path == "/v1/chat/completions" and body.get("stream") is True:
        frames = (*map(_data, _chunks(model, scenario)), _data("[DONE]"))
        return Reply(frames=frames, reset_after_frames=scenario.reset_after_frames)
    if path == "/v1/chat/completions":
        return Reply(body=_completion(model, scenario))
    if path == "/v1/embeddings":
        return Reply(body=_embeddings(body, scenario))
    return Reply(404, {"object": "error", "message": f"no fake for {path}"})


def fake_mistral_server() -> FakeHTTPServer:
    return FakeHTTPServer(answer)
