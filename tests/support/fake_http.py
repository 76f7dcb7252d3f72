"""A threaded HTTP server on 127.0.0.1 that answers with what a provider's fake decides.

The provider modules (``fake_anthropic``, ``fake_google_genai``) only turn a request into a
:class:`Reply` (a JSON body, or SSE frames); this module owns sockets, chunked streaming,
abrupt connection resets and request recording, so each fake stays about its wire format.
The same ``answer`` functions serve the benchmarks' in-process mock transports.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FakeHTTPServer", "Reply", "Request", "sse_frame"]


@dataclass(frozen=True)
class Request:
    """One request as the fake sees it."""

    method: str
    path: str
    """Path with the query string."""
    headers: dict[str, str]
    """Header names lowercased."""
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"{}")


@dataclass(frozen=True)
class Reply:
    """What to send back: a JSON (or raw bytes) body, or a stream of pre-rendered frames."""

    status: int = 200
    body: Any = None
    frames: tuple[bytes, ...] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    reset_after_frames: int | None = None
    """Close the connection abruptly after this many frames."""

    def payload(self) -> bytes:
        """The body as sent: bytes as they are, anything else as JSON."""
        return self.body if isinstance(self.body, bytes) else json.dumps(self.body).encode()


def sse_frame(data: Any, event: str | None = None) -> bytes:
    """One server-sent event: an optional ``event:`` line and a JSON ``data:`` line."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data)}\n\n".encode()


Answer = Callable[[Request], Reply]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        request = Request(
            self.command,
            self.path,
            {name.lower(): value for name, value in self.headers.items()},
            self.rfile.read(length),
        )
        self.server.fake.requests.append(request)
        reply = self.server.fake.answer(request)
        if reply.frames is None:
            self._send(reply)
        else:
            self._stream(reply)

    def _send(self, reply: Reply) -> None:
        payload = reply.payload()
        self.send_response(reply.status)
        self._headers(reply, "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _stream(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self._headers(reply, "text/event-stream; charset=utf-8")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for index, frame in enumerate(reply.frames or ()):
            if reply.reset_after_frames is not None and index >= reply.reset_after_frames:
                self.close_connection = True
                self.connection.shutdown(2)
                return
            self._chunk(frame)
        self._chunk(b"")

    def _headers(self, reply: Reply, content_type: str) -> None:
        """The reply's headers; its own ``content-type`` (e.g. a binary event stream) wins."""
        for name, value in {"content-type": content_type, **reply.headers}.items():
            self.send_header(name, value)

    def _chunk(self, payload: bytes) -> None:
        self.wfile.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeHTTPServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that hang up early (closed or abandoned streams) are part of the tests.
        pass


class FakeHTTPServer:
    """``with FakeHTTPServer(answer) as server:``; point a client at ``server.origin``."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[Request] = []
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeHTTPServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
