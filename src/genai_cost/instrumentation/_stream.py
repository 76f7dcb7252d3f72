"""One stream proxy, sync and async, that ends the call's span when the stream ends.

The proxy keeps the SDK's stream object for the app (its attributes, ``close()``, context
manager, ``isinstance`` checks) and finishes the :class:`Invocation` exactly once: on
exhaustion, ``close()``, context-manager exit, an error while iterating, or garbage
collection of an abandoned stream. Providers supply an :class:`Accumulator`: a plain object
with no OpenTelemetry code that sees each chunk and says what the stream amounted to.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, Protocol

import wrapt

from genai_cost.instrumentation._core import Invocation, Response, log_failure, safe

__all__ = ["Accumulator", "AsyncStreamProxy", "SyncStreamProxy"]


class Accumulator(Protocol):
    def add(self, chunk: Any) -> bool:
        """Look at one chunk; return False to hide it from the app."""

    def result(self) -> Response:
        """What the chunks seen so far amount to."""


class _StreamProxy(wrapt.ObjectProxy):  # type: ignore[type-arg]
    """State and finishing shared by the sync and async proxies."""

    def __init__(self, stream: Any, invocation: Invocation, accumulator: Accumulator) -> None:
        super().__init__(stream)
        self._self_invocation = invocation
        self._self_accumulator = accumulator
        self._self_started = False

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

    def __del__(self) -> None:
        self._self_end()


class SyncStreamProxy(_StreamProxy):
    """Proxy for a synchronous SDK stream: an iterator, or an iterable (botocore's EventStream)."""

    def __init__(self, stream: Any, invocation: Invocation, accumulator: Accumulator) -> None:
        super().__init__(stream, invocation, accumulator)
        self._self_iterator = stream if isinstance(stream, Iterator) else iter(stream)

    def __iter__(self) -> SyncStreamProxy:
        return self

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
            if self._self_deliver(chunk):
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

    def __init__(self, stream: Any, invocation: Invocation, accumulator: Accumulator) -> None:
        super().__init__(stream, invocation, accumulator)
        self._self_iterator = stream if isinstance(stream, AsyncIterator) else aiter(stream)

    def __aiter__(self) -> AsyncStreamProxy:
        return self

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

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(exc_type, exc, tb)
        finally:
            self._self_exit(exc)
