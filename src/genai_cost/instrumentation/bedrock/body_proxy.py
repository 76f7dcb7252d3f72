"""A proxy for botocore's ``StreamingBody`` that sees the bytes as the app reads them.

``invoke_model`` returns as soon as the response headers arrive; the body is read later, by
the app. Reading it ourselves inside ``invoke_model`` would move the wait for the body into
that call and, when the connection breaks, leave the app a body whose own read raises
``IncompleteReadError`` instead of the SDK's ``ResponseStreamingError`` or
``ReadTimeoutError``. So every read is the app's own, on the real body, raising what it
raises; the proxy only looks at the bytes that pass, and ends the call when the body has
been read to its end, is closed, fails, or is dropped.

botocore's helpers over ``read`` (``iter_chunks``, ``iter_lines``, iteration) run with the
proxy as ``self``, so their reads pass through it too. ``with body as raw`` hands out the
raw urllib3 stream, whose reads the proxy cannot see: the call then ends at the block's exit
with what the headers say. A body dropped unread is handled as an abandoned stream is, by the
stream proxy this one extends (:mod:`genai_cost.instrumentation._stream`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar, cast

from botocore.response import StreamingBody

from genai_cost.instrumentation._core import Response, log_failure, safe
from genai_cost.instrumentation._stream import _StreamProxy

__all__ = ["BodyAccumulator", "StreamingBodyProxy"]

T = TypeVar("T")


class BodyAccumulator(Protocol):
    def add(self, data: bytes) -> bool:
        """Look at bytes the app read; always True (the app sees every byte)."""

    def end(self) -> None:
        """The app read the body to its end."""

    @property
    def complete(self) -> bool:
        """Whether every byte of the body has been seen."""

    def result(self) -> Response:
        """What the body amounts to: parsed when complete, else what the headers say."""


def _reads_to_end(amt: int | None, data: bytes) -> bool:
    """Whether ``read(amt)`` returning ``data`` reached the end of the body."""
    return amt is None or amt < 0 or (amt > 0 and not data)


class StreamingBodyProxy(_StreamProxy):
    """The app's ``StreamingBody``, whose reads also feed a :class:`BodyAccumulator`."""

    @property
    def _self_body(self) -> BodyAccumulator:
        # The shared constructor keeps it as a plain Accumulator; it is given a BodyAccumulator.
        return cast(BodyAccumulator, self._self_accumulator)

    def _self_seen(self, data: bytes, at_end: bool) -> None:
        if self._self_invocation.done:
            return
        body = self._self_body
        try:  # inline rather than safe(): this runs once per read
            body.add(data)
            if at_end:
                body.end()
            complete = body.complete
        except Exception:
            log_failure(body.add)
            complete = at_end
        if complete:
            self._self_end()

    def _self_fail(self, error: BaseException) -> None:
        # The headers already said what the call was billed; the span keeps that beside the error.
        invocation = self._self_invocation
        if not invocation.done:
            invocation.finish(safe(self._self_body.result), error)

    def _self_call(self, read: Callable[..., T], *args: Any) -> T:
        """The real body's ``read``: the call fails with whatever it raises, unchanged."""
        try:
            return read(*args)
        except BaseException as error:
            self._self_fail(error)
            raise

    def read(self, amt: int | None = None) -> bytes:
        data: bytes = self._self_call(self.__wrapped__.read, amt)
        self._self_seen(data, _reads_to_end(amt, data))
        return data

    def readinto(self, buffer: Any) -> int:
        size: int = self._self_call(self.__wrapped__.readinto, buffer)
        with memoryview(buffer) as view, view.cast("B") as octets:
            self._self_seen(octets[:size].tobytes(), size == 0 and len(octets) > 0)
        return size

    def readline(self, size: int | None = -1) -> bytes:
        line: bytes = self._self_call(self.__wrapped__.readline, size)
        self._self_seen(line, not line and size != 0)
        return line

    def readlines(self) -> list[bytes]:
        lines: list[bytes] = self._self_call(self.__wrapped__.readlines)
        for line in lines[:-1]:
            self._self_seen(line, False)
        self._self_seen(lines[-1] if lines else b"", True)
        return lines

    def iter_chunks(self, *args: Any, **kwargs: Any) -> Any:
        return StreamingBody.iter_chunks(self, *args, **kwargs)

    def iter_lines(self, *args: Any, **kwargs: Any) -> Any:
        return StreamingBody.iter_lines(self, *args, **kwargs)

    def __iter__(self) -> Any:
        return StreamingBody.__iter__(self)

    def __next__(self) -> bytes:
        chunk: bytes = StreamingBody.__next__(self)
        return chunk

    next = __next__

    def close(self) -> None:
        try:
            self.__wrapped__.close()
        finally:
            self._self_end()

    def __enter__(self) -> Any:
        return self.__wrapped__.__enter__()

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(exc_type, exc, tb)
        finally:
            self._self_exit(exc)
