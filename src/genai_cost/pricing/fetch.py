"""One check of a pricing source: an http(s) URL (a conditional GET) or a file path (re-read
only when it changed). Standard library only.

Bounded in time and size: connecting and each read time out after ``timeout``, the whole body
must arrive within ``deadline`` (a server trickling bytes cannot hold the refresher), and a body
over ``max_bytes`` is refused: by its ``Content-Length`` before reading, else as soon as the cap
is passed. The validators of a document (ETag, Last-Modified, file state) are sent back only
once the caller :meth:`Fetcher.accept`-ed it: a document that failed validation is fetched again.
"""

from __future__ import annotations

import http.client
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import IO

from genai_cost.pricing.calculate import as_utc
from genai_cost.semconv import RefreshFailure
from genai_cost.version import __version__

__all__ = ["DEADLINE", "MAX_BYTES", "TIMEOUT", "FetchError", "Fetched", "Fetcher"]

TIMEOUT = 10.0
"""Seconds to connect, and between two reads."""
DEADLINE = 60.0
"""Seconds for a whole fetch."""
MAX_BYTES = 16 * 1024 * 1024
"""The largest document accepted (the bundled table is 0.7 MB, genai-prices' data a few MB)."""
_CHUNK = 64 * 1024
_USER_AGENT = f"genai-cost/{__version__}"


@dataclass(frozen=True)
class Fetched:
    """A document's bytes and what identifies this version of it."""

    data: bytes
    etag: str | None = None
    last_modified: str | None = None
    """The ``Last-Modified`` header as sent (returned as ``If-Modified-Since``)."""
    modified_at: datetime | None = None
    """``Last-Modified``, or the file's modification time."""
    state: tuple[int, ...] | None = None
    """A file's (inode, size, mtime in ns), to tell whether it changed."""


class FetchError(Exception):
    """A check that got no document; ``kind`` is a ``RefreshFailure`` value (or ``http_<status>``)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class Fetcher:
    """Checks one source; remembers the validators of the last accepted document."""

    def __init__(
        self,
        location: str,
        *,
        timeout: float | None = None,
        deadline: float | None = None,
        max_bytes: int | None = None,
    ) -> None:
        """Limits default to :data:`TIMEOUT`, :data:`DEADLINE` and :data:`MAX_BYTES` (read now)."""
        self.location = location
        self.is_url = location.lower().startswith(("http://", "https://"))
        self._timeout = TIMEOUT if timeout is None else timeout
        self._deadline = DEADLINE if deadline is None else deadline
        self._max_bytes = MAX_BYTES if max_bytes is None else max_bytes
        self._accepted: Fetched | None = None

    def fetch(self) -> Fetched | None:
        """The document, or ``None`` when it has not changed since the last accepted one.

        Raises :class:`FetchError`.
        """
        return self._fetch_url() if self.is_url else self._fetch_file()

    def accept(self, fetched: Fetched) -> None:
        """``fetched`` is in use: later checks ask whether it changed."""
        self._accepted = Fetched(b"", fetched.etag, fetched.last_modified, fetched.modified_at, fetched.state)

    # --- http(s) ------------------------------------------------------------------------

    def _fetch_url(self) -> Fetched | None:
        headers = {
            "User-Agent": f"genai-cost/{__version__}",
            "Accept": "application/json",
            "Accept-Encoding": "identity",
        }
        accepted = self._accepted
        if accepted is not None and accepted.etag:
            headers["If-None-Match"] = accepted.etag
        if accepted is not None and accepted.last_modified:
            headers["If-Modified-Since"] = accepted.last_modified
        request = urllib.request.Request(self.location, headers=headers)
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                self._check_length(response.headers.get("Content-Length"))
                data = self._read(response, started)
                etag = response.headers.get("ETag")
                last_modified = response.headers.get("Last-Modified")
        except urllib.error.HTTPError as error:
            error.close()
            if error.code == 304 and accepted is not None:
                return None
            raise FetchError(RefreshFailure.http(error.code), f"HTTP {error.code} {error.reason}") from None
        except urllib.error.URLError as error:
            raise _connection_error(error.reason) from None
        except (OSError, http.client.HTTPException) as error:
            raise _connection_error(error) from None
        return Fetched(data, etag, last_modified, _http_date(last_modified))

    def _check_length(self, declared: str | None) -> None:
        if declared is not None and declared.strip().isdigit() and int(declared) > self._max_bytes:
            raise FetchError(RefreshFailure.TOO_LARGE, f"{declared} bytes, over the {self._max_bytes} byte cap")

    def _read(self, stream: IO[bytes], started: float) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            if size > self._max_bytes:
                raise FetchError(RefreshFailure.TOO_LARGE, f"over the {self._max_bytes} byte cap")
            if time.monotonic() - started > self._deadline:
                raise FetchError(RefreshFailure.TIMEOUT, f"not received within {self._deadline:g} s")
            chunks.append(chunk)
        return b"".join(chunks)

    # --- file ---------------------------------------------------------------------------

    def _fetch_file(self) -> Fetched | None:
        try:
            with open(self.location, "rb") as file:
                stat = os.fstat(file.fileno())
                state = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
                if self._accepted is not None and self._accepted.state == state:
                    return None
                self._check_length(str(stat.st_size))
                data = self._read(file, time.monotonic())
        except OSError as error:
            raise FetchError(RefreshFailure.CONNECTION, f"cannot read file: {error.strerror or error}") from None
        modified = datetime.fromtimestamp(stat.st_mtime_ns / 1e9, timezone.utc)
        return Fetched(data, modified_at=modified, state=state)


def _connection_error(reason: object) -> FetchError:
    if isinstance(reason, TimeoutError):
        return FetchError(RefreshFailure.TIMEOUT, "timed out")
    return FetchError(RefreshFailure.CONNECTION, str(reason) or type(reason).__name__)


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return as_utc(moment)
