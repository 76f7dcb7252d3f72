"""A local OpenAI Realtime API server: a websocket on 127.0.0.1 speaking the Realtime event format.

The real SDK connects to it (``websocket_base_url="ws://127.0.0.1:<port>/v1"``). On connect it
sends ``session.created`` naming the model the URL asked for, as the API does. Each client
``response.create`` is answered with the events of one response; ``response.metadata.scenario``
picks which:

- ``completed`` (default): ``response.created``, output deltas, ``response.done`` with the
  usage of the connection's next turn in :data:`TURNS`.
- ``cancelled`` / ``failed``: ``response.created`` then ``response.done`` with that status and
  ``usage: null`` (nothing was generated).
- ``hang``: ``response.created`` and one delta, then nothing more.
- ``drop``: ``response.created`` and one delta, then the connection is closed with 1011.

``session.update`` is answered with ``session.updated`` naming the session so far (the update
merged in). ``input_audio_buffer.commit`` is answered with ``input_audio_buffer.committed`` and,
when the session names a transcription model (GA ``audio.input.transcription.model``, beta
``input_audio_transcription.model``), one transcription delta and
``conversation.item.input_audio_transcription.completed`` with :data:`TRANSCRIPTION_SECONDS`
for ``whisper-1`` and :data:`TRANSCRIPTION_TOKENS` for any other model.

Event and field names follow the SDK's types (``openai/types/realtime/response_done_event.py``,
``realtime_response.py``, ``realtime_response_usage*.py``,
``conversation_item_input_audio_transcription_completed_event.py``, ``session_update_event.py``;
beta: ``openai/types/beta/realtime/``).
"""

from __future__ import annotations

import asyncio
import json
import threading
from contextlib import suppress
from itertools import count
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

__all__ = ["TRANSCRIPTION_SECONDS", "TRANSCRIPTION_TOKENS", "TURNS", "FakeRealtimeServer"]

TURNS: tuple[dict[str, Any], ...] = (
    # Copied from OpenAI's Realtime cost guide (https://developers.openai.com/api/docs/guides/realtime-costs,
    # "Tokens used by a Response can be read from the response.done event"): cached text only.
    {
        "total_tokens": 253,
        "input_tokens": 132,
        "output_tokens": 121,
        "input_token_details": {
            "text_tokens": 119,
            "audio_tokens": 13,
            "image_tokens": 0,
            "cached_tokens": 64,
            "cached_tokens_details": {"text_tokens": 64, "audio_tokens": 0, "image_tokens": 0},
        },
        "output_token_details": {"text_tokens": 30, "audio_tokens": 91},
    },
    # Made up in the same shape (no real sample found): a later turn that reads cached audio.
    {
        "total_tokens": 324,
        "input_tokens": 174,
        "output_tokens": 150,
        "input_token_details": {
            "text_tokens": 110,
            "audio_tokens": 64,
            "image_tokens": 0,
            "cached_tokens": 128,
            "cached_tokens_details": {"text_tokens": 96, "audio_tokens": 32, "image_tokens": 0},
        },
        "output_token_details": {"text_tokens": 40, "audio_tokens": 110},
    },
)

# Copied from a captured gpt-4o-transcribe ``conversation.item.input_audio_transcription.completed``
# (``usage`` of "probe 7" of a gateway's captures-ws.md, quoted verbatim in that project's tests).
TRANSCRIPTION_TOKENS: dict[str, Any] = {
    "type": "tokens",
    "total_tokens": 24,
    "input_tokens": 16,
    "input_token_details": {"text_tokens": 0, "audio_tokens": 16},
    "output_tokens": 8,
}
# Made up in the SDK's ``UsageTranscriptTextUsageDuration`` shape (no real sample found).
TRANSCRIPTION_SECONDS: dict[str, Any] = {"type": "duration", "seconds": 4.2}

# A transcript may quote an event's name: the instrumentation must not take it for the event.
_QUOTING_TRANSCRIPT = 'She said "response.done" twice.'


class FakeRealtimeServer:
    """``with FakeRealtimeServer() as server:`` serves on ``server.websocket_base_url`` in a thread."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Future[None] | None = None
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._serve(),), daemon=True)
        self.port = 0
        self.received: list[dict[str, Any]] = []
        """Every client event, in order."""

    @property
    def websocket_base_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> FakeRealtimeServer:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._finish)
        self._thread.join(10)
        self._loop.close()

    def _finish(self) -> None:
        if self._stop is not None and not self._stop.done():
            self._stop.set_result(None)

    async def _serve(self) -> None:
        self._stop = self._loop.create_future()
        async with serve(self._session, "127.0.0.1", 0) as server:
            self.port = next(iter(server.sockets)).getsockname()[1]
            self._ready.set()
            await self._stop

    async def _session(self, connection: ServerConnection) -> None:
        await _Session(connection, self.received).run()


class _Session:
    """One connection; its ids count from 1, so the same script gets the same events every run."""

    def __init__(self, connection: ServerConnection, received: list[dict[str, Any]]) -> None:
        self._connection = connection
        self._received = received
        self._ids = count(1)
        self._turns = iter(TURNS * 8)
        self._session: dict[str, Any] = {}

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids)}"

    async def run(self) -> None:
        with suppress(ConnectionClosed):  # a client that walks away mid-response
            await self._converse()

    async def _converse(self) -> None:
        request = self._connection.request
        query = parse_qs(urlsplit(request.path if request is not None else "").query)
        model = (query.get("model") or ["gpt-realtime"])[0]
        self._session = {"type": "realtime", "object": "realtime.session", "id": self._id("sess"), "model": model}
        await self._send({"type": "session.created", "session": self._session})
        async for message in self._connection:
            event = json.loads(message)
            self._received.append(event)
            kind = event.get("type")
            if kind == "response.create":
                await self._respond(event.get("response") or {})
            elif kind == "session.update":
                self._session = {**self._session, **(event.get("session") or {})}
                await self._send({"type": "session.updated", "session": self._session})
            elif kind == "input_audio_buffer.commit":
                await self._commit()

    async def _commit(self) -> None:
        item_id = self._id("item")
        await self._send({"type": "input_audio_buffer.committed", "previous_item_id": None, "item_id": item_id})
        session = self._session
        ga = ((session.get("audio") or {}).get("input") or {}).get("transcription")
        model = (ga or session.get("input_audio_transcription") or {}).get("model")
        if model is None:
            return
        where = {"item_id": item_id, "content_index": 0}
        await self._send({"type": "conversation.item.input_audio_transcription.delta", **where, "delta": "Hello"})
        usage = TRANSCRIPTION_SECONDS if model == "whisper-1" else TRANSCRIPTION_TOKENS
        await self._send(
            {"type": "conversation.item.input_audio_transcription.completed", **where,
             "transcript": _QUOTING_TRANSCRIPT, "usage": usage}
        )  # fmt: skip

    async def _send(self, event: dict[str, Any]) -> None:
        await self._connection.send(json.dumps({"event_id": self._id("event"), **event}))

    async def _respond(self, options: dict[str, Any]) -> None:
        scenario = (options.get("metadata") or {}).get("scenario", "completed")
        response = {"object": "realtime.response", "id": self._id("resp"), "status": "in_progress",
                    "status_details": None, "output": [], "usage": None}  # fmt: skip
        await self._send({"type": "response.created", "response": response})
        if scenario in ("cancelled", "failed"):
            details = {"type": scenario, "reason": "client_cancelled"} if scenario == "cancelled" else {
                "type": "failed", "error": {"type": "server_error", "code": "internal_error"}}  # fmt: skip
            await self._send(
                {"type": "response.done", "response": {**response, "status": scenario, "status_details": details}}
            )
            return
        await self._deltas(response["id"])
        if scenario == "hang":
            return
        if scenario == "drop":
            await self._connection.close(1011, "server error")
            return
        content = [{"type": "output_audio", "transcript": _QUOTING_TRANSCRIPT}]
        item = {"id": self._id("item"), "object": "realtime.item", "type": "message", "role": "assistant",
                "status": "completed", "content": content}  # fmt: skip
        done = {**response, "status": "completed", "output": [item], "usage": next(self._turns)}
        await self._send({"type": "response.done", "response": done})

    async def _deltas(self, response_id: str) -> None:
        where = {"response_id": response_id, "item_id": "item_audio", "output_index": 0, "content_index": 0}
        await self._send({"type": "response.output_audio.delta", **where, "delta": "AAAA" * 256})
        await self._send({"type": "response.output_audio_transcript.delta", **where, "delta": _QUOTING_TRANSCRIPT})
