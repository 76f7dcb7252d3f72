"""A fake Cohere v2 API: ``/v2/chat`` (JSON, or SSE events with ``stream: true``), ``/v2/embed``
and ``/v2/rerank``, as the real API sends them.

Shapes from Cohere's API reference (docs.cohere.com/reference/chat, /embed, /rerank) and a
recorded ``/v2/chat`` stream (github.com/M-Lai-ai/LLM-Provider-reference, Cohere/streaming.md):
``message-start`` (the id), ``content-start``, ``content-delta`` events, ``content-end``, then
``message-end`` whose delta has the finish reason and ``usage`` with both ``billed_units``
(21 input, 105 output there) and ``tokens`` (186 input: the prompt template is not billed).
Embed and rerank report ``meta.billed_units`` (``input_tokens``; rerank ``search_units``).

The ``x-fake-scenario`` header picks a :data:`SCENARIOS` entry.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tests.support.fake_http import FakeHTTPServer, Reply, Request, sse_frame

__all__ = ["SCENARIOS", "Scenario", "answer", "fake_cohere_server"]


@dataclass(frozen=True)
class Scenario:
    billed_input: int = 21
    billed_output: int = 105
    tokens_input: int = 186
    tokens_output: int = 105
    search_units: int = 1
    status: int = 200
    reset_after_frames: int | None = None


SCENARIOS: dict[str, Scenario] = {
    "default": Scenario(),
    "error_400": Scenario(status=400),
    "error_429": Scenario(status=429),
    "error_500": Scenario(status=500),
    "reset_mid_stream": Scenario(reset_after_frames=3),
}

_ID = "a8fc192e-4bb8-4e15-ae1f-a174e8b02ae8"
_WORDS = ("Coca", "-Cola", " is", " a", " drink", ".")


def _usage(scenario: Scenario) -> dict[str, Any]:
    return {
        "billed_units": {"input_tokens": scenario.billed_input, "output_tokens": scenario.billed_output},
        "tokens": {"input_tokens": scenario.tokens_input, "output_tokens": scenario.tokens_output},
    }


def _chat(scenario: Scenario) -> dict[str, Any]:
    content = [{"type": "text", "text": "".join(_WORDS)}]
    return {
        "id": _ID,
        "finish_reason": "COMPLETE",
        "message": {"role": "assistant", "content": content},
        "usage": _usage(scenario),
    }


def _events(scenario: Scenario) -> Iterator[dict[str, Any]]:
    empty = {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}
    yield {"id": _ID, "type": "message-start", "delta": {"message": empty}}
    yield {"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "text", "text": ""}}}}
    for word in _WORDS:
        yield {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": word}}}}
    yield {"type": "content-end", "index": 0}
    yield {"type": "message-end", "delta": {"finish_reason": "COMPLETE", "usage": _usage(scenario)}}


def _embed(body: dict[str, Any], scenario: Scenario) -> dict[str, Any]:
    texts = body.get("texts") or []
    return {
        "id": "da6e531f-83b8-4a1f-8e6b-3b5b8c8fd4a3",
        "embeddings": {"float": [[0.016296387, -0.008354187, -0.04699707] for _ in texts]},
        "texts": texts,
        "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": scenario.billed_input}},
        "response_type": "embeddings_by_type",
    }


def _rerank(body: dict[str, Any], scenario: Scenario) -> dict[str, Any]:
    results = [{"index": i, "relevance_score": 0.9 - i / 10} for i, _ in enumerate(body.get("documents") or [])]
    return {
        "id": "07734bd2-2473-4f07-94e1-0d9f0e6843cf",
        "results": results,
        "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": scenario.search_units}},
    }


def answer(request: Request) -> Reply:
    scenario = SCENARIOS.get(request.headers.get("x-fake-scenario", "default"))
    path = request.path.split("?")[0]
    if scenario is None:
        return Reply(404, {"message": "no such scenario"})
    if scenario.status != 200:
        return Reply(scenario.status, {"id": "err", "message": f"fake error {scenario.status}"})
    body = request.json()
    if path == "/v2/chat" and body.get("stream") is True:
        frames = tuple(sse_frame(event, event["type"]) for event in _events(scenario))
        return Reply(frames=frames, reset_after_frames=scenario.reset_after_frames)
    if path == "/v2/chat":
        return Reply(body=_chat(scenario))
    if path == "/v2/embed":
        return Reply(body=_embed(body, scenario))
    if path == "/v2/rerank":
        return Reply(body=_rerank(body, scenario))
    return Reply(404, {"message": f"no fake for {path}"})


def fake_cohere_server() -> FakeHTTPServer:
    return FakeHTTPServer(answer)
