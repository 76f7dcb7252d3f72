"""Bedrock bodies read after the call returns: the app reads them itself, faults and all.

``invoke_model`` returns when the headers arrive; its ``StreamingBody`` (and the event stream
of ``invoke_model_with_response_stream`` / ``converse_stream``) is read later by the app. The
fault server here holds the body back until the app has its result (``release()``), then
sends it whole or breaks it midway (reset, close, stall). The same call runs uninstrumented
and instrumented: the app must read the same bytes or events and get the same exception, the
body must not be sent before the call returned (so the call did not wait for it), and the
call's span must end, with usage or as an error.
"""

from __future__ import annotations

import gc
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.config import Config
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode
from tests.reliability.support.checks import assert_valid_attributes, error_type_of
from tests.reliability.support.fault_server import Connection, FaultServer, HttpRequest
from tests.reliability.support.harness import Telemetry
from tests.support import fake_bedrock

from genai_cost.instrumentation._core import finish_abandoned
from genai_cost.instrumentation.bedrock import BedrockInstrumentor
from genai_cost.semconv import GenAI

MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"
REQUEST = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64,
           "messages": [{"role": "user", "content": "Hello"}]}  # fmt: skip
TOKENS = fake_bedrock.DEFAULT

_INVOKE = fake_bedrock.answer("invoke", MODEL, REQUEST, "default")
BODY = json.dumps(_INVOKE.body, indent=1).encode()  # several lines, for iter_lines and readlines
HEADERS = _INVOKE.headers  # the token-count headers Bedrock sends with every invoke_model body

_HOLD = 2.0
"""How long a script waits for ``release()`` before sending anyway (only a call that waits
for the body itself lets it run out)."""
_STALL_TIMEOUT = 0.25
"""The client's read timeout when the server stalls; other calls get plenty."""

_SESSION = boto3.session.Session()


class HeldResponse:
    """A script: the 200 and its headers at once; the body only after ``release()``, then
    ``ending``: ``complete``, or half of it and ``reset`` (TCP RST), ``close`` (a clean close
    before the end) or ``stall`` (nothing more until the client gives up)."""

    def __init__(self, head: bytes, body: list[bytes], ending: str, send: Callable[[Connection, bytes], bool]) -> None:
        self._head = head
        self._body = body
        self._ending = ending
        self._send = send
        self._released = threading.Event()
        self._finished = threading.Event()
        self.sent_after_release: bool | None = None
        """Whether the body was sent only once the app had its result."""

    def release(self) -> None:
        self._released.set()

    def wait(self) -> None:
        """Until the script has run (the client may have hung up before it got that far)."""
        assert self._finished.wait(_HOLD + 5)

    def __call__(self, connection: Connection, request: HttpRequest) -> None:
        try:
            self._respond(connection)
        finally:
            self._finished.set()

    def _respond(self, connection: Connection) -> None:
        connection.send(self._head)
        self.sent_after_release = self._released.wait(_HOLD)
        if self._ending == "complete":
            for piece in self._body:
                self._send(connection, piece)
            self._send(connection, b"")
            return
        for piece in self._body[: max(1, len(self._body) // 2)]:
            self._send(connection, piece)
        if self._ending == "reset":
            connection.reset()
        elif self._ending == "stall":
            connection.wait_for_client_to_leave()


def held_body(ending: str, body: bytes = BODY) -> HeldResponse:
    """An invoke_model response with a content-length, its body split in two halves."""
    lines = ["HTTP/1.1 200 OK", "content-type: application/json", f"content-length: {len(body)}",
             "connection: close", *(f"{name}: {value}" for name, value in HEADERS.items())]  # fmt: skip
    half = len(body) // 2
    return HeldResponse(("\r\n".join(lines) + "\r\n\r\n").encode(), [body[:half], body[half:]], ending, Connection.send)


def held_events(operation: str, ending: str) -> HeldResponse:
    """A chunked AWS event stream (one HTTP chunk per event message)."""
    frames = fake_bedrock.answer(operation, MODEL, REQUEST, "default").frames or ()
    head = (b"HTTP/1.1 200 OK\r\ncontent-type: application/vnd.amazon.eventstream\r\n"
            b"transfer-encoding: chunked\r\nconnection: close\r\n\r\n")  # fmt: skip
    return HeldResponse(head, list(frames), ending, Connection.chunk)


@dataclass
class Seen:
    """What the app observed of one call and its body."""

    pieces: list[Any] = field(default_factory=list)
    error: tuple[type, str] | None = None


def _client(faults: FaultServer, script: HeldResponse, ending: str) -> Any:
    client = _SESSION.client(
        "bedrock-runtime", region_name="us-east-1", endpoint_url=faults.root_url,
        aws_access_key_id="AKIDRELIABILITY", aws_secret_access_key="bedrockSECRETaccessKEY0123456789",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=5,
                      read_timeout=_STALL_TIMEOUT if ending == "stall" else 30),
    )  # fmt: skip
    headers = faults.headers(script)

    def add_fault(request: Any, **kwargs: Any) -> None:
        for name, value in headers.items():  # botocore's HTTPHeaders has no update()
            request.headers[name] = value

    client.meta.events.register("before-sign.bedrock-runtime", add_fault)
    return client


def _read_into(body: Any) -> Iterator[bytes]:
    buffer = bytearray(10)
    while size := body.readinto(buffer):
        yield bytes(buffer[:size])


def _read_raw(body: Any) -> Iterator[bytes]:
    with body as raw:  # botocore hands out the raw urllib3 stream
        yield raw.read()


READS: dict[str, Callable[[Any], Any]] = {
    "read": lambda body: [body.read()],
    "read(n)": lambda body: iter(lambda: body.read(10), b""),
    "read(length)": lambda body: [body.read(len(BODY))],  # every byte, but never the empty read
    "readinto": _read_into,
    "iter_lines": lambda body: body.iter_lines(),
    "iter_chunks": lambda body: body.iter_chunks(16),
    "iterate": iter,
    "readlines": lambda body: body.readlines(),
    "with": _read_raw,
}
"""Every way an app reads a ``StreamingBody``: name -> the pieces it reads, lazily."""
BROKEN_READS = [name for name in READS if name != "read(length)"]
"""Reads of a broken body: ``read(length)`` of a body closed early returns what came, no error."""
ENDINGS = ["complete", "reset", "close", "stall"]
FAULTS = ENDINGS[1:]


def _observe(call: Callable[[Any], Any], pieces: Callable[[Any], Any], script: HeldResponse) -> Seen:
    """Make the call, release the held body, read it the app's way, recording each piece."""
    seen = Seen()
    try:
        result = call()
        script.release()
        for piece in pieces(result):
            seen.pieces.append(piece)
    except Exception as error:
        seen.error = (type(error), str(error))
    script.release()
    return seen


def _same_outcome(
    telemetry: Telemetry,
    faults: FaultServer,
    make_script: Callable[[], HeldResponse],
    ending: str,
    call: Callable[[Any], Any],
    pieces: Callable[[Any], Any],
) -> Seen:
    """Run uninstrumented, then instrumented: the same pieces and error, and the body was
    sent only after the call returned both times."""
    scripts = [make_script(), make_script()]
    plain = _observe(lambda: call(_client(faults, scripts[0], ending)), pieces, scripts[0])
    assert not telemetry.finished()
    with telemetry.instrumented(instrumentor=BedrockInstrumentor()):
        traced = _observe(lambda: call(_client(faults, scripts[1], ending)), pieces, scripts[1])
    assert traced == plain
    for script in scripts:
        script.wait()
        assert script.sent_after_release
    return traced


def _invoke(client: Any) -> Any:
    return client.invoke_model(modelId=MODEL, body=json.dumps(REQUEST))


def _assert_usage(span: ReadableSpan) -> None:
    attributes = span.attributes or {}
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == TOKENS.total_input
    assert attributes[GenAI.USAGE_OUTPUT_TOKENS] == TOKENS.output
    assert_valid_attributes(span)


def _assert_failed(span: ReadableSpan, error_class: type) -> None:
    attributes = span.attributes or {}
    assert span.status.status_code is StatusCode.ERROR
    assert attributes[GenAI.ERROR_TYPE] == error_type_of(error_class)
    assert_valid_attributes(span)


@pytest.mark.parametrize("read", READS)
def test_invoke_model_body_read_by_the_app(telemetry: Telemetry, faults: FaultServer, read: str) -> None:
    seen = _same_outcome(telemetry, faults, lambda: held_body("complete"), "complete",
                         lambda client: _invoke(client)["body"], READS[read])  # fmt: skip
    assert seen.error is None
    assert b"".join(seen.pieces).replace(b"\n", b"") == BODY.replace(b"\n", b"")
    span = telemetry.only_span()
    assert span.status.is_unset
    _assert_usage(span)
    if read != "with":  # bytes read from the raw stream are not seen: the headers' usage only
        assert (span.attributes or {})[GenAI.RESPONSE_FINISH_REASONS] == ("end_turn",)
        assert (span.attributes or {})[GenAI.RESPONSE_ID] == _INVOKE.body["id"]


@pytest.mark.parametrize("ending", FAULTS)
@pytest.mark.parametrize("read", BROKEN_READS)
def test_invoke_model_body_broken_midway(telemetry: Telemetry, faults: FaultServer, read: str, ending: str) -> None:
    seen = _same_outcome(telemetry, faults, lambda: held_body(ending), ending,
                         lambda client: _invoke(client)["body"], READS[read])  # fmt: skip
    if seen.error is None:
        # readlines() may return the lines that arrived before a clean close without raising,
        # uninstrumented as well (a matter of timing): the dropped body then ends the call.
        assert (read, ending) == ("readlines", "close")
        gc.collect()
        finish_abandoned()  # what the next call, a flush or the exit does
    span = telemetry.only_span()
    if seen.error is not None:
        _assert_failed(span, seen.error[0])
    _assert_usage(span)  # the headers said what the call was billed


def test_invoke_model_body_closed_unread(telemetry: Telemetry, faults: FaultServer) -> None:
    def close_unread(body: Any) -> list[bytes]:
        body.close()
        return []

    _same_outcome(telemetry, faults, lambda: held_body("complete"), "complete",
                  lambda client: _invoke(client)["body"], close_unread)  # fmt: skip
    span = telemetry.only_span()
    assert span.status.is_unset
    _assert_usage(span)


@pytest.mark.parametrize("read", ["read", "read(length)", "iter_lines"])
def test_invoke_model_span_ends_at_the_last_byte(telemetry: Telemetry, faults: FaultServer, read: str) -> None:
    script = held_body("complete")
    with telemetry.instrumented(instrumentor=BedrockInstrumentor()):
        body = _invoke(_client(faults, script, "complete"))["body"]
        assert not telemetry.finished()
        script.release()
        list(READS[read](body))
        span = telemetry.only_span()  # the app still holds the body
        body.close()
    _assert_usage(span)
    assert (span.attributes or {})[GenAI.RESPONSE_FINISH_REASONS] == ("end_turn",)


def test_invoke_model_body_dropped_unread(telemetry: Telemetry, faults: FaultServer) -> None:
    """A body the app never reads still ends its call (by the next call at the latest), from the headers."""
    scripts = [held_body("complete"), held_body("complete")]
    with telemetry.instrumented(instrumentor=BedrockInstrumentor()):
        _invoke(_client(faults, scripts[0], "complete"))  # the result, body and all, dropped at once
        gc.collect()
        body = _invoke(_client(faults, scripts[1], "complete"))["body"]
        scripts[1].release()
        body.read()
    scripts[0].release()
    dropped, read = telemetry.finished()
    assert dropped.status.is_unset
    _assert_usage(dropped)
    assert GenAI.RESPONSE_FINISH_REASONS not in (dropped.attributes or {})
    assert (read.attributes or {})[GenAI.RESPONSE_FINISH_REASONS] == ("end_turn",)


def test_invoke_model_body_too_large_to_parse(telemetry: Telemetry, faults: FaultServer) -> None:
    """A body above the 1 MiB parse limit is not kept whole: its usage comes from the headers."""
    large = json.dumps({**_INVOKE.body, "padding": "x" * (2 << 20)}).encode()
    seen = _same_outcome(telemetry, faults, lambda: held_body("complete", large), "complete",
                         lambda client: _invoke(client)["body"], lambda body: body.iter_chunks(1 << 16))  # fmt: skip
    assert b"".join(seen.pieces) == large
    span = telemetry.only_span()
    _assert_usage(span)
    assert GenAI.RESPONSE_FINISH_REASONS not in (span.attributes or {})


STREAMS = {
    "invoke_model_with_response_stream": (
        "invoke-with-response-stream",
        lambda client: client.invoke_model_with_response_stream(modelId=MODEL, body=json.dumps(REQUEST))["body"],
    ),
    "converse_stream": (
        "converse-stream",
        lambda client: client.converse_stream(modelId=MODEL, messages=[{"role": "user", "content": [{"text": "Hi"}]}])[
            "stream"
        ],
    ),
}


@pytest.mark.parametrize("ending", ENDINGS)
@pytest.mark.parametrize("method", STREAMS)
def test_event_stream_read_by_the_app(telemetry: Telemetry, faults: FaultServer, method: str, ending: str) -> None:
    operation, call = STREAMS[method]
    seen = _same_outcome(telemetry, faults, lambda: held_events(operation, ending), ending, call, iter)
    span = telemetry.only_span()
    if ending == "complete":
        assert seen.error is None
        assert span.status.is_unset
        _assert_usage(span)
    else:
        assert seen.error is not None
        _assert_failed(span, seen.error[0])
