"""The Realtime API: one ``chat`` span per model response, priced from its ``response.done``.

A Realtime connection is a websocket the app reads server events from: ``recv()``, iterating
the connection, ``dispatch_events()`` or ``recv_bytes()`` + ``parse_event()``. Every one of them
reads through the connection's ``recv_bytes``, the one method wrapped here (GA
``client.realtime`` and ``client.beta.realtime``, sync and async). The wrapper returns the
message it read unchanged; it parses only the few messages that name a lifecycle event
(``session.created``/``updated``, ``response.created``, ``response.done``), leaving audio
deltas, the bulk of the traffic, to a byte search. ``recv_bytes``' own exceptions (a closed
connection) reach the app untouched.

What is billed is the response: ``response.done`` (always sent, whatever the response's
status) carries its ``usage``, the tokens of the whole conversation it read as input (cached
ones included) and of what it produced, split by modality. A response whose ``response.done``
has no usage (cancelled or failed before the model ran) records no span; one with usage is
recorded whatever its status, the status as its finish reason.

When: the span starts when the app read the response's ``response.created`` and ends when it
read ``response.done``. Not when the app sent ``response.create``: with voice activity
detection the server starts responses without any client event, and several out-of-band
responses can be requested at once with nothing tying a ``response.create`` to its response
before ``response.created`` names it. The times are those at which the app read the events: an
app that falls behind in reading shifts them. A response whose ``response.created`` this process
did not read (instrumented mid-response, a reconnect in between) gets a span of no length.
Nothing is open in between: the span is started and ended at ``response.done`` with the start
remembered, so a connection the app abandons mid-response leaves no open span behind (and no
record of that response: its usage never arrived).

Which model: the session's (``session.model`` of ``session.created``/``session.updated``, what
the server runs) as ``gen_ai.response.model`` and for pricing; the ``model`` (Azure:
``deployment``) the connection URL asked for as ``gen_ai.request.model``.

Input audio transcription is billed apart, at the transcription model's rates: one
``transcription`` span per ``conversation.item.input_audio_transcription.completed``, whose
``usage`` is either tokens (``gpt-4o-transcribe``: input, of which audio and text, and output)
or the audio's ``seconds`` (``whisper-1``). A ``Usage`` counts whole seconds: a started second
counts as one (rounded up: OpenAI bills whisper per second). Its model is the session's
transcription model (GA ``session.audio.input.transcription.model``, beta
``session.input_audio_transcription.model``), as request and response model; none known, the
span says ``unknown_model``. It starts when the app read the ``input_audio_buffer.committed``
of the item transcribed (transcription starts at the commit) and ends at the completion.
Its usage is not part of any response's: the two are never counted twice.

Limits: per connection, the start times of the 64 latest responses and committed audio items
not yet done are kept. Beta transcription sessions (``transcription_session.*`` events) name
their model where this does not read it: their transcriptions are recorded, unpriced.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import OrderedDict
from functools import partial
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit
from weakref import WeakKeyDictionary

from genai_cost.instrumentation._attributes import (
    count,
    read,
    request_attributes,
    response_attributes,
    server_attributes,
)
from genai_cost.instrumentation._core import Operation, Request, Response, Started, Telemetry, record_now
from genai_cost.instrumentation.openai.endpoint import provider_for_host
from genai_cost.semconv import GenAI, Provider
from genai_cost.semconv import Operation as OperationName
from genai_cost.usage import Usage

__all__ = ["read_realtime_usage", "read_transcription_usage", "realtime_operation"]

_SESSION_EVENTS = frozenset({"session.created", "session.updated"})
_CREATED = "response.created"
_DONE = "response.done"
_COMMITTED = "input_audio_buffer.committed"
_TRANSCRIBED = "conversation.item.input_audio_transcription.completed"
_LIFECYCLE = re.compile(
    rb'"(?:response\.(?:created|done)|session\.(?:created|updated)'
    rb"|input_audio_buffer\.committed|conversation\.item\.input_audio_transcription\.completed)\""
)
"""A message that may be a lifecycle event (or quotes one's name, say in a transcript: the
parsed ``type`` decides)."""
_PENDING_LIMIT = 64


class _Billed(NamedTuple):
    """A billed call an event finished: what to record, with which request, since when."""

    operation: Operation
    kwargs: dict[str, Any]
    """What the operation's ``read_request`` reads (the transcription model)."""
    response: Response
    started: Started | None


class _Connection:
    """What one connection's events said so far: the session's models and when the responses
    and transcriptions still running started. Folds lifecycle events into the calls to record;
    no telemetry."""

    __slots__ = ("model", "started", "transcriber")

    def __init__(self) -> None:
        self.model: str | None = None
        self.transcriber: str | None = None
        self.started: OrderedDict[str, Started] = OrderedDict()
        """By response id, and by the item id of committed audio (ids of both are unique)."""

    def see(self, event: dict[str, Any]) -> _Billed | None:
        """The billed call ``event`` finished with usage, and when it started, if it did."""
        kind = event.get("type")
        if kind in _SESSION_EVENTS:
            self._session(event.get("session"))
        elif kind == _CREATED:
            self._start(read(event.get("response"), "id"))
        elif kind == _COMMITTED:
            self._start(event.get("item_id"))
        elif kind == _DONE:
            response = event.get("response")
            started = self._done(read(response, "id"))
            finished = _read_response(response, self.model)
            return None if finished.usage is None else _Billed(_RECORDED, {}, finished, started)
        elif kind == _TRANSCRIBED:
            return self._transcribed(event)
        return None

    def _session(self, session: Any) -> None:
        model = read(session, "model")
        self.model = model if isinstance(model, str) else self.model
        transcriber = _transcription_model(session)
        self.transcriber = transcriber if isinstance(transcriber, str) else self.transcriber

    def _start(self, call_id: Any) -> None:
        if not isinstance(call_id, str):
            return
        self.started[call_id] = (time.time_ns(), time.perf_counter())
        if len(self.started) > _PENDING_LIMIT:
            self.started.popitem(last=False)

    def _done(self, call_id: Any) -> Started | None:
        return self.started.pop(call_id, None) if isinstance(call_id, str) else None

    def _transcribed(self, event: dict[str, Any]) -> _Billed | None:
        started = self._done(event.get("item_id"))
        usage = read_transcription_usage(event.get("usage"))
        if usage is None:
            return None
        response = Response(usage, response_attributes(None, self.transcriber, []))
        return _Billed(_TRANSCRIPTION, {"model": self.transcriber}, response, started)


_Connections = WeakKeyDictionary[Any, _Connection]


def read_realtime_usage(usage: Any) -> Usage | None:
    """A Realtime ``response.usage``: ``input_tokens`` include the cached ones and every modality
    (``input_token_details`` splits both; a cached audio token is both cached and audio),
    ``output_tokens`` the audio ones."""
    if usage is None:
        return None
    details = read(usage, "input_token_details")
    cached = read(details, "cached_tokens_details")
    return Usage(
        input_tokens=count(read(usage, "input_tokens")),
        output_tokens=count(read(usage, "output_tokens")),
        cache_read_tokens=count(read(details, "cached_tokens")),
        input_text_tokens=count(read(details, "text_tokens")),
        input_audio_tokens=count(read(details, "audio_tokens")),
        input_image_tokens=count(read(details, "image_tokens")),
        cache_audio_read_tokens=count(read(cached, "audio_tokens")),
        cache_image_read_tokens=count(read(cached, "image_tokens")),
        output_audio_tokens=count(read(read(usage, "output_token_details"), "audio_tokens")),
    )


def read_transcription_usage(usage: Any) -> Usage | None:
    """An input audio transcription's ``usage``: tokens (``input_tokens`` include the audio and
    text ones of ``input_token_details``), or the ``seconds`` of input audio, a started second
    counted as one."""
    if usage is None:
        return None
    seconds = read(usage, "seconds")
    if seconds is not None and read(usage, "input_tokens") is None:  # {"type": "duration", "seconds": 4.2}
        whole = _whole_seconds(seconds)
        return Usage(audio_seconds=whole, input_audio_seconds=whole)
    details = read(usage, "input_token_details")
    return Usage(
        input_tokens=count(read(usage, "input_tokens")),
        output_tokens=count(read(usage, "output_tokens")),
        input_text_tokens=count(read(details, "text_tokens")),
        input_audio_tokens=count(read(details, "audio_tokens")),
    )


def _whole_seconds(seconds: Any) -> int | None:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds < math.inf:
        return None
    return count(math.ceil(seconds))


def _transcription_model(session: Any) -> Any:
    """The transcription model a session names (GA ``audio.input.transcription``, beta
    ``input_audio_transcription``), or None."""
    ga = read(read(read(read(session, "audio"), "input"), "transcription"), "model")
    return ga if ga is not None else read(read(session, "input_audio_transcription"), "model")


def _read_response(response: Any, model: str | None) -> Response:
    """A ``response.done`` event's response, run by the session's ``model``."""
    status = read(response, "status")
    reason = read(read(response, "status_details"), "reason")
    reason = reason if isinstance(reason, str) else status
    attributes = response_attributes(read(response, "id"), model, [reason] if isinstance(reason, str) else [])
    return Response(read_realtime_usage(read(response, "usage")), attributes)


def _handshake(connection: Any) -> tuple[str, str]:
    """The Host header and path (with query) the connection's websocket opened with, or empty."""
    request = getattr(getattr(connection, "_connection", None), "request", None)
    path = getattr(request, "path", None)
    headers = getattr(request, "headers", None)
    host = headers.get("Host") if headers is not None else None
    return (host if isinstance(host, str) else "", path if isinstance(path, str) else "")


def _endpoint(host: str, path: str) -> dict[str, Any]:
    endpoint = server_attributes(f"//{host}", GenAI.SERVER_ADDRESS, GenAI.SERVER_PORT) if host else {}
    address = endpoint.get(GenAI.SERVER_ADDRESS)
    port = endpoint.get(GenAI.SERVER_PORT)
    endpoint[GenAI.PROVIDER_NAME] = provider_for_host(address, port, path) if address else Provider.OPENAI
    return endpoint


def _read_request(instance: Any, telemetry: Telemetry, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
    """The connection URL's ``model`` (Azure: ``deployment``) is the requested model."""
    host, path = _handshake(instance)
    url = urlsplit(path)
    query = parse_qs(url.query)
    requested = query.get("model") or query.get("deployment")
    return Request(
        request_attributes(OperationName.CHAT, _endpoint(host, url.path), requested and requested[0]), kwargs
    )


def _read_transcription_request(
    instance: Any, telemetry: Telemetry, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Request:
    """The session's transcription model (``kwargs["model"]``) is the requested model."""
    host, path = _handshake(instance)
    endpoint = _endpoint(host, urlsplit(path).path)
    return Request(request_attributes(OperationName.TRANSCRIPTION, endpoint, kwargs.get("model")), {})


def _as_read(response: Response) -> Response:
    return response


_RECORDED = Operation(_read_request, _as_read)
"""What :func:`record_now` starts a response's span with (its ``Response`` is read already)."""
_TRANSCRIPTION = Operation(_read_transcription_request, _as_read)
"""Likewise for an input audio transcription's span."""


def _event(message: Any) -> dict[str, Any] | None:
    """The lifecycle event ``message`` carries, else None (most messages are not parsed)."""
    data = message.encode() if isinstance(message, str) else message
    if not isinstance(data, (bytes, bytearray)) or _LIFECYCLE.search(data) is None:
        return None
    try:
        event = json.loads(data)
    except ValueError:  # not JSON: the app's parse_event says so, if it parses it
        return None
    return event if isinstance(event, dict) else None


def _see(connections: _Connections, telemetry: Telemetry, instance: Any, message: Any) -> None:
    event = _event(message)
    if event is None:
        return
    state = connections.get(instance)
    if state is None:
        state = connections.setdefault(instance, _Connection())
    billed = state.see(event)
    if billed is not None:
        record_now(telemetry, billed.operation, instance, billed.kwargs, billed.response, billed.started)


def _observe(connections: _Connections, telemetry: Telemetry, instance: Any, message: Any) -> Any:
    _see(connections, telemetry, instance, message)
    return message


def realtime_operation() -> Operation:
    """The ``Operation`` of a Realtime connection's ``recv_bytes``; each one keeps its own
    per-connection state, dropped with the connection."""
    connections: _Connections = WeakKeyDictionary()
    return Operation(_read_request, _as_read, observe=partial(_observe, connections))
