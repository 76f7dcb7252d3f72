"""What pricing a background call once takes, whichever provider ran it.

A background call (OpenAI Responses ``background=True``, a Gemini interaction created with
``background=True``) answers unfinished, without usage; its usage arrives later on a retrieve
(``responses.retrieve``, ``interactions.get``), non-streamed or as a streamed continuation. The
first reading of that usage in this process is recorded with
:func:`~genai_cost.instrumentation._core.record_now`, no later one: :class:`RecentIds` remembers
which ids were priced (or are still awaited), :func:`watch_continuation` sees the finished
result a streamed retrieve's final event carries.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import wrapt

from genai_cost._fork import fork_safe_lock
from genai_cost.instrumentation._core import safe

__all__ = ["RecentIds", "watch_continuation"]


class RecentIds:
    """The ``size`` most recently seen ids of one kind (priced, awaited); thread-safe. A bound,
    not a log: an id forgotten after ``size`` newer ones is as one never seen."""

    def __init__(self, size: int) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._size = size
        self._lock = fork_safe_lock(self)

    def claim(self, call_id: str) -> bool:
        """True the first time ``call_id`` is claimed (it is remembered from now on)."""
        with self._lock:
            if call_id in self._ids:
                self._ids.move_to_end(call_id)
                return False
            self._ids[call_id] = None
            if len(self._ids) > self._size:
                self._ids.popitem(last=False)
            return True

    def take(self, call_id: str) -> bool:
        """True if ``call_id`` was remembered (it is forgotten now): once per :meth:`claim`."""
        with self._lock:
            return self._ids.pop(call_id, False) is None


class _Continuation(wrapt.ObjectProxy):  # type: ignore[type-arg]
    """A streamed retrieve's events, every one reaching the app; the finished result an event
    carries (``final``) is handed to ``record``."""

    def __init__(self, stream: Any, final: Callable[[Any], Any], record: Callable[[Any], None]) -> None:
        super().__init__(stream)
        self._self_final = final
        self._self_record = record

    def _self_see(self, event: Any) -> Any:
        result = safe(self._self_final, event)
        if result is not None:
            safe(self._self_record, result)
        return event


class _SyncContinuation(_Continuation):
    def __enter__(self) -> Any:
        self.__wrapped__.__enter__()
        return self

    def __iter__(self) -> Any:
        return self

    def __next__(self) -> Any:
        return self._self_see(next(self.__wrapped__))


class _AsyncContinuation(_Continuation):
    async def __aenter__(self) -> Any:
        await self.__wrapped__.__aenter__()
        return self

    def __aiter__(self) -> Any:
        return self

    async def __anext__(self) -> Any:
        return self._self_see(await self.__wrapped__.__anext__())


def watch_continuation(stream: Any, final: Callable[[Any], Any], record: Callable[[Any], None]) -> Any:
    """A proxy of ``stream`` (an iterator or async iterator of events) that hands ``record`` the
    finished result ``final(event)`` finds in an event; None if ``stream`` is neither."""
    kind = type(stream)  # a pydantic result iterates too, but has no __next__
    if hasattr(kind, "__anext__"):
        return _AsyncContinuation(stream, final, record)
    if hasattr(kind, "__next__"):
        return _SyncContinuation(stream, final, record)
    return None
