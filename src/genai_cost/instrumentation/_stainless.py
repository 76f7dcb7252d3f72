"""Results of Stainless-generated SDKs (openai, anthropic) that arrive after the call returns.

``stream=True`` returns a ``Stream``/``AsyncStream``; ``with_raw_response`` and
``with_streaming_response`` return an API response object whose ``parse()`` yields the real
result later. Both are proxied so the span ends when the result is really there, and the app
keeps the object it would have had.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from genai_cost.instrumentation._core import Invocation, Request, Unfinished, safe
from genai_cost.instrumentation._stream import Accumulator, AsyncStreamProxy, CallProxy, SyncStreamProxy

__all__ = ["result_wrapper"]

AccumulatorFactory = Callable[[Request], Accumulator]


@lru_cache(maxsize=256)
def _parses(cls: Any) -> bool:
    """The class has a ``parse`` attribute; remembered per class: on a pydantic result's class
    (most results) the missing attribute costs an exception inside pydantic every time."""
    return hasattr(cls, "parse")


def _is_api_response(result: Any) -> bool:
    cls: Any = type(result)
    return _parses(cls) and hasattr(result, "http_response")


def _stream_proxy(
    stream: Any, invocation: Invocation, accumulator: Accumulator, unfinished: Unfinished | None = None
) -> Any:
    # Look through other instrumentations' proxies (wrapt's __wrapped__): some define both
    # __iter__ and __aiter__ whatever they wrap.
    inner = stream
    for _ in range(8):
        wrapped = getattr(inner, "__wrapped__", None)
        if wrapped is None:
            break
        inner = wrapped
    proxy_type = AsyncStreamProxy if hasattr(inner, "__aiter__") else SyncStreamProxy
    return proxy_type(stream, invocation, accumulator, unfinished)


class _ApiResponseProxy(CallProxy):
    """Ends the span when the app parses the raw response; a raw response dropped unparsed
    is abandoned (without usage), one parsed into a stream lives on in the stream's proxy."""

    def __init__(
        self,
        response: Any,
        invocation: Invocation,
        make_accumulator: AccumulatorFactory | None,
        unfinished: Unfinished | None = None,
    ) -> None:
        super().__init__(response)
        self._self_invocation = invocation
        self._self_make_accumulator = make_accumulator
        self._self_unfinished = Unfinished(invocation) if unfinished is None else unfinished
        self._self_parsed: tuple[Any, Any] | None = None

    def _self_copy(self, wrapped: Any) -> Any:
        twin = type(self)(wrapped, self._self_invocation, self._self_make_accumulator, self._self_unfinished)
        twin._self_parsed = self._self_parsed
        return twin

    def _self_settle(self, parsed: Any) -> Any:
        if self._self_parsed is not None and self._self_parsed[0] is parsed:
            return self._self_parsed[1]
        invocation = self._self_invocation
        make_accumulator = self._self_make_accumulator
        result = parsed
        if not invocation.done:
            if make_accumulator is not None and invocation.request.kwargs.get("stream") is True:
                accumulator = safe(make_accumulator, invocation.request)
                if accumulator is not None:
                    result = _stream_proxy(parsed, invocation, accumulator, self._self_unfinished)
            else:
                invocation.finish(safe(invocation.operation.read_response, parsed))
        self._self_parsed = (parsed, result)
        return result

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        try:
            parsed = self.__wrapped__.parse(*args, **kwargs)
        except BaseException as error:  # e.g. a structured-output failure carrying its billed completion
            self._self_invocation.fail(error)
            raise
        return self._self_settle(parsed)


class _AsyncApiResponseProxy(_ApiResponseProxy):
    async def parse(self, *args: Any, **kwargs: Any) -> Any:
        try:
            parsed = await self.__wrapped__.parse(*args, **kwargs)
        except BaseException as error:
            self._self_invocation.fail(error)
            raise
        return self._self_settle(parsed)


def result_wrapper(make_accumulator: AccumulatorFactory | None = None) -> Callable[[Any, Invocation, Request], Any]:
    """A ``wrap_result`` for ``Operation``: proxies streams and raw responses, else returns None.

    Without ``make_accumulator`` the method never streams and only raw responses are proxied.
    """

    def wrap(result: Any, invocation: Invocation, request: Request) -> Any:
        if _is_api_response(result):
            is_async = inspect.iscoroutinefunction(getattr(type(result), "parse", None))
            proxy_type = _AsyncApiResponseProxy if is_async else _ApiResponseProxy
            return proxy_type(result, invocation, make_accumulator)
        if make_accumulator is not None and request.kwargs.get("stream") is True:
            return _stream_proxy(result, invocation, make_accumulator(request))
        return None

    return wrap
