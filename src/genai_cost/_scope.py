"""A context manager that is also a decorator, for functions, coroutines and generators.

``track_usage`` and ``attribute`` share it: the decorated function runs inside ``with self``.
A generator's body runs in its consumer's context, between the consumer's own steps, so a
decorated generator (sync or async) is inside the block only while it runs itself: each step,
``throw`` and ``close``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from contextlib import AbstractContextManager
from typing import Any, TypeVar

__all__ = ["ScopeDecorator"]

F = TypeVar("F", bound=Callable[..., Any])


class ScopeDecorator(AbstractContextManager[Any]):
    """Subclasses implement ``__enter__``/``__exit__``; entering must not keep per-entry state on
    ``self``, so one decorated function may run in several threads or tasks at once."""

    def __call__(self, func: F) -> F:
        if inspect.isasyncgenfunction(func):

            @functools.wraps(func)
            def run_async_generator(*args: Any, **kwargs: Any) -> Any:
                return self._async_steps(func(*args, **kwargs))

            return run_async_generator  # type: ignore[return-value]

        if inspect.isgeneratorfunction(func):

            @functools.wraps(func)
            def run_generator(*args: Any, **kwargs: Any) -> Any:
                return (yield from self._steps(func(*args, **kwargs)))

            return run_generator  # type: ignore[return-value]

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with self:
                    return await func(*args, **kwargs)

            return run_async  # type: ignore[return-value]

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)

        return run  # type: ignore[return-value]

    def _steps(self, generator: Generator[Any, Any, Any]) -> Generator[Any, Any, Any]:
        step: Callable[[Any], Any] = generator.send
        value: Any = None
        while True:
            with self:
                try:
                    item = step(value)
                except StopIteration as stop:
                    return stop.value
            try:
                value, step = (yield item), generator.send
            except GeneratorExit:
                with self:
                    generator.close()
                raise
            except BaseException as error:
                value, step = error, generator.throw

    async def _async_steps(self, generator: AsyncGenerator[Any, Any]) -> AsyncGenerator[Any, Any]:
        step: Callable[[Any], Awaitable[Any]] = generator.asend
        value: Any = None
        while True:
            with self:
                try:
                    item = await step(value)
                except StopAsyncIteration:
                    return
            try:
                value, step = (yield item), generator.asend
            except GeneratorExit:
                with self:
                    await generator.aclose()
                raise
            except BaseException as error:
                value, step = error, generator.athrow
