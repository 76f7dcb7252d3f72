"""A fake Ollama server: ``/api/chat``, ``/api/generate`` (one JSON object, or NDJSON lines when
``stream`` is true, the SDK's default off) and ``/api/embed``, as Ollama sends them.

Shapes from Ollama's API reference (github.com/ollama/ollama, docs/api.md): streamed lines carry
``done: false`` and a piece of ``message.content`` (chat) or ``response`` (generate); the last
line has ``done: true``, ``done_reason`` and the counts ``prompt_eval_count`` (input) and
``eval_count`` (output) beside the durations in nanoseconds. ``/api/embed`` reports
``prompt_eval_count`` only. Errors are ``{"error": "..."}`` with the HTTP status.

The ``x-fake-scenario`` header picks a :data:`SCENARIOS` entry.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tests.support.fake_http import FakeHTTPServer, Reply, Request

__all__ = ["SCENARIOS", "Scenario", "answer", "fake_ollama_server"]


@dataclass(frozen=True)
class Scenario:
    prompt_eval_count: int = 26
    eval_count: int = 298
    status: int = 200
    error: str = ""
    reset_after_frames: int | None = None


SCENARIOS: dict[str, Scenario] = {
    "default": Scenario(),
    "not_found": Scenario(status=404, error="model 'llama3.2' not found, try pulling it first"),
    "error_500": Scenario(status=500, error="llama runner process has terminated"),
    "reset_mid_stream": Scenario(reset_after_frames=2),
}

_CREATED = "2023-12-12T14:13:43.416799Z"
_WORDS = ("Hello", "!", " How", " are", " you", " today", "?")
_STATS = {"total_duration": 5191566416, "load_duration": 2154458, "prompt_eval_duration": 383809000,
          "eval_duration": 4799921000}  # fmt: skip


def _piece(path: str, text: str) -> dict[str, Any]:
    return {"message": {"role": "assistant", "content": text}} if path == "/api/chat" else {"response": text}


def _final(path: str, model: str, scenario: Scenario, text: str) -> dict[str, Any]:
    return {"model": model, "created_at": _CREATED, **_piece(path, text), "done": True, "done_reason": "stop",
            **_STATS, "prompt_eval_count": scenario.prompt_eval_count, "eval_count": scenario.eval_count}  # fmt: skip


def _lines(path: str, model: str, scenario: Scenario) -> Iterator[dict[str, Any]]:
    for word in _WORDS:
        yield {"model": model, "created_at": _CREATED, **_piece(path, word), "done": False}
    yield _final(path, model, scenario, "")


def _embed(body: dict[str, Any], scenario: Scenario) -> dict[str, Any]:
    texts = body.get("input")
    count = 1 if isinstance(texts, str) else len(texts or [])
    return {
        "model": body.get("model"),
        "embeddings": [[0.010071029, -0.0017594862, 0.05007221]] * count,
        "total_duration": 14143917,
        "load_duration": 1019500,
        "prompt_eval_count": scenario.prompt_eval_count,
    }


def answer(request: Request) -> Reply:
    scenario = SCENARIOS.get(request.headers.get("x-fake-scenario", "default"))
    path = request.path.split("?")[0]
    if scenario is None:
        return Reply(404, {"error": "no such scenario"})
    if scenario.status != 200:
        return Reply(scenario.status, {"error": scenario.error})
    body = request.json()
    model = str(body.get("model"))
    if path in ("/api/chat", "/api/generate") and body.get("stream") is True:
        frames = tuple(json.dumps(line).encode() + b"\n" for line in _lines(path, model, scenario))
        headers = {"content-type": "application/x-ndjson"}
        return Reply(frames=frames, headers=headers, reset_after_frames=scenario.reset_after_frames)
    if path in ("/api/chat", "/api/generate"):
        return Reply(body=_final(path, model, scenario, "".join(_WORDS)))
    if path == "/api/embed":
        return Reply(body=_embed(body, scenario))
    return Reply(404, {"error": f"no fake for {path}"})


def fake_ollama_server() -> FakeHTTPServer:
    return FakeHTTPServer(answer)
