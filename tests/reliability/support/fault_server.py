"""A raw-socket HTTP/1.1 server on 127.0.0.1 for wire faults no well-behaved server produces.

Each request is answered by a *script* the test registered and selected with the ``x-fault``
header: a function ``script(connection, request)`` that writes whatever bytes it wants
(a JSON body, an SSE stream cut in the middle of an event, an endless stream, a TCP reset, or
nothing at all until the client gives up). Every connection is closed after one response.
Scripts never run longer than the server: :meth:`FaultServer.stop` wakes every waiting script.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import struct
import threading
from collections.abc import Callable, Iterable
from typing import Any

from tests.support.fake_http import Request as HttpRequest

__all__ = ["Connection", "FaultServer", "HttpRequest", "Script"]

_MAX_HEAD = 64 * 1024


class Connection:
    """The server side of one client connection, as a script sees it."""

    def __init__(self, sock: socket.socket, stopping: threading.Event) -> None:
        self._sock = sock
        self.stopping = stopping
        """Set when the server stops: long-running scripts must return."""

    def send(self, payload: bytes) -> bool:
        """Write bytes; False once the client has gone away."""
        try:
            self._sock.sendall(payload)
        except OSError:
            return False
        return True

    def respond(self, status: int, body: bytes, *, content_type: str = "application/json",
                headers: dict[str, str] | None = None) -> None:  # fmt: skip
        """A complete response with a content-length."""
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}",
                 f"content-type: {content_type}", f"content-length: {len(body)}",
                 "connection: close"]  # fmt: skip
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode() + body)

    def respond_json(self, status: int, body: Any, *, headers: dict[str, str] | None = None) -> None:
        self.respond(status, json.dumps(body).encode(), headers=headers)

    def start_chunked(self, content_type: str = "text/event-stream; charset=utf-8") -> None:
        """Status line and headers of a chunked (streamed) 200 response."""
        head = (f"HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\n"
                "transfer-encoding: chunked\r\nconnection: close\r\n\r\n")  # fmt: skip
        self.send(head.encode())

    def chunk(self, payload: bytes) -> bool:
        """One HTTP chunk (an empty payload ends the body)."""
        return self.send(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")

    def sse(self, events: Iterable[Any]) -> bool:
        """``data:`` events, JSON-encoded unless already bytes; ``(name, data)`` adds an ``event:`` line."""
        for event in events:
            name, data = event if isinstance(event, tuple) else (None, event)
            payload = data if isinstance(data, bytes) else json.dumps(data).encode()
            head = f"event: {name}\n".encode() if name else b""
            if not self.chunk(head + b"data: " + payload + b"\n\n"):
                return False
        return True

    def reset(self) -> None:
        """Abort the connection with a TCP RST (SO_LINGER 0) instead of a clean close."""
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._sock.close()

    def wait_for_client_to_leave(self) -> None:
        """Block until the client closes its side or the server stops; reads nothing meaningful."""
        self._sock.settimeout(0.05)
        while not self.stopping.is_set():
            try:
                if not self._sock.recv(1024):
                    return
            except TimeoutError:
                continue
            except OSError:
                return


Script = Callable[[Connection, HttpRequest], None]

_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 429: "Too Many Requests",
            500: "Internal Server Error", 503: "Service Unavailable"}  # fmt: skip


class FaultServer:
    """``with FaultServer() as server``; ``server.register(script)`` gives the ``x-fault`` value."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=1024)
        self._stopping = threading.Event()
        self._scripts: dict[str, Script] = {}
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._open: set[socket.socket] = set()
        self.requests: list[HttpRequest] = []
        self._acceptor = threading.Thread(target=self._accept, name="fault-server", daemon=True)

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    @property
    def base_url(self) -> str:
        """The root with ``/v1``, as OpenAI clients expect it."""
        return f"{self.root_url}/v1"

    def register(self, script: Script) -> str:
        with self._lock:
            key = f"fault-{next(self._ids)}"
            self._scripts[key] = script
        return key

    def headers(self, script: Script) -> dict[str, str]:
        """``extra_headers`` that make one call run ``script``."""
        return {"x-fault": self.register(script)}

    def __enter__(self) -> FaultServer:
        self._acceptor.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
        self._listener.close()
        self._acceptor.join(timeout=5)
        with self._lock:
            open_sockets = list(self._open)
        for sock in open_sockets:  # wake threads still waiting for a request
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in list(self._threads):
            thread.join(timeout=5)

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            with self._lock:
                self._threads = [t for t in self._threads if t.is_alive()]
                self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.add(sock)
        try:
            request = _read_request(sock)
            if request is None:
                return
            self.requests.append(request)
            script = self._scripts.get(request.headers.get("x-fault", ""))
            connection = Connection(sock, self._stopping)
            if script is None:
                connection.respond_json(404, {"error": {"message": "no fault script", "type": "test"}})
            else:
                script(connection, request)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open.discard(sock)
            with contextlib.suppress(OSError):
                sock.close()


def _read_request(sock: socket.socket) -> HttpRequest | None:
    data = b""
    while b"\r\n\r\n" not in data:
        part = sock.recv(65536)
        if not part or len(data) > _MAX_HEAD:
            return None
        data += part
    head, _, body = data.partition(b"\r\n\r\n")
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, path, _version = request_line.split(" ", 2)
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length") or 0)
    while len(body) < length:
        part = sock.recv(65536)
        if not part:
            break
        body += part
    return HttpRequest(method, path, headers, body)
