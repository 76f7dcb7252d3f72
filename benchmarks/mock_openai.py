"""An in-process OpenAI transport for benchmarks: the real client, no sockets.

``client()`` returns a real ``openai.OpenAI`` (or ``AsyncOpenAI``) whose HTTP client uses a
``MockTransport`` answering with the wire-accurate bodies of
``genai_cost.demo.fake_openai.response_bodies``. openai 3.x sends HTTP through ``httpx2``,
1.x/2.x through ``httpx``; the module picks by ``openai.__version__``.

Bodies are rendered once per distinct request shape and then served from a cache, so the
transport adds as little as possible to the time being measured. Per request, the
``x-fake-scenario`` and ``x-fake-chunks`` headers choose the scenario and chunk count (as
with the fake server); the defaults are the ``cached`` scenario (usage with cached tokens)
and 50 stream chunks (plus the final usage chunk when ``include_usage`` is asked for).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import openai

from genai_cost.demo.fake_openai import SCENARIOS, response_bodies

__all__ = ["DEFAULT_CHUNKS", "DEFAULT_SCENARIO", "MockOpenAI", "client", "httpx_module"]

DEFAULT_SCENARIO = "cached"
DEFAULT_CHUNKS = 50


def httpx_module() -> Any:
    """The HTTP library the installed openai uses (``httpx2`` for openai >= 3, else ``httpx``)."""
    major = int(openai.__version__.split(".")[0])
    if major >= 3:
        import httpx2

        return httpx2
    import httpx

    return httpx


def _sse(events: Iterator[dict[str, Any]]) -> list[bytes]:
    frames = []
    for event in events:
        prefix = f"event: {event['type']}\n" if "type" in event and "sequence_number" in event else ""
        frames.append(f"{prefix}data: {json.dumps(event)}\n\n".encode())
    frames.append(b"data: [DONE]\n\n")
    return frames


async def _replay(frames: list[bytes]) -> AsyncIterator[bytes]:
    for frame in frames:
        yield frame


class MockOpenAI:
    """The request handler behind the mock transport; counts the requests it answers.

    Stream bodies are replayed frame by frame (an async generator for async clients).
    """

    def __init__(
        self,
        *,
        scenario: str = DEFAULT_SCENARIO,
        chunks: int = DEFAULT_CHUNKS,
        asynchronous: bool = False,
    ) -> None:
        self.asynchronous = asynchronous
        self.scenario = scenario
        self.chunks = chunks
        self.requests = 0
        self._http = httpx_module()
        self._cache: dict[tuple[Any, ...], tuple[bool, Any]] = {}

    def transport(self) -> Any:
        return self._http.MockTransport(self.handle)

    def handle(self, request: Any) -> Any:
        self.requests += 1
        body = json.loads(request.content or b"{}")
        scenario = request.headers.get("x-fake-scenario") or self.scenario
        chunks = int(request.headers.get("x-fake-chunks") or self.chunks)
        key = (
            request.url.path,
            scenario,
            chunks,
            body.get("model"),
            body.get("stream") is True,
            json.dumps(body.get("stream_options"), sort_keys=True),
            len(body["input"]) if isinstance(body.get("input"), list) else 1,
        )
        cached = self._cache.get(key)
        if cached is None:
            is_stream, payload = response_bodies(request.url.path, body, SCENARIOS[scenario], chunks)
            cached = (True, _sse(payload)) if is_stream else (False, json.dumps(payload).encode())
            self._cache[key] = cached
        is_stream, rendered = cached
        if is_stream:
            headers = {"content-type": "text/event-stream; charset=utf-8"}
            frames = _replay(rendered) if self.asynchronous else iter(rendered)
            return self._http.Response(200, headers=headers, content=frames)
        return self._http.Response(200, headers={"content-type": "application/json"}, content=rendered)


def client(
    *,
    asynchronous: bool = False,
    scenario: str = DEFAULT_SCENARIO,
    chunks: int = DEFAULT_CHUNKS,
    max_retries: int = 0,
) -> Any:
    """A real ``OpenAI``/``AsyncOpenAI`` client whose requests never leave the process."""
    handler = MockOpenAI(scenario=scenario, chunks=chunks, asynchronous=asynchronous)
    http = handler._http
    options: dict[str, Any] = {
        "api_key": "sk-bench",
        "base_url": "http://mock-openai.local/v1",
        "max_retries": max_retries,
    }
    if asynchronous:
        return openai.AsyncOpenAI(http_client=http.AsyncClient(transport=handler.transport()), **options)
    return openai.OpenAI(http_client=http.Client(transport=handler.transport()), **options)
