"""A pricing source on 127.0.0.1 for the refresh tests: one document the test changes or breaks.

``GET /prices.json`` answers the current document with an ETag (its digest) and, optionally, a
Last-Modified date, and 304 to a request whose ``If-None-Match`` (or, without ETags,
``If-Modified-Since``) names the current version. ``PUT /prices.json`` replaces the document
(so that a forked child, which has no access to this object's memory, can change it too).

A :attr:`PriceServer.mode` breaks the answer: ``status:<code>``, ``hang`` (read the request,
never answer, until the server stops or :meth:`PriceServer.release`), ``huge_declared`` (a
50 MB ``Content-Length``) and ``huge_streamed`` (50 MB without a length, close-delimited).
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["HUGE", "PriceServer", "Seen", "price_document"]

HUGE = 50 * 1024 * 1024
_BLOCK = b" " * 65536


def price_document(prices: dict[str, tuple[float, float]], *, generated_at: str | None = None) -> dict[str, Any]:
    """Our pricing format: ``{model: (input, output)}`` per 1M tokens, OpenAI entries ``refresh:<model>``."""
    document: dict[str, Any] = {
        "entries": [
            {"id": f"refresh:{model}", "provider": "openai", "match": {"exact": model}, "input": rates[0],
             "output": rates[1]}
            for model, rates in prices.items()
        ]
    }  # fmt: skip
    if generated_at is not None:
        document["generated_at"] = generated_at
    return document


@dataclass(frozen=True)
class Seen:
    """One request: its method and the conditional headers it carried."""

    method: str
    if_none_match: str | None
    if_modified_since: str | None
    status: int


class PriceServer:
    """``with PriceServer() as server:``; point the refresher at :attr:`url`."""

    def __init__(self, *, etags: bool = True, last_modified: bool = False) -> None:
        self.etags = etags
        self.last_modified = last_modified
        self.mode = "ok"
        self.seen: list[Seen] = []
        self.hanging = threading.Event()
        """Set while a request is held in ``hang`` mode."""
        self._release = threading.Event()
        self._body = b"{}"
        self._version = 0
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/prices.json"

    def serve(self, document: Any) -> None:
        """Answer ``document`` (an object, dumped as JSON, or bytes) from now on."""
        self._set(document if isinstance(document, bytes) else json.dumps(document).encode())

    def release(self) -> None:
        """Let requests held in ``hang`` mode go (they get no answer)."""
        self._release.set()

    def statuses(self) -> list[int]:
        return [seen.status for seen in self.seen if seen.method == "GET"]

    def _set(self, body: bytes) -> None:
        self._body = body
        self._version += 1

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self._body).hexdigest()[:12] + '"'

    @property
    def modified(self) -> str:
        # A distinct second per version, as a real server's file times would be.
        from datetime import datetime, timezone

        return format_datetime(datetime.fromtimestamp(1_700_000_000 + self._version, timezone.utc), usegmt=True)

    def __enter__(self) -> PriceServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
        if self._thread.is_alive():
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(10)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_PUT(self) -> None:
        owner = self.server.owner
        owner._set(self.rfile.read(int(self.headers.get("content-length") or 0)))
        owner.seen.append(Seen("PUT", None, None, 204))
        self.send_response(204)
        self.end_headers()

    def do_GET(self) -> None:
        owner = self.server.owner
        mode = owner.mode
        if mode == "hang":
            owner.seen.append(Seen("GET", None, None, 0))
            owner.hanging.set()
            owner._release.wait(60)
            owner.hanging.clear()
            return
        status = self._status(owner, mode)
        owner.seen.append(Seen("GET", self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since"), status))
        self.send_response(status)
        if status == 304:
            self.end_headers()
            return
        if mode.startswith("huge"):
            self._huge(declared=mode == "huge_declared")
            return
        body = owner._body if status == 200 else b'{"error": "boom"}'
        if status == 200 and owner.etags:
            self.send_header("ETag", owner.etag)
        if status == 200 and owner.last_modified:
            self.send_header("Last-Modified", owner.modified)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _status(self, owner: PriceServer, mode: str) -> int:
        if mode.startswith("status:"):
            return int(mode.partition(":")[2])
        if mode.startswith("huge"):
            return 200
        if owner.etags and self.headers.get("If-None-Match") == owner.etag:
            return 304
        if not owner.etags and owner.last_modified and self.headers.get("If-Modified-Since") == owner.modified:
            return 304
        return 200

    def _huge(self, *, declared: bool) -> None:
        if declared:
            self.send_header("Content-Length", str(HUGE))
        self.end_headers()
        sent = 0
        try:
            while sent < HUGE:
                self.wfile.write(_BLOCK)
                sent += len(_BLOCK)
        except OSError:  # the client stopped reading: what the test wants
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: PriceServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass
