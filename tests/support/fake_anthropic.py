"""A fake Anthropic Messages API: JSON messages and the SSE event stream, as the real API sends them.

Serves the first-party path ``/v1/messages``, Vertex AI's
``/v1/projects/{p}/locations/{l}/publishers/anthropic/models/{model}:rawPredict`` (and
``:streamRawPredict``) and Bedrock's ``/model/{model}/invoke`` (JSON only: Bedrock streams use
AWS event-stream framing); there, like the real services, responses name the model the
vendor's way (``claude-haiku-4-5-20251001``), not as requested. A stream is
``message_start`` (input usage and an initial output count), ``content_block_start``, a
``ping``, ``content_block_delta`` events, ``content_block_stop``, ``message_delta`` (stop
reason and the cumulative output count) and ``message_stop``.

The ``x-fake-scenario`` header picks a :data:`SCENARIOS` entry, ``x-fake-chunks`` the number of
text deltas.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from tests.support.fake_http import FakeHTTPServer, Reply, Request, sse_frame

__all__ = ["SCENARIOS", "Scenario", "answer", "fake_anthropic_server"]


@dataclass(frozen=True)
class Scenario:
    """Raw usage as the API reports it (``input_tokens`` excludes cache reads and writes)."""

    input_tokens: int = 25
    output_tokens: int = 15
    cache_read: int | None = None
    cache_creation: int | None = None
    cache_5m: int | None = None
    cache_1h: int | None = None
    thinking_tokens: int | None = None
    delta_usage: dict[str, Any] = field(default_factory=dict)
    """Extra cumulative fields a newer API repeats in ``message_delta`` (they win), and the ones
    only ``message_delta`` and the whole message carry (``server_tool_use``)."""
    status: int = 200
    error_type: str | None = None
    stream_error: bool = False
    """Send an ``error`` event after the first text delta."""
    reset_after_frames: int | None = None
    stop_reason: str = "end_turn"


SCENARIOS: dict[str, Scenario] = {
    "default": Scenario(),
    "cached": Scenario(input_tokens=12, output_tokens=300, cache_read=2000, cache_creation=0),
    "cache_write": Scenario(
        input_tokens=20, output_tokens=120, cache_read=500, cache_creation=3000, cache_5m=1000, cache_1h=2000
    ),
    "cached_write": Scenario(input_tokens=20, output_tokens=120, cache_read=500, cache_creation=3000),
    "thinking": Scenario(input_tokens=40, output_tokens=500, thinking_tokens=320),
    "delta_input": Scenario(
        input_tokens=30,
        output_tokens=50,
        cache_read=0,
        cache_creation=0,
        delta_usage={"input_tokens": 35, "cache_read_input_tokens": 1000},
    ),
    # A recorded claude-sonnet-4 stream with the web_search tool (pydantic-ai's cassette
    # test_anthropic_model_web_search_tool_stream): message_start reports 2,068 input tokens
    # and no server_tool_use; message_delta repeats the cumulative input (22,397, search results
    # included) and the cache counts, and adds {"web_search_requests": 2, "web_fetch_requests": 0}.
    "web_search": Scenario(
        input_tokens=2068,
        output_tokens=637,
        cache_read=0,
        cache_creation=0,
        delta_usage={
            "input_tokens": 22397,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "server_tool_use": {"web_search_requests": 2, "web_fetch_requests": 0},
        },
    ),
    # Anthropic's pricing page's web fetch example (25,039 input, 931 output tokens, one fetch),
    # with the zero search count the API sends beside it.
    "web_fetch": Scenario(
        input_tokens=25039,
        output_tokens=931,
        cache_read=0,
        cache_creation=0,
        delta_usage={"server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 1}},
    ),
    "max_tokens": Scenario(stop_reason="max_tokens"),
    "error_400": Scenario(status=400, error_type="invalid_request_error"),
    "error_401": Scenario(status=401, error_type="authentication_error"),
    "error_429": Scenario(status=429, error_type="rate_limit_error"),
    "error_500": Scenario(status=500, error_type="api_error"),
    "error_529": Scenario(status=529, error_type="overloaded_error"),
    "stream_error": Scenario(stream_error=True),
    "reset_mid_stream": Scenario(reset_after_frames=4),
}

_WORDS = ("Hello", " from", " a", " fake", " Claude", " model", " over", " real", " HTTP", ".")
_VERTEX = re.compile(r"/publishers/anthropic/models/(?P<model>[^:/]+):(?P<method>rawPredict|streamRawPredict)$")
_BEDROCK = re.compile(r"^/model/(?P<model>[^/]+)/(?P<method>invoke|invoke-with-response-stream)$")


def _usage(scenario: Scenario, *, output_tokens: int) -> dict[str, Any]:
    usage: dict[str, Any] = {"input_tokens": scenario.input_tokens, "output_tokens": output_tokens}
    if scenario.cache_creation is not None:
        usage["cache_creation_input_tokens"] = scenario.cache_creation
    if scenario.cache_read is not None:
        usage["cache_read_input_tokens"] = scenario.cache_read
    if scenario.cache_5m is not None or scenario.cache_1h is not None:
        usage["cache_creation"] = {
            "ephemeral_5m_input_tokens": scenario.cache_5m or 0,
            "ephemeral_1h_input_tokens": scenario.cache_1h or 0,
        }
    usage["service_tier"] = "standard"
    return usage


def _message(model: str, scenario: Scenario, chunks: int, *, streaming: bool) -> dict[str, Any]:
    usage = _usage(scenario, output_tokens=1 if streaming else scenario.output_tokens)
    if scenario.thinking_tokens is not None and not streaming:
        usage["output_tokens_details"] = {"thinking_tokens": scenario.thinking_tokens}
    if not streaming:
        usage.update(scenario.delta_usage)
    text = "".join(_WORDS[i % len(_WORDS)] for i in range(chunks))
    return {
        "id": "msg_01FakeXy7bq3kNtH1dW2vQpa",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [] if streaming else [{"type": "text", "text": text}],
        "stop_reason": None if streaming else scenario.stop_reason,
        "stop_sequence": None,
        "usage": usage,
    }


def _events(model: str, scenario: Scenario, chunks: int) -> Iterator[tuple[str, dict[str, Any]]]:
    yield "message_start", {"type": "message_start", "message": _message(model, scenario, chunks, streaming=True)}
    yield (
        "content_block_start",
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    )
    yield "ping", {"type": "ping"}
    for i in range(chunks):
        delta = {"type": "text_delta", "text": _WORDS[i % len(_WORDS)]}
        yield "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}
        if scenario.stream_error:
            error = {"type": "overloaded_error", "message": "Overloaded"}
            yield "error", {"type": "error", "error": error}
            return
    yield "content_block_stop", {"type": "content_block_stop", "index": 0}
    usage: dict[str, Any] = {"output_tokens": scenario.output_tokens, **scenario.delta_usage}
    if scenario.thinking_tokens is not None:
        usage["output_tokens_details"] = {"thinking_tokens": scenario.thinking_tokens}
    delta = {"stop_reason": scenario.stop_reason, "stop_sequence": None}
    yield "message_delta", {"type": "message_delta", "delta": delta, "usage": usage}
    yield "message_stop", {"type": "message_stop"}


def _vendor_name(model: str) -> str:
    """The model as Bedrock and Vertex AI name it in responses: ``claude-haiku-4-5-20251001``."""
    model = re.sub(r"^(?:[a-z]+\.)?anthropic\.", "", model)
    return re.sub(r"-v\d+:\d+$", "", model).replace("@", "-")


def _route(request: Request, body: dict[str, Any]) -> tuple[str, bool] | None:
    """(response model, stream) for a Messages request on any of the three paths."""
    path = request.path.split("?")[0]
    if path.endswith("/v1/messages"):
        return str(body.get("model")), body.get("stream") is True
    if match := _VERTEX.search(path):
        return _vendor_name(match["model"]), match["method"] == "streamRawPredict"
    if match := _BEDROCK.search(unquote(path)):
        return _vendor_name(match["model"]), match["method"] != "invoke"
    return None


def answer(request: Request) -> Reply:
    """The fake API's reply to one request (also used by the benchmarks' mock transport)."""
    headers = {"request-id": "req_01FakeAnthropic", "x-should-retry": "false"}
    scenario = SCENARIOS.get(request.headers.get("x-fake-scenario", "default"))
    body = request.json()
    route = _route(request, body)
    if scenario is None or route is None:
        error = {"type": "not_found_error", "message": f"no fake for {request.path}"}
        return Reply(404, {"type": "error", "error": error}, headers=headers)
    if scenario.error_type is not None:
        error = {"type": scenario.error_type, "message": f"fake {scenario.error_type}"}
        return Reply(scenario.status, {"type": "error", "error": error}, headers=headers)
    model, stream = route
    chunks = int(request.headers.get("x-fake-chunks", "5"))
    if not stream:
        return Reply(body=_message(model, scenario, chunks, streaming=False), headers=headers)
    frames = tuple(sse_frame(data, event) for event, data in _events(model, scenario, chunks))
    return Reply(frames=frames, headers=headers, reset_after_frames=scenario.reset_after_frames)


def fake_anthropic_server() -> FakeHTTPServer:
    """A not yet started server; ``with fake_anthropic_server() as server:``."""
    return FakeHTTPServer(answer)
