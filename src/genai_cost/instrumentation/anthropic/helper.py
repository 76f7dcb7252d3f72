"""``messages.stream(...)``: the SDK's stream helper, which does not go through ``create``.

``stream()`` returns a ``MessageStreamManager`` that sends the request when entered
(``with``/``async with``) and hands out a ``MessageStream``. Everything the app can read from
that stream (iteration, ``text_stream``, ``get_final_message()``, ``until_done()``) pulls raw
events from the one SDK ``Stream`` it holds, so that raw stream is proxied like a
``create(stream=True)`` result: same accumulator, one span, ended when the events end. The
call starts (span, clock, ``track_usage``) when the manager is entered, as the request does: a
manager never entered is no call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from genai_cost.instrumentation._core import Invocation, Unfinished, safe
from genai_cost.instrumentation._stream import AsyncStreamProxy, CallProxy, SyncStreamProxy
from genai_cost.instrumentation.anthropic.messages import EventAccumulator

__all__ = ["wrap_stream_manager"]

logger = logging.getLogger(__name__)

# The SDK's helper streams keep the raw event stream here (0.x through 2.x, beta included).
_RAW_STREAM = "_raw_stream"


class _ManagerProxy(CallProxy):
    """The call starts when the manager is entered: a manager never entered sends nothing and
    records nothing. Once entered, the call is shared with the proxy of the raw event stream."""

    def __init__(self, manager: Any, start: Callable[[], Invocation | None]) -> None:
        super().__init__(manager)
        self._self_start = start
        self._self_call: tuple[Invocation, EventAccumulator, Unfinished] | None = None

    def _self_copy(self, wrapped: Any) -> Any:
        twin = type(self)(wrapped, self._self_start)
        twin._self_call = self._self_call
        return twin

    def _self_begin(self) -> Invocation | None:
        invocation = self._self_start()
        if invocation is not None:
            accumulator = EventAccumulator()
            self._self_call = (invocation, accumulator, Unfinished(invocation, accumulator.result))
        return invocation

    def _self_opened(self, stream: Any, proxy_type: type[SyncStreamProxy | AsyncStreamProxy]) -> Any:
        raw = getattr(stream, _RAW_STREAM, None)
        if raw is None or self._self_call is None:
            logger.debug("genai-cost: %s has no raw stream; its span ends at exit without usage", type(stream))
        else:
            setattr(stream, _RAW_STREAM, proxy_type(raw, *self._self_call))
        return stream

    def _self_leaving(self, exc: BaseException | None) -> None:
        # An error inside the app's with-block ends the call as failed, as for every stream.
        if exc is not None and self._self_call is not None:
            self._self_call[0].fail(exc)

    def _self_closed(self) -> None:
        # A no-op when the proxied raw stream already ended the span.
        if self._self_call is not None:
            invocation, accumulator, _unfinished = self._self_call
            invocation.finish(safe(accumulator.result))


class _SyncManagerProxy(_ManagerProxy):
    def __enter__(self) -> Any:
        invocation = self._self_begin()
        if invocation is None:
            return self.__wrapped__.__enter__()
        try:
            with invocation.activated():
                stream = self.__wrapped__.__enter__()
        except BaseException as error:
            invocation.fail(error)
            raise
        return self._self_opened(stream, SyncStreamProxy)

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> Any:
        self._self_leaving(exc)
        try:
            return self.__wrapped__.__exit__(exc_type, exc, tb)
        finally:
            self._self_closed()


class _AsyncManagerProxy(_ManagerProxy):
    async def __aenter__(self) -> Any:
        invocation = self._self_begin()
        if invocation is None:
            return await self.__wrapped__.__aenter__()
        try:
            with invocation.activated():
                stream = await self.__wrapped__.__aenter__()
        except BaseException as error:
            invocation.fail(error)
            raise
        return self._self_opened(stream, AsyncStreamProxy)

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> Any:
        self._self_leaving(exc)
        try:
            return await self.__wrapped__.__aexit__(exc_type, exc, tb)
        finally:
            self._self_closed()


def wrap_stream_manager(manager: Any, start: Callable[[], Invocation | None]) -> Any:
    """A ``wrap_manager`` for ``stream()``: the call starts at the enter, its span ends with the
    helper's raw event stream."""
    proxy_type = _AsyncManagerProxy if hasattr(manager, "__aenter__") else _SyncManagerProxy
    return proxy_type(manager, start)
