"""``track_usage()``: totals of tokens, requests and dollars of every call made inside a block.

Active blocks live in a ``ContextVar``, so calls made in nested functions, asyncio tasks
created inside the block and ``asyncio.to_thread`` count; plain thread pools count when the
context is propagated (``contextvars.copy_context().run`` or OpenTelemetry's threading
instrumentation). A call is attributed to the blocks active when it *started*, and counted
when it finishes (a stream when it ends). Each block has its own lock: there is no global
lock on the hot path.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from genai_cost._fork import fork_safe_lock
from genai_cost._text import counted, plain_decimal
from genai_cost.metrics import OTHER_MODEL
from genai_cost.pricing.normalize import MAX_MODEL_NAME_LENGTH
from genai_cost.usage import MAX_COUNT, TOKEN_FIELDS, Usage, token_count

if TYPE_CHECKING:
    from genai_cost.costing import Cost

__all__ = [
    "BudgetExceeded",
    "ModelUsage",
    "UsageTotals",
    "active_trackers",
    "check_budgets",
    "note_call_counter",
    "record_call",
    "track_usage",
]

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

_MAX_MODELS = 1_000
"""(provider, model) pairs a block keeps apart; calls of further models count under ``OTHER_MODEL``."""

_UNITS = tuple(name for name in TOKEN_FIELDS if not name.endswith("_tokens"))
"""``Usage`` fields counted in other units than tokens (web searches, seconds, pages, ...)."""

_active: ContextVar[tuple[UsageTotals, ...]] = ContextVar("genai_cost_usage_trackers", default=())
_call_counter_exists = False
"""True once something can count calls into blocks: a genai-cost instrumentor or a CostSpanProcessor.
(A plain flag, not a ``threading.Event``: an Event's lock is not renewed in a forked child.)"""


class BudgetExceeded(RuntimeError):
    """Raised before an LLM call starts inside ``track_usage(budget_usd=..., hard=True)`` once spent."""

    def __init__(self, spent: Decimal, budget: Decimal) -> None:
        super().__init__(f"LLM budget exceeded: spent ${spent} of ${budget}")
        self.spent = spent
        self.budget = budget


@dataclass
class ModelUsage:
    """Totals of one (provider, model) pair inside a block."""

    provider: str | None
    model: str | None
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    prompt_tokens_cached: int = 0
    cache_creation_tokens: int = 0
    reasoning_tokens: int = 0
    cost: Decimal = Decimal(0)
    cost_breakdown: dict[str, Decimal] = field(default_factory=dict)
    _counts: dict[str, int] = field(default_factory=dict, repr=False)

    @property
    def usage(self) -> Usage:
        """Every count the calls reported, summed per :class:`Usage` field (web searches included)."""
        return Usage(**self._counts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "model": self.model,
            "requests": self.requests,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "prompt_tokens_cached": self.prompt_tokens_cached,
            "cache_creation_tokens": self.cache_creation_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "cost": plain_decimal(self.cost),
            "cost_breakdown": {k: plain_decimal(v) for k, v in self.cost_breakdown.items()},
            "usage": dict(self._counts),
        }


def _reported_counts(usage: Usage) -> dict[str, int]:
    """The counts ``usage`` reports, read by the one rule every reader applies: a value that is
    not a count adds nothing."""
    counts = {}
    for name in TOKEN_FIELDS:
        value = getattr(usage, name)
        if value is not None and (valid := token_count(value)) is not None:
            counts[name] = valid
    return counts


def _accumulate(totals: dict[str, int], counts: dict[str, int]) -> None:
    for name, value in counts.items():
        totals[name] = min(totals.get(name, 0) + value, MAX_COUNT)


class UsageTotals:
    """What ``with track_usage() as usage`` yields; fields use LangChain's callback names."""

    def __init__(
        self,
        *,
        budget_usd: Decimal | None = None,
        on_budget_exceeded: Callable[[UsageTotals], None] | None = None,
        hard: bool = False,
    ) -> None:
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.prompt_tokens_cached = 0
        self.cache_creation_tokens = 0
        self.reasoning_tokens = 0
        self.successful_requests = 0
        self.failed_requests = 0
        self.total_cost = Decimal(0)
        self._counts: dict[str, int] = {}
        self.by_model: dict[tuple[str | None, str | None], ModelUsage] = {}
        self.unpriced: dict[tuple[str | None, str | None, str], int] = {}
        """(provider, model, reason) -> number of successful calls that could not be priced."""
        self.budget_usd = budget_usd
        self._on_budget_exceeded = on_budget_exceeded
        self._hard = hard
        self.budget_exceeded = False
        self._lock = fork_safe_lock(self)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def usage(self) -> Usage:
        """Every count the calls reported, summed per :class:`Usage` field: tokens by type and
        the non-token units (``usage.web_searches``, ``usage.storage_searches``, ...)."""
        with self._lock:
            return Usage(**self._counts)

    def _record(
        self, provider: str | None, model: str | None, usage: Usage | None, cost: Cost | None, succeeded: bool
    ) -> None:
        """Count one finished call. ``cost`` is set when the call returned a billed response,
        even a failed one (a structured-output parse error carrying its completion): its
        tokens and cost count, so budgets see every billed call."""
        with self._lock:
            if succeeded:
                self.successful_requests += 1
            else:
                self.failed_requests += 1
            if cost is None:
                return
            key = self._model_key(provider, model)
            per_model = self.by_model.get(key)
            if per_model is None:
                per_model = self.by_model[key] = ModelUsage(*key)
            per_model.requests += 1
            if usage is not None:
                self._add_tokens(per_model, usage)
            if cost.amount is None:
                if succeeded:
                    reason = (*key, cost.status)
                    self.unpriced[reason] = self.unpriced.get(reason, 0) + 1
                return
            self.total_cost += cost.amount
            per_model.cost += cost.amount
            for token_type, amount in cost.breakdown.items():
                per_model.cost_breakdown[token_type] = per_model.cost_breakdown.get(token_type, Decimal(0)) + amount
            crossed = self._crossed_budget()
        if crossed and self._on_budget_exceeded is not None:
            try:
                self._on_budget_exceeded(self)
            except Exception:
                logger.exception("genai-cost: the track_usage budget callback raised")

    def _model_key(self, provider: str | None, model: str | None) -> tuple[str | None, str | None]:
        """Bounded in bytes and entries, as the metrics are: the server names the model, and a
        block may live as long as a job. A name too long, or one beyond ``_MAX_MODELS``, counts
        under ``OTHER_MODEL``."""
        if model is not None and len(model) > MAX_MODEL_NAME_LENGTH:
            return provider, OTHER_MODEL
        key = (provider, model)
        if key not in self.by_model and len(self.by_model) >= _MAX_MODELS:
            return provider, OTHER_MODEL
        return key

    def _add_tokens(self, per_model: ModelUsage, usage: Usage) -> None:
        counts = _reported_counts(usage)
        prompt = counts.get("input_tokens", 0)
        completion = counts.get("output_tokens", 0)
        cached = counts.get("cache_read_tokens", 0)
        creation = counts.get("cache_creation_tokens", 0)
        reasoning = counts.get("reasoning_tokens", 0)
        for totals in (self, per_model):
            totals.prompt_tokens += prompt
            totals.completion_tokens += completion
            totals.prompt_tokens_cached += cached
            totals.cache_creation_tokens += creation
            totals.reasoning_tokens += reasoning
            _accumulate(totals._counts, counts)

    def _crossed_budget(self) -> bool:
        if self.budget_usd is None or self.budget_exceeded or self.total_cost < self.budget_usd:
            return False
        self.budget_exceeded = True
        return True

    def _check_budget(self) -> None:
        if self._hard and self.budget_exceeded and self.budget_usd is not None:
            raise BudgetExceeded(self.total_cost, self.budget_usd)

    @property
    def unpriced_requests(self) -> int:
        return sum(self.unpriced.values())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary; money as decimal strings so nothing is rounded."""
        return {
            "total_tokens": self.total_tokens,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "prompt_tokens_cached": self.prompt_tokens_cached,
            "cache_creation_tokens": self.cache_creation_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "successful_requests": self.successful_requests,
            "failed_requests": self.failed_requests,
            "total_cost": plain_decimal(self.total_cost),
            "currency": "USD",
            "usage": dict(self._counts),
            "by_model": [m.to_dict() for m in self.by_model.values()],
            "unpriced": [
                {"provider": p, "model": m, "reason": r, "requests": n} for (p, m, r), n in self.unpriced.items()
            ],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def __str__(self) -> str:
        return "\n".join(self._lines())

    def _lines(self) -> Iterator[str]:
        yield f"Tokens Used: {self.total_tokens}"
        yield f"\tPrompt Tokens: {self.prompt_tokens}"
        yield f"\tCompletion Tokens: {self.completion_tokens}"
        yield f"Successful Requests: {self.successful_requests}"
        yield f"Total Cost (USD): ${float(self.total_cost)}"
        if self.prompt_tokens_cached:
            yield f"Prompt Tokens Cached: {self.prompt_tokens_cached}"
        if self.cache_creation_tokens:
            yield f"Cache Creation Tokens: {self.cache_creation_tokens}"
        if self.reasoning_tokens:
            yield f"Reasoning Tokens: {self.reasoning_tokens}"
        for name in _UNITS:
            if self._counts.get(name):
                yield f"{name.replace('_', ' ').title()}: {self._counts[name]}"
        if self.failed_requests:
            yield f"Failed Requests: {self.failed_requests}"
        for (provider, model, reason), count in self.unpriced.items():
            yield f"Unpriced Requests: {count} ({provider or '?'}/{model or '?'}: {reason})"
        if len(self.by_model) > 1 or self.prompt_tokens_cached or self.reasoning_tokens:
            yield "By Model:"
            for usage in self.by_model.values():
                yield (
                    f"\t{usage.provider or '?'}/{usage.model or '?'}: {counted(usage.requests, 'request')}, "
                    f"{usage.prompt_tokens} prompt + {usage.completion_tokens} completion tokens, "
                    f"${plain_decimal(usage.cost)}"
                )

    def __repr__(self) -> str:
        return f"UsageTotals({self.to_dict()!r})"


class track_usage:
    """Total tokens, requests and cost of every LLM call made inside a block.

    Use as ``with``/``async with`` (yields :class:`UsageTotals`) or as a decorator (totals of
    every call of the function accumulate in ``.usage``); a decorated generator counts the calls
    made while it runs, step by step, not those of the code iterating it. One object may be
    entered in several threads or tasks at once. ``budget_usd`` calls
    ``on_budget_exceeded(usage)`` once when crossed; with ``hard=True`` the next LLM call
    started inside the block raises :class:`BudgetExceeded` instead of being sent.
    """

    def __init__(
        self,
        *,
        budget_usd: float | Decimal | str | None = None,
        on_budget_exceeded: Callable[[UsageTotals], None] | None = None,
        hard: bool = False,
    ) -> None:
        budget = None if budget_usd is None else Decimal(str(budget_usd))
        if budget is not None and (not budget.is_finite() or budget < 0):
            raise ValueError(f"budget_usd must be a non-negative number, got {budget_usd!r}")
        self.usage = UsageTotals(budget_usd=budget, on_budget_exceeded=on_budget_exceeded, hard=hard)

    # Entering adds the totals to the current context's active blocks and leaving removes them
    # again, from whichever context leaves: no per-object state, so threads and tasks sharing
    # one object cannot pop each other's entries (ContextVar tokens are bound to one context).
    def __enter__(self) -> UsageTotals:
        _active.set((*_active.get(), self.usage))
        return self.usage

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if _call_counter_exists:
            # Calls whose streams the app dropped inside the block count before the block is read.
            from genai_cost.instrumentation._core import finish_abandoned

            finish_abandoned()
        else:
            _warn_nothing_counts_calls()
        active = _active.get()
        for index in range(len(active) - 1, -1, -1):
            if active[index] is self.usage:
                _active.set(active[:index] + active[index + 1 :])
                return

    async def __aenter__(self) -> UsageTotals:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)

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

    # A generator's body runs in its consumer's context, between the consumer's own steps: the
    # block is active only while the generator itself runs (each send, throw and close).
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


def note_call_counter() -> None:
    """Say that calls can be counted into blocks from now on (a ``Costing`` was set up)."""
    global _call_counter_exists
    _call_counter_exists = True


@functools.cache  # once per process
def _warn_nothing_counts_calls() -> None:
    logger.warning(
        "genai-cost: a track_usage() block ended while no LLM call could be counted: no genai-cost "
        "instrumentor is active and no CostSpanProcessor is set up. Call genai_cost.instrument() "
        "or run the app under opentelemetry-instrument."
    )


def active_trackers() -> tuple[UsageTotals, ...]:
    """The ``track_usage`` blocks active in the current context, outermost first, each once
    (a block entered again inside itself, e.g. a recursive decorated function, counts a call once)."""
    active = _active.get()
    return active if len(active) < 2 else tuple(dict.fromkeys(active))


def check_budgets(trackers: tuple[UsageTotals, ...]) -> None:
    """Raise :class:`BudgetExceeded` if a hard budget among ``trackers`` is spent."""
    for totals in trackers:
        totals._check_budget()


def record_call(
    trackers: tuple[UsageTotals, ...],
    *,
    provider: str | None,
    model: str | None,
    usage: Usage | None,
    cost: Cost | None,
    succeeded: bool,
) -> None:
    """Count one finished call in each of ``trackers``; a failed one carries a cost only when it was billed."""
    for totals in trackers:
        totals._record(provider, model, usage, cost, succeeded)
