"""``messages.stream(...)``: the SDK's stream helper, which does not go through ``create``.

``stream()`` returns a ``MessageStreamManager`` that sends the request when entered
(``with``/``async with``) and hands out a ``MessageStream``. Everything the app can read from
that stream (iteration, ``text_stream``, ``get_final_message()``, ``until_done()``) pulls raw
events from the one SDK ``Stream`` it holds, so that raw stream is proxied like a
``create(stream=True)`` result: same accumulator, one span, ended when the events end.
"""

from __future__ import annotations

import logging
from typing import Any

import wrapt

from genai_cost.instrumentation._core import Invocation, Request, safe
from genai_cost.instrumentation._stream import AsyncStreamProxy, SyncStreamProxy
from genai_cost.instrumentation.anthropic.messages import EventAccumulator

__all__ = ["wrap_stream_manager"]

logger = logging.getLogger(__name__)

# The SDK's helper streams keep the raw event stream here (0.x through 2.x, beta included).
_RAW_STREAM = "_raw_stream"


class _ManagerProxy(wrapt.ObjectProxy):  # type: ignore[type-arg]
    def __init__(self, manager: Any, invocation: Invocation) -> None:
        super().__init__(manager)
        self._self_invocation = invocation
        self._self_accumulator = EventAccumulator()
        self._self_entered = False

    def _self_opened(self, stream: Any, proxy_type: type[SyncStreamProxy | AsyncStreamProxy]) -> Any:
        raw = getattr(stream, _RAW_STREAM, None)
        if raw is None:
            logger.debug("genai-cost: %s has no raw stream; its span ends at exit without usage", type(stream))
        else:
            setattr(stream, _RAW_STREAM, proxy_type(raw, self._self_invocation, self._self_accumulator))
        return stream

    def _self_leaving(self, exc: BaseException | None) -> None:
        # An error inside the app's with-block ends the call as failed, as for every stream.
        if exc is not None:
            self._self_invocation.fail(exc)

    def _self_closed(self) -> None:
        # A no-op when the proxied raw stream already ended the span.
        self._self_invocation.finish(safe(self._self_accumulator.result))

    def __del__(self) -> None:
        if not self._self_entered:
            self._self_invocation.finish(None)


class _SyncManagerProxy(_ManagerProxy):
    def __enter__(self) -> Any:
        self._self_entered = True
        invocation = self._self_invocation
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
        self._self_entered = True
        invocation = self._self_invocation
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


def wrap_stream_manager(manager: Any, invocation: Invocation, request: Request) -> Any:
    """A ``wrap_result`` for ``stream()``: the span ends with the helper's raw event stream."""
    proxy_type = _AsyncManagerProxy if hasattr(manager, "__aenter__") else _SyncManagerProxy
    return proxy_type(manager, invocation)
