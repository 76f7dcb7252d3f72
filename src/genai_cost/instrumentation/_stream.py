"""One stream proxy, sync and async, that ends the call's span when the stream ends.

The proxy keeps the SDK's stream object for the app (its attributes, ``close()``, context
manager, ``isinstance`` checks, copies) and finishes the :class:`Invocation` exactly once: on
exhaustion, ``close()``, context-manager exit, or an error while iterating. A stream the app
drops unfinished is abandoned by the finalizer of its :class:`Unfinished` call and finished
later, with the usage its chunks had reported. Providers supply an :class:`Accumulator`: a
plain object with no OpenTelemetry code that sees each chunk and says what the stream
amounted to.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import Any, Protocol

import wrapt

from genai_cost.instrumentation._core import Invocation, Response, Unfinished, log_failure, safe

__all__ = ["Accumulator", "AsyncStreamProxy", "CallProxy", "SyncStreamProxy", "proxy_stream"]


class Accumulator(Protocol):
    def add(self, chunk: Any) -> bool:
        """Look at one chunk; return False to hide it from the app."""

    def result(self) -> Response:
        """What the chunks seen so far amount to."""


class CallProxy(wrapt.ObjectProxy):  # type: ignore[type-arg]
    """A proxy of an SDK object that belongs to a call in flight, copied like the SDK object.

    ``copy.copy`` gives a proxy of the SDK object's copy in the same call; a deep copy or a
    pickle is of the SDK object alone (it succeeds or fails as the SDK object does).
    """

    def __copy__(self) -> Any:
        return self._self_copy(copy.copy(self.__wrapped__))

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return copy.deepcopy(self.__wrapped__, memo)

    def __reduce__(self) -> Any:
        return self.__wrapped__.__reduce__()

    def __reduce_ex__(self, protocol: Any) -> Any:
        return self.__wrapped__.__reduce_ex__(protocol)

    def _self_copy(self, wrapped: Any) -> Any:
        """A proxy of ``wrapped`` (a copy of the SDK object) sharing this proxy's call."""
        raise NotImplementedError


class _StreamProxy(CallProxy):
    """State and finishing shared by the sync and async proxies."""

    def __init__(
        self, stream: Any, invocation: Invocation, accumulator: Accumulator, unfinished: Unfinished | None = None
    ) -> None:
        """``unfinished``: the call's, when other proxies of it exist (the raw response it came from)."""
        super().__init__(stream)
        self._self_invocation = invocation
        self._self_accumulator = accumulator
        self._self_started = False
        if unfinished is None:
            unfinished = Unfinished(invocation)
        unfinished.read_response = accumulator.result
        self._self_unfinished = unfinished

    def _self_copy(self, wrapped: Any) -> Any:
        return type(self)(wrapped, self._self_invocation, self._self_accumulator, self._self_unfinished)

    def _self_deliver(self, chunk: Any) -> bool:
        if not self._self_started:
            self._self_started = True
            self._self_invocation.first_chunk()
        accumulator = self._self_accumulator
        try:  # inline rather than safe(): this runs once per chunk
            return accumulator.add(chunk) is not False
        except Exception:
            log_failure(accumulator.add)
            return True

    def _self_end(self) -> None:
        invocation = self._self_invocation
        if not invocation.done:
            invocation.finish(safe(self._self_accumulator.result))

    def _self_fail(self, error: BaseException) -> None:
        self._self_invocation.fail(error)

    def _self_exit(self, exc: BaseException | None) -> None:
        if exc is None:
            self._self_end()
        else:
            self._self_fail(exc)


class SyncStreamProxy(_StreamProxy):
    """Proxy for a synchronous SDK stream: an iterator, or an iterable (botocore's EventStream)."""

    def __init__(
        self, stream: Any, invocation: Invocation, accumulator: Accumulator, unfinished: Unfinished | None = None
    ) -> None:
        super().__init__(stream, invocation, accumulator, unfinished)
        self._self_iterator = stream if isinstance(stream, Iterator) else iter(stream)

    def __iter__(self) -> Iterator[Any]:
        # As the SDK stream does: itself if it is its own iterator, else a new one each time.
        stream = self.__wrapped__
        chunks = iter(stream)
        return self if chunks is stream else self._self_each(chunks)

    def _self_each(self, chunks: Iterator[Any]) -> Iterator[Any]:
        """The chunks of the SDK's own iterator (which draws on what its ``__next__`` does), one
        generator frame resumed per chunk: a for-loop over the stream calls no method per chunk."""
        accumulator = self._self_accumulator
        while True:
            try:
                chunk = next(chunks)
            except StopIteration:
                self._self_end()
                return
            except BaseException as error:
                self._self_fail(error)
                raise
            if not self._self_started:
                if self._self_deliver(chunk):
                    yield chunk
                continue
            try:
                shown = accumulator.add(chunk) is not False
            except Exception:
                log_failure(accumulator.add)
                shown = True
            if shown:
                yield chunk

    def __next__(self) -> Any:
        while True:
            try:
                chunk = next(self._self_iterator)
            except StopIteration:
                self._self_end()
                raise
            except BaseException as error:
                self._self_fail(error)
                raise
            if self._self_started:  # _self_deliver's common case inline: this runs once per chunk
                accumulator = self._self_accumulator
                try:
                    if accumulator.add(chunk) is not False:
                        return chunk
                except Exception:
                    log_failure(accumulator.add)
                    return chunk
            elif self._self_deliver(chunk):
                return chunk

    def close(self) -> None:
        try:
            self.__wrapped__.close()
        finally:
            self._self_end()

    def __enter__(self) -> SyncStreamProxy:
        self.__wrapped__.__enter__()
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(exc_type, exc, tb)
        finally:
            self._self_exit(exc)


class AsyncStreamProxy(_StreamProxy):
    """Proxy for an asynchronous SDK stream (an async iterator or an async iterable)."""

    def __init__(
        self, stream: Any, invocation: Invocation, accumulator: Accumulator, unfinished: Unfinished | None = None
    ) -> None:
        super().__init__(stream, invocation, accumulator, unfinished)
        self._self_iterator = stream if isinstance(stream, AsyncIterator) else aiter(stream)

    def __aiter__(self) -> AsyncIterator[Any]:
        stream = self.__wrapped__
        return self if aiter(stream) is stream else self._self_each()

    async def _self_each(self) -> AsyncIterator[Any]:
        next_chunk = self.__anext__
        while True:
            try:
                chunk = await next_chunk()
            except StopAsyncIteration:
                return
            yield chunk

    async def __anext__(self) -> Any:
        while True:
            try:
                chunk = await self._self_iterator.__anext__()
            except StopAsyncIteration:
                self._self_end()
                raise
            except BaseException as error:
                self._self_fail(error)
                raise
            if self._self_deliver(chunk):
                return chunk

    async def close(self) -> None:
        try:
            await self.__wrapped__.close()
        finally:
            self._self_end()

    async def aclose(self) -> None:
        try:
            await self.__wrapped__.aclose()
        finally:
            self._self_end()

    async def __aenter__(self) -> AsyncStreamProxy:
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc_value: BaseException | None, traceback: TracebackType | None
    ) -> bool | None:
        try:
            exited: bool | None = await self.__wrapped__.__aexit__(exc_type, exc_value, traceback)
            return exited
        finally:
            self._self_exit(exc_value)


def proxy_stream(stream: Any, invocation: Invocation, accumulator: Accumulator) -> Any:
    """The sync or async proxy of ``stream``, by whether it is an async iterable."""
    proxy_type = AsyncStreamProxy if hasattr(stream, "__aiter__") else SyncStreamProxy
    return proxy_type(stream, invocation, accumulator)
