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
import json
import logging
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Any

from genai_cost._fork import fork_safe_lock
from genai_cost._scope import ScopeDecorator
from genai_cost._text import counted, plain_decimal
from genai_cost.metrics import OTHER, OTHER_MODEL
from genai_cost.pricing.normalize import MAX_MODEL_NAME_LENGTH
from genai_cost.usage import MAX_COUNT, TOKEN_FIELDS, Usage, token_count

if TYPE_CHECKING:
    from genai_cost.costing import Cost

__all__ = [
    "BudgetExceeded",
    "KeyUsage",
    "ModelUsage",
    "UsageByKey",
    "UsageTotals",
    "active_trackers",
    "check_budgets",
    "note_call_counter",
    "record_call",
    "track_usage",
]

logger = logging.getLogger(__name__)

_MAX_MODELS = 1_000
"""(provider, model) pairs a block keeps apart; calls of further models count under ``OTHER_MODEL``."""

_MAX_KEYS = 32
"""Attribution keys a block breaks its totals down by (:meth:`UsageTotals.by`)."""
_MAX_VALUES = 1_000
"""Values of one attribution key a block keeps apart; further ones count under ``_other``."""

_UNITS = tuple(name for name in TOKEN_FIELDS if not name.endswith("_tokens"))
"""``Usage`` fields counted in other units than tokens (web searches, seconds, pages, ...)."""

_active: ContextVar[tuple[UsageTotals, ...]] = ContextVar("genai_cost_usage_trackers", default=())
_call_counter_exists = False
"""True once something can count calls into blocks: a genai-cost instrumentor or a CostSpanProcessor.
(A plain flag, not a ``threading.Event``: an Event's lock is not renewed in a forked child.)"""


class BudgetExceeded(RuntimeError):
    """Raised before an LLM call is sent once a hard budget is spent: inside
    ``track_usage(budget_usd=..., hard=True)``, or for a call whose attribution matches a
    ``genai_cost.budget(..., hard=True)``. The one exception genai-cost raises into the app."""

    def __init__(
        self, spent: Decimal, budget: Decimal, *, keys: Mapping[str, str] | None = None, per: str | None = None
    ) -> None:
        scope = f" for {', '.join(f'{k}={v}' for k, v in keys.items())}" if keys else ""
        window = f" in the last {per}" if per else ""
        super().__init__(
            f"LLM budget exceeded{scope}: spent ${plain_decimal(spent)} of ${plain_decimal(budget)}{window}"
        )
        self.spent = spent
        self.budget = budget
        self.keys = dict(keys or {})
        """The attribution the budget applies to (empty for a ``track_usage`` block)."""
        self.per = per
        """The budget's rolling window (``None`` for a ``track_usage`` block)."""


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
    return {name: valid for name, value in usage.counts().items() if (valid := token_count(value)) is not None}


def _accumulate(totals: dict[str, int], counts: dict[str, int]) -> None:
    for name, value in counts.items():
        totals[name] = min(totals.get(name, 0) + value, MAX_COUNT)


@dataclass
class KeyUsage:
    """Totals of the calls attributed to one value of an attribution key inside a block."""

    successful_requests: int = 0
    failed_requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_cost: Decimal = Decimal(0)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def _add(self, succeeded: bool, counts: Mapping[str, int], amount: Decimal | None) -> None:
        if succeeded:
            self.successful_requests += 1
        else:
            self.failed_requests += 1
        self.prompt_tokens = min(self.prompt_tokens + counts.get("input_tokens", 0), MAX_COUNT)
        self.completion_tokens = min(self.completion_tokens + counts.get("output_tokens", 0), MAX_COUNT)
        if amount is not None:
            self.total_cost += amount

    def to_dict(self) -> dict[str, Any]:
        return {
            "successful_requests": self.successful_requests,
            "failed_requests": self.failed_requests,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
            "total_cost": plain_decimal(self.total_cost),
        }


class UsageByKey(dict[str | None, KeyUsage]):
    """``usage.by("tenant")``: totals per value of one attribution key; under ``None`` the calls
    made without that key (present only when there are some)."""

    def __init__(self, key: str, totals: Mapping[str | None, KeyUsage]) -> None:
        super().__init__(totals)
        self.key = key

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: one entry per value (``null`` for the calls without the key)."""
        return {"key": self.key, "values": [{"value": value, **usage.to_dict()} for value, usage in self.items()]}

    def __str__(self) -> str:
        lines = [f"By {self.key}:"]
        for value, usage in self.items():
            failed = f" ({usage.failed_requests} failed)" if usage.failed_requests else ""
            lines.append(
                f"\t{f'(no {self.key})' if value is None else value}: "
                f"{counted(usage.successful_requests, 'request')}{failed}, "
                f"{usage.prompt_tokens} prompt + {usage.completion_tokens} completion tokens, "
                f"${plain_decimal(usage.total_cost)}"
            )
        return "\n".join(lines)


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
        self._by_key: dict[str, dict[str, KeyUsage]] = {}
        self._lock = fork_safe_lock(self)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def by(self, key: str) -> UsageByKey:
        """Totals per value of attribution key ``key`` (``usage.by("tenant")["acme"].total_cost``).

        Bounded like ``by_model``: beyond 1,000 values of a key the calls count under ``_other``,
        and beyond 32 keys in one block further keys are not broken down (their calls count under ``None``).
        """
        with self._lock:
            values: dict[str | None, KeyUsage] = {
                value: replace(usage) for value, usage in self._by_key.get(key, {}).items()
            }
            rest = KeyUsage(
                self.successful_requests - sum(u.successful_requests for u in values.values()),
                self.failed_requests - sum(u.failed_requests for u in values.values()),
                self.prompt_tokens - sum(u.prompt_tokens for u in values.values()),
                self.completion_tokens - sum(u.completion_tokens for u in values.values()),
                self.total_cost - sum((u.total_cost for u in values.values()), Decimal(0)),
            )
        if rest.successful_requests or rest.failed_requests:
            values[None] = rest
        return UsageByKey(key, values)

    @property
    def usage(self) -> Usage:
        """Every count the calls reported, summed per :class:`Usage` field: tokens by type and
        the non-token units (``usage.web_searches``, ``usage.storage_searches``, ...)."""
        with self._lock:
            return Usage(**self._counts)

    def _record(
        self,
        provider: str | None,
        model: str | None,
        usage: Usage | None,
        cost: Cost | None,
        succeeded: bool,
        attribution: Mapping[str, str] | None = None,
    ) -> None:
        """Count one finished call. ``cost`` is set when the call returned a billed response,
        even a failed one (a structured-output parse error carrying its completion): its
        tokens and cost count, so budgets see every billed call."""
        with self._lock:
            if attribution:
                counts = _reported_counts(usage) if cost is not None and usage is not None else {}
                self._attribute(attribution, succeeded, counts, cost)
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

    def _attribute(
        self, attribution: Mapping[str, str], succeeded: bool, counts: Mapping[str, int], cost: Cost | None
    ) -> None:
        amount = None if cost is None else cost.amount
        for key, value in attribution.items():
            values = self._by_key.get(key)
            if values is None:
                if len(self._by_key) >= _MAX_KEYS:
                    continue
                values = self._by_key[key] = {}
            entry = values.get(value)
            if entry is None:
                if len(values) >= _MAX_VALUES:
                    value = OTHER
                    entry = values.get(value)
                if entry is None:
                    entry = values[value] = KeyUsage()
            entry._add(succeeded, counts, amount)

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


class track_usage(ScopeDecorator):
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
    attribution: Mapping[str, str] | None = None,
) -> None:
    """Count one finished call in each of ``trackers``; a failed one carries a cost only when it was billed."""
    for totals in trackers:
        totals._record(provider, model, usage, cost, succeeded, attribution)
