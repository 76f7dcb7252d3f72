"""A local OpenAI-compatible HTTP server that speaks the real wire format (JSON and SSE).

Used by ``genai-cost demo`` (so the demo needs no API key and no network), by the test
suite and by the benchmarks. It binds to 127.0.0.1 only.

Each request picks a *scenario* with the ``x-fake-scenario`` header (default: the server's
``default_scenario``), e.g. ``cached``, ``reasoning``, ``no_usage``, ``provider_cost``,
``error_429``, ``reset_mid_stream``; and a chunk count for streams with ``x-fake-chunks``.

Responses are stored: ``GET /v1/responses/{id}`` retrieves one (``?stream=true&starting_after=N``
replays its events after N). A ``background: true`` create answers ``queued`` without usage,
and the scenario's ``pending_retrieves`` retrieves answer ``in_progress`` before the finished
response, as OpenAI's background mode does.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

__all__ = ["SCENARIOS", "FakeOpenAIServer", "Scenario", "response_bodies"]


@dataclass(frozen=True)
class Scenario:
    """What the fake server answers."""

    prompt_tokens: int = 11
    completion_tokens: int = 16
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    usage: bool = True
    """Include ``usage`` (for streams: only when the request asks with ``include_usage``)."""
    provider_cost: float | None = None
    """OpenRouter-style ``usage.cost``."""
    status: int = 200
    error_code: str | None = None
    fail_first: int = 0
    """Answer ``status`` this many times per client run (keyed by ``x-fake-run``), then succeed."""
    delay: float = 0.0
    reset_after_chunks: int | None = None
    """Close the connection abruptly after this many stream chunks."""
    malformed: bool = False
    """Send a body (or SSE event) that is not valid JSON."""
    finish_reason: str = "stop"
    service_tier: str = "default"
    """The ``service_tier`` the answer says it was served at."""
    content: str | None = None
    """The answer's text (default: words of a pangram, one per chunk)."""
    prompt_details: dict[str, int] | None = None
    """More chat ``prompt_tokens_details`` (by modality: ``audio_tokens``, ``text_tokens``, ...)."""
    completion_details: dict[str, int] | None = None
    """More chat ``completion_tokens_details``."""
    tool_calls: tuple[dict[str, Any], ...] = ()
    """Responses API output items of hosted tool calls, before the answer (streamed as items)."""
    tool_usage: dict[str, Any] | None = None
    """A Responses ``tool_usage`` object."""
    final_output: bool = True
    """False: a Responses stream's ``response.completed`` carries ``output: []`` after streaming
    the items (as some servers send it)."""
    pending_retrieves: int = 0
    """Retrieves of a non-streamed background create that answer ``in_progress`` before the
    finished response (a streamed one has finished when its stream has)."""


# Items of real Responses API answers (pydantic-ai's recorded cassettes,
# tests/models/cassettes/test_openai_responses/): a gpt-5 call whose web_search tool searched
# twice and opened two pages (test_openai_responses_model_web_search_tool_with_allowed_domains,
# its reasoning items left out), and a gpt-4o call with one file_search call
# (test_openai_responses_model_file_search_tool_with_results).
_WEB_SEARCH_CALLS = (
    {"type": "web_search_call", "id": "ws_08e7da464e3f8cf70069780c0760ac819ba9469051f9e5f511", "status": "completed",
     "action": {"type": "search", "query": "Tokyo population prefecture current site:wikipedia.org",
                "queries": ["Tokyo population prefecture current site:wikipedia.org",
                            "Tokyo Metropolis population site:wikipedia.org",
                            "Demographics of Tokyo population site:wikipedia.org"]}},
    {"type": "web_search_call", "id": "ws_08e7da464e3f8cf70069780c0d1c34819ba50e2b797aa61283", "status": "completed",
     "action": {"type": "search", "query": "Tokyo Metropolis population 2025 site:wikipedia.org",
                "queries": ["Tokyo Metropolis population 2025 site:wikipedia.org",
                            "Tokyo Prefecture population site:wikipedia.org"]}},
    {"type": "web_search_call", "id": "ws_08e7da464e3f8cf70069780c102fac819bae37eff938310983", "status": "completed",
     "action": {"type": "open_page",
                "url": "https://en.wikipedia.org/wiki/List_of_Japanese_prefectures_by_population"}},
    {"type": "web_search_call", "id": "ws_08e7da464e3f8cf70069780c1f76ac819ba8a7b5c5262ecb0b", "status": "completed",
     "action": {"type": "open_page", "url": "https://en.wikipedia.org/wiki/Demographics_of_Tokyo"}},
)  # fmt: skip
_FILE_SEARCH_CALLS = (
    {"type": "file_search_call", "id": "fs_08aa886305ae5628006939ad6cfa30819a85b07d52d61eb121", "status": "completed",
     "queries": ["What is the capital of France?"],
     "results": [{"attributes": {}, "file_id": "file-2b6dRdmXnzSrqiEbhVJZRU", "filename": "tmpd_9a5dki.txt",
                  "score": 0.9716, "text": "Paris is the capital of France. It is known for the Eiffel Tower.",
                  "vector_store_id": "vs_6939ad669c648191821c3a46f90cf33d"}]},
)  # fmt: skip
_WEB_SEARCH = Scenario(prompt_tokens=22013, completion_tokens=1737, reasoning_tokens=1728, tool_calls=_WEB_SEARCH_CALLS)
# The ``tool_usage`` the openai SDK (3.60, ``Response.tool_usage``) declares: "web_search.num_requests
# counts billable searches. Discounted searches and actions such as opening a page are excluded";
# here one of the answer's two searches was discounted.
_TOOL_USAGE = {
    "image_gen": {"input_tokens": 0, "input_tokens_details": {"image_tokens": 0, "text_tokens": 0},
                  "output_tokens": 0, "total_tokens": 0},
    "web_search": {"num_requests": 1},
}  # fmt: skip

SCENARIOS: dict[str, Scenario] = {
    "default": Scenario(),
    "cached": Scenario(prompt_tokens=2006, completion_tokens=300, cached_tokens=1920),
    "cached_priority": Scenario(prompt_tokens=2006, completion_tokens=300, cached_tokens=1920, service_tier="priority"),
    "reasoning": Scenario(prompt_tokens=50, completion_tokens=500, reasoning_tokens=320),
    "cached_reasoning": Scenario(prompt_tokens=2006, completion_tokens=500, cached_tokens=1920, reasoning_tokens=320),
    "json_cached": Scenario(prompt_tokens=2006, completion_tokens=12, cached_tokens=1920, content='{"text": "Hello!"}'),
    "no_usage": Scenario(usage=False),
    "provider_cost": Scenario(provider_cost=0.00042),
    "length": Scenario(finish_reason="length"),
    "error_400": Scenario(status=400, error_code="invalid_request_error"),
    "error_401": Scenario(status=401, error_code="invalid_api_key"),
    "error_404": Scenario(status=404, error_code="model_not_found"),
    "error_429": Scenario(status=429, error_code="rate_limit_exceeded"),
    "error_500": Scenario(status=500, error_code="server_error"),
    "error_503": Scenario(status=503, error_code="service_unavailable"),
    "retry_429": Scenario(status=429, error_code="rate_limit_exceeded", fail_first=1),
    "slow": Scenario(delay=2.0),
    "reset_mid_stream": Scenario(reset_after_chunks=3),
    "malformed": Scenario(malformed=True),
    "web_search": _WEB_SEARCH,
    "web_search_final_output_empty": replace(_WEB_SEARCH, final_output=False),
    "web_search_billed": replace(_WEB_SEARCH, tool_usage=_TOOL_USAGE),
    "file_search": Scenario(prompt_tokens=1178, completion_tokens=45, tool_calls=_FILE_SEARCH_CALLS),
    # A long reasoning call in background mode, polled twice while in progress.
    "background": Scenario(prompt_tokens=1850, completion_tokens=6400, reasoning_tokens=5888, pending_retrieves=2),
    # A real chat completion with audio input (pydantic-ai's recorded cassette
    # tests/models/cassettes/test_openai/test_audio_as_binary_content_input.yaml, gpt-4o-audio-preview):
    # the prompt's 64 tokens split by modality, the text answer's 9 tokens too.
    "audio_input": Scenario(
        prompt_tokens=64,
        completion_tokens=9,
        prompt_details={"audio_tokens": 44, "image_tokens": 0, "text_tokens": 20},
        completion_details={"text_tokens": 9},
    ),
}

_WORDS = ("The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", ".")


def _usage(scenario: Scenario, *, responses_api: bool = False) -> dict[str, Any]:
    if responses_api:
        usage: dict[str, Any] = {
            "input_tokens": scenario.prompt_tokens,
            "input_tokens_details": {"cached_tokens": scenario.cached_tokens},
            "output_tokens": scenario.completion_tokens,
            "output_tokens_details": {"reasoning_tokens": scenario.reasoning_tokens},
            "total_tokens": scenario.prompt_tokens + scenario.completion_tokens,
        }
    else:
        usage = {
            "prompt_tokens": scenario.prompt_tokens,
            "completion_tokens": scenario.completion_tokens,
            "total_tokens": scenario.prompt_tokens + scenario.completion_tokens,
            "prompt_tokens_details": {
                "cached_tokens": scenario.cached_tokens,
                "audio_tokens": 0,
                **(scenario.prompt_details or {}),
            },
            "completion_tokens_details": {
                "reasoning_tokens": scenario.reasoning_tokens,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
                **(scenario.completion_details or {}),
            },
        }
    if scenario.provider_cost is not None:
        usage["cost"] = scenario.provider_cost
    return usage


def _text(chunks: int, scenario: Scenario | None = None) -> list[str]:
    if scenario is not None and scenario.content is not None:
        size = -(-len(scenario.content) // max(chunks, 1))
        return [scenario.content[i : i + size] for i in range(0, len(scenario.content), size)]
    return [_WORDS[i % len(_WORDS)] for i in range(chunks)]


def _chat_completion(model: str, scenario: Scenario, chunks: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "".join(_text(chunks, scenario)),
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": scenario.finish_reason,
            }
        ],
        "service_tier": scenario.service_tier,
        "system_fingerprint": "fp_fake0001",
    }
    if scenario.usage:
        body["usage"] = _usage(scenario)
    return body


def _chat_chunks(model: str, scenario: Scenario, chunks: int, include_usage: bool) -> Iterator[dict[str, Any]]:
    base = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "service_tier": scenario.service_tier,
        "system_fingerprint": "fp_fake0001",
    }
    extra = {"usage": None} if include_usage else {}
    yield {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "", "refusal": None},
                                "logprobs": None, "finish_reason": None}], **extra}  # fmt: skip
    for word in _text(chunks - 2, scenario):
        yield {**base, "choices": [{"index": 0, "delta": {"content": word}, "logprobs": None, "finish_reason": None}],
               **extra}  # fmt: skip
    yield {**base, "choices": [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": scenario.finish_reason}],
           **extra}  # fmt: skip
    if include_usage and scenario.usage:
        yield {**base, "choices": [], "usage": _usage(scenario)}


def _text_completion(model: str, scenario: Scenario, chunks: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": f"cmpl-{uuid.uuid4().hex[:24]}",
        "object": "text_completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "text": "".join(_text(chunks, scenario)),
                "index": 0,
                "logprobs": None,
                "finish_reason": scenario.finish_reason,
            }
        ],
    }
    if scenario.usage:
        body["usage"] = {
            "prompt_tokens": scenario.prompt_tokens,
            "completion_tokens": scenario.completion_tokens,
            "total_tokens": scenario.prompt_tokens + scenario.completion_tokens,
        }
    return body


def _text_chunks(model: str, scenario: Scenario, chunks: int, include_usage: bool) -> Iterator[dict[str, Any]]:
    base = {"id": f"cmpl-{uuid.uuid4().hex[:24]}", "object": "text_completion", "created": int(time.time()),
            "model": model}  # fmt: skip
    words = _text(chunks, scenario)
    for i, word in enumerate(words):
        reason = scenario.finish_reason if i == len(words) - 1 else None
        yield {**base, "choices": [{"text": word, "index": 0, "logprobs": None, "finish_reason": reason}]}
    if include_usage and scenario.usage:
        usage = _text_completion(model, scenario, 0).get("usage")
        yield {**base, "choices": [], "usage": usage}


def _response(
    model: str, scenario: Scenario, chunks: int, status: str = "completed", background: bool = False
) -> dict[str, Any]:
    response_id = f"resp_{uuid.uuid4().hex}"
    body: dict[str, Any] = {
        "id": response_id,
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "background": background,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "model": model,
        "output": [
            *scenario.tool_calls,
            {
                "type": "message",
                "id": f"msg_{uuid.uuid4().hex}",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "".join(_text(chunks, scenario)), "annotations": []}],
            },
        ],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "service_tier": scenario.service_tier,
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": _usage(scenario, responses_api=True) if scenario.usage else None,
        "user": None,
        "metadata": {},
    }
    if scenario.tool_usage is not None:
        body["tool_usage"] = scenario.tool_usage
    return body


def _tool_call_events(items: tuple[dict[str, Any], ...]) -> Iterator[dict[str, Any]]:
    """A hosted tool call's stream events (shape of a recorded web_search_call stream)."""
    for index, item in enumerate(items):
        at = {"output_index": index, "item_id": item["id"]}
        kind = item["type"].removesuffix("_call")
        yield {"type": "response.output_item.added", "output_index": index, "item": {**item, "status": "in_progress"}}
        for step in ("in_progress", "searching", "completed"):
            yield {"type": f"response.{kind}_call.{step}", **at}
        yield {"type": "response.output_item.done", "output_index": index, "item": item}


def _response_events(model: str, scenario: Scenario, chunks: int, final: dict[str, Any]) -> Iterator[dict[str, Any]]:
    pending = {**final, "status": "in_progress", "output": [], "usage": None}
    index = len(scenario.tool_calls)
    message = final["output"][index]
    part = message["content"][0]
    item_id = message["id"]
    at = {"item_id": item_id, "output_index": index, "content_index": 0}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": pending},
        {"type": "response.in_progress", "response": pending},
        *_tool_call_events(scenario.tool_calls),
        {"type": "response.output_item.added", "output_index": index,
         "item": {**message, "status": "in_progress", "content": []}},
        {"type": "response.content_part.added", **at, "part": {**part, "text": ""}},
        *({"type": "response.output_text.delta", **at, "delta": word, "logprobs": []}
          for word in _text(chunks - 2, scenario)),
        {"type": "response.output_text.done", **at, "text": part["text"], "logprobs": []},
        {"type": "response.content_part.done", **at, "part": part},
        {"type": "response.output_item.done", "output_index": index, "item": message},
        {"type": "response.completed", "response": final if scenario.final_output else {**final, "output": []}},
    ]  # fmt: skip
    for number, event in enumerate(events):
        yield {**event, "sequence_number": number}


def _embeddings(model: str, scenario: Scenario, inputs: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "object": "list",
        "data": [
            {"object": "embedding", "index": i, "embedding": [0.0023, -0.0093, 0.0157, 0.0042]} for i in range(inputs)
        ],
        "model": model,
    }
    if scenario.usage:
        body["usage"] = {"prompt_tokens": scenario.prompt_tokens, "total_tokens": scenario.prompt_tokens}
    return body


def response_bodies(path: str, request: dict[str, Any], scenario: Scenario, chunks: int) -> tuple[bool, Any]:
    """(is_stream, body or iterator of SSE payloads) for one successful request; shared with benchmarks."""
    model = str(request.get("model", "gpt-4o-mini"))
    stream = request.get("stream") is True
    include_usage = bool((request.get("stream_options") or {}).get("include_usage"))
    if path.endswith("/chat/completions"):
        if stream:
            return True, _chat_chunks(model, scenario, chunks, include_usage)
        return False, _chat_completion(model, scenario, chunks)
    if path.endswith("/responses"):
        final = _response(model, scenario, chunks, background=request.get("background") is True)
        if stream:
            return True, _response_events(model, scenario, chunks, final)
        return False, final
    if path.endswith("/embeddings"):
        raw = request.get("input")
        return False, _embeddings(model, scenario, len(raw) if isinstance(raw, list) else 1)
    if path.endswith("/completions"):
        if stream:
            return True, _text_chunks(model, scenario, chunks, include_usage)
        return False, _text_completion(model, scenario, chunks)
    raise LookupError(path)


@dataclass
class _Stored:
    """A Responses answer kept for ``GET /v1/responses/{id}``."""

    final: dict[str, Any]
    events: list[dict[str, Any]] | None
    """Its stream's events, when it was created streaming (only those can be streamed again)."""
    pending: int

    def retrieved(self) -> dict[str, Any]:
        """What a retrieve answers now: a background response still pending, then the final one."""
        if self.pending > 0:
            self.pending -= 1
            return _unfinished(self.final, "in_progress")
        return self.final


def _unfinished(final: dict[str, Any], status: str) -> dict[str, Any]:
    # The shape of a queued background response: OpenAI's background mode guide
    # (https://developers.openai.com/api/docs/guides/background) and the queued answer quoted in
    # prism-php/prism issue 590: the same response object, "background": true, no output, no usage.
    return {**final, "status": status, "output": [], "usage": None}


@dataclass
class _RunCounter:
    counts: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next(self, key: str) -> int:
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1
            return self.counts[key]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length)
        fake = self.server.fake
        name = self.headers.get("x-fake-scenario") or fake.default_scenario
        scenario = SCENARIOS.get(name)
        if scenario is None:
            self._json(400, {"error": {"message": f"unknown fake scenario {name!r}", "type": "invalid_request_error"}})
            return
        fake.requests.append({"path": self.path, "headers": dict(self.headers), "body": raw})
        if scenario.delay:
            time.sleep(scenario.delay)
        if scenario.status != 200 and (
            not scenario.fail_first
            or fake.runs.next(self.headers.get("x-fake-run", "") + self.path) <= scenario.fail_first
        ):
            self._error(scenario)
            return
        try:
            request = json.loads(raw or b"{}")
            chunks = int(self.headers.get("x-fake-chunks") or 10)
            is_stream, body = response_bodies(self.path.split("?")[0], request, scenario, max(chunks, 3))
        except (ValueError, LookupError) as exc:
            self._json(404, {"error": {"message": str(exc), "type": "invalid_request_error"}})
            return
        if self.path.split("?")[0].endswith("/responses"):
            body = self._store_response(scenario, is_stream, body)
        if scenario.malformed and not is_stream:
            self._send(200, b'{"id": "chatcmpl-broken", "choices": [', "application/json")
        elif is_stream:
            self._stream(body, scenario)
        else:
            self._json(200, body)

    def _store_response(self, scenario: Scenario, is_stream: bool, body: Any) -> Any:
        """Keep a Responses answer for retrieves; a non-streamed background create answers ``queued``."""
        events = list(body) if is_stream else None
        final = events[-1]["response"] if events else body
        with self.server.fake.lock:
            pending = scenario.pending_retrieves if final["background"] and events is None else 0
            self.server.fake.stored[final["id"]] = _Stored(final, events, pending)
        if events is not None:
            return iter(events)
        return _unfinished(final, "queued") if final["background"] else final

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        params = parse_qs(query)
        fake = self.server.fake
        fake.requests.append({"path": self.path, "headers": dict(self.headers), "body": b""})
        stored = fake.stored.get(path.rsplit("/", 1)[-1]) if path.startswith("/v1/responses/") else None
        if stored is None:
            self._json(404, {"error": {"message": f"No response found at {path}", "type": "invalid_request_error"}})
        elif params.get("stream") != ["true"]:
            with fake.lock:
                answer = stored.retrieved()
            self._json(200, answer)
        elif stored.events is None:
            message = "Response was not created with stream=true"
            self._json(400, {"error": {"message": message, "type": "invalid_request_error"}})
        else:
            after = int(params.get("starting_after", ["-1"])[0])
            events = [event for event in stored.events if event["sequence_number"] > after]
            self._stream(iter(events), SCENARIOS["default"])

    def _error(self, scenario: Scenario) -> None:
        auth = self.headers.get("authorization") or self.headers.get("api-key") or ""
        key = auth.removeprefix("Bearer ")
        message = {
            401: f"Incorrect API key provided: {key}. You can find your API key at https://platform.openai.com/account/api-keys.",
            429: "Rate limit reached for requests. Please try again in 1ms.",
        }.get(scenario.status, f"Fake error {scenario.status}")
        headers = {"retry-after-ms": "1", "x-should-retry": "true"} if scenario.status == 429 else {}
        body = {"error": {"message": message, "type": scenario.error_code, "param": None, "code": scenario.error_code}}
        self._json(scenario.status, body, headers)

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(body).encode(), "application/json", headers)

    def _send(self, status: int, payload: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(payload)))
        self.send_header("x-request-id", f"req_{uuid.uuid4().hex[:16]}")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _stream(self, events: Iterator[dict[str, Any]], scenario: Scenario) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("x-request-id", f"req_{uuid.uuid4().hex[:16]}")
        self.end_headers()
        for index, event in enumerate(events):
            if scenario.reset_after_chunks is not None and index >= scenario.reset_after_chunks:
                self.close_connection = True
                self.connection.shutdown(2)
                return
            data = "{broken" if scenario.malformed and index == 2 else json.dumps(event)
            prefix = f"event: {event['type']}\n" if "type" in event and "sequence_number" in event else ""
            self._chunk(f"{prefix}data: {data}\n\n".encode())
        self._chunk(b"data: [DONE]\n\n")
        self._chunk(b"")

    def _chunk(self, payload: bytes) -> None:
        self.wfile.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # hundreds of concurrent clients in load tests
    fake: FakeOpenAIServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that hang up early (closed or abandoned streams) are part of the tests.
        pass


class FakeOpenAIServer:
    """Start with ``with FakeOpenAIServer() as server:``; point a client at ``server.base_url``."""

    def __init__(self, *, default_scenario: str = "default", port: int = 0) -> None:
        self.default_scenario = default_scenario
        self.requests: list[dict[str, Any]] = []
        self.runs = _RunCounter()
        self.stored: dict[str, _Stored] = {}
        self.lock = threading.Lock()
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-openai", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
