"""Proxies for aiobotocore's async results: its ``AioEventStream`` and its ``StreamingBody``.

Both extend the botocore ones' logic (:mod:`.._stream`, :mod:`..bedrock.body_proxy`): only the
reads are awaited. The body's helpers (``iter_chunks``, ``iter_lines``, ``async for``) run
with the proxy as ``self``, so their reads pass through it, as with botocore.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from genai_cost.instrumentation._core import Invocation, Unfinished
from genai_cost.instrumentation._stream import Accumulator, AsyncStreamProxy, SyncStreamProxy
from genai_cost.instrumentation.bedrock.body_proxy import StreamingBodyProxy, _reads_to_end

__all__ = ["AsyncStreamingBodyProxy", "EventStreamProxy", "body_type"]

T = TypeVar("T")


def body_type() -> type:
    """aiobotocore's body class: ``AioStreamingBodyBase`` (3.x: aiohttp and httpx bodies),
    else its ``StreamingBody`` (2.x, a wrapt proxy of the aiohttp response)."""
    from aiobotocore import response

    found: type = getattr(response, "AioStreamingBodyBase", response.StreamingBody)
    return found


class EventStreamProxy(AsyncStreamProxy):
    """``AioEventStream``: its ``__anext__`` is an async generator function, so although it
    looks like its own async iterator, its events come from ``aiter(stream)``; ``close()`` is
    synchronous."""

    def __init__(
        self, stream: Any, invocation: Invocation, accumulator: Accumulator, unfinished: Unfinished | None = None
    ) -> None:
        super().__init__(stream, invocation, accumulator, unfinished)
        self._self_iterator = aiter(stream)

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._self_each()

    close = SyncStreamProxy.close  # type: ignore[assignment]


class AsyncStreamingBodyProxy(StreamingBodyProxy):
    """The app's async ``StreamingBody``, whose awaited reads also feed the body accumulator."""

    async def _self_await(self, read: Callable[..., Awaitable[T]], *args: Any) -> T:
        try:
            return await read(*args)
        except BaseException as error:
            self._self_fail(error)
            raise

    async def read(self, amt: int | None = None) -> bytes:  # type: ignore[override]
        data: bytes = await self._self_await(self.__wrapped__.read, amt)
        self._self_seen(data, _reads_to_end(amt, data))
        return data

    async def readinto(self, buffer: Any) -> int:  # type: ignore[override]
        size: int = await self._self_await(self.__wrapped__.readinto, buffer)
        with memoryview(buffer) as view, view.cast("B") as octets:
            self._self_seen(octets[:size].tobytes(), size == 0 and len(octets) > 0)
        return size

    async def readlines(self) -> list[bytes]:  # type: ignore[override]
        return [line async for line in self.iter_lines()]

    def _self_helper(self, name: str) -> Any:
        """The body class's own ``name`` bound to the proxy, so its reads are the proxy's."""
        return getattr(type(self.__wrapped__), name).__get__(self)

    def iter_chunks(self, *args: Any, **kwargs: Any) -> Any:
        return self._self_helper("iter_chunks")(*args, **kwargs)

    def iter_lines(self, *args: Any, **kwargs: Any) -> Any:
        return self._self_helper("iter_lines")(*args, **kwargs)

    def __aiter__(self) -> Any:
        return self._self_helper("__aiter__")()

    async def __anext__(self) -> bytes:
        chunk: bytes = await self._self_helper("__anext__")()
        return chunk

    anext = __anext__

    # Synchronous iteration and ``with`` are the body's own (aiobotocore refuses them).
    def __iter__(self) -> Any:
        return iter(self.__wrapped__)

    def __next__(self) -> bytes:
        chunk: bytes = next(self.__wrapped__)
        return chunk

    next = __next__

    def close(self) -> Any:
        """Synchronous for aiohttp bodies, a coroutine for httpx ones."""
        try:
            closing = self.__wrapped__.close()
        except BaseException:
            self._self_end()
            raise
        if inspect.isawaitable(closing):
            return self._self_closing(closing)
        self._self_end()
        return closing

    async def _self_closing(self, closing: Awaitable[Any]) -> Any:
        try:
            return await closing
        finally:
            self._self_end()

    # The async context manager and aclose() are an async stream's (the body's own, then the end).
    aclose = AsyncStreamProxy.aclose
    __aenter__ = AsyncStreamProxy.__aenter__
    __aexit__ = AsyncStreamProxy.__aexit__
