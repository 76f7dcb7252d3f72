"""Spend limits per attribution key over rolling windows: ``genai_cost.budget(tenant="acme", usd=5, per="1h")``.

A budget counts the cost of every priced call whose attribution matches its keys (all of them;
a budget without keys counts every call). Crossing the limit calls ``on_exceeded(budget)``,
at most once per window. A hard budget also refuses calls while the window's spend is at or
over the limit: the call raises :class:`~genai_cost.tracking.BudgetExceeded` inside
genai-cost's wrapper, before the SDK is called, so no request is sent. A call already in flight
is never cut off, so the spend can pass the limit by what the calls in flight cost.

Memory is fixed per budget: the window is kept as 60 slots of ``per / 60`` each, the current
one included, so a cost stays in the window for between 59/60 of ``per`` and ``per``. Budgets
are thread- and asyncio-safe: each has its own lock, and the list of budgets is replaced,
never changed, so a call reads it lock-free.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from decimal import Decimal
from types import TracebackType

from genai_cost._fork import fork_safe_lock
from genai_cost._text import plain_decimal
from genai_cost.attribution import clean_value, valid_key
from genai_cost.tracking import BudgetExceeded

__all__ = ["Budget", "active", "budget", "check", "record"]

logger = logging.getLogger(__name__)

_SLOTS = 60
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PERIOD = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*")

_now: Callable[[], float] = time.monotonic
"""The clock of every window (monotonic seconds); tests replace it."""


def _seconds(per: str | float | timedelta) -> float:
    if isinstance(per, timedelta):
        seconds = per.total_seconds()
    elif isinstance(per, (int, float)) and not isinstance(per, bool):
        seconds = float(per)
    elif isinstance(per, str) and (match := _PERIOD.fullmatch(per)):
        seconds = float(match[1]) * _UNITS[match[2]]
    else:
        raise ValueError(f"per must be a duration like '90s', '15m', '1h', '1d', seconds or a timedelta, got {per!r}")
    if not seconds > 0:
        raise ValueError(f"per must be a positive duration, got {per!r}")
    return seconds


def _usd(usd: float | Decimal | str) -> Decimal:
    amount = Decimal(str(usd))
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"usd must be a non-negative number, got {usd!r}")
    return amount


class Budget:
    """A spend limit for the calls attributed to ``keys``, over a rolling window; see :func:`budget`."""

    def __init__(
        self,
        keys: Mapping[str, str],
        *,
        usd: Decimal,
        per: float,
        hard: bool,
        on_exceeded: Callable[[Budget], None] | None,
        label: str,
    ) -> None:
        self.keys = dict(keys)
        """The attribution a call must have to count here."""
        self.usd = usd
        self.per = per
        """The window, in seconds."""
        self.hard = hard
        self._on_exceeded = on_exceeded
        self._label = label
        self._slot = per / _SLOTS
        self._amounts = [Decimal(0)] * _SLOTS
        self._slot_numbers = [-1] * _SLOTS
        self._notified_at: float | None = None
        self._lock = fork_safe_lock(self)

    def matches(self, attribution: Mapping[str, str] | None) -> bool:
        if not self.keys:
            return True
        if not attribution:
            return False
        return all(attribution.get(key) == value for key, value in self.keys.items())

    @property
    def spent(self) -> Decimal:
        """Spend in the window ending now."""
        with self._lock:
            return self._window(int(_now() // self._slot))

    @property
    def exceeded(self) -> bool:
        return self.spent >= self.usd

    def _window(self, slot: int) -> Decimal:
        oldest = slot - _SLOTS
        return sum(
            (amount for amount, number in zip(self._amounts, self._slot_numbers, strict=True) if number > oldest),
            Decimal(0),
        )

    def _check(self) -> None:
        spent = self.spent
        if spent >= self.usd:
            raise BudgetExceeded(spent, self.usd, keys=self.keys, per=self._label)

    def _add(self, amount: Decimal) -> None:
        now = _now()
        slot = int(now // self._slot)
        index = slot % _SLOTS
        with self._lock:
            if self._slot_numbers[index] != slot:
                self._slot_numbers[index] = slot
                self._amounts[index] = Decimal(0)
            self._amounts[index] += amount
            notify = self._window(slot) >= self.usd and (
                self._notified_at is None or now - self._notified_at >= self.per
            )
            if notify:
                self._notified_at = now
        if notify and self._on_exceeded is not None:
            try:
                self._on_exceeded(self)
            except Exception:
                logger.exception("genai-cost: the budget callback raised")

    def cancel(self) -> None:
        """Stop counting and enforcing this budget."""
        _registry.remove(self)

    def __enter__(self) -> Budget:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.cancel()

    def __repr__(self) -> str:
        keys = ", ".join(f"{k}={v!r}" for k, v in self.keys.items())
        kind = "hard" if self.hard else "soft"
        usd, spent = plain_decimal(self.usd), plain_decimal(self.spent)
        return f"Budget({keys}{', ' if keys else ''}usd={usd}, per={self._label!r}, {kind}, spent={spent})"


class _Registry:
    """The budgets in force, as a tuple replaced on every change."""

    def __init__(self) -> None:
        self.budgets: tuple[Budget, ...] = ()
        self._lock = fork_safe_lock(self)

    def add(self, budget: Budget) -> None:
        with self._lock:
            self.budgets = (*self.budgets, budget)

    def remove(self, budget: Budget) -> None:
        with self._lock:
            self.budgets = tuple(b for b in self.budgets if b is not budget)


_registry = _Registry()


def budget(
    *,
    usd: float | Decimal | str,
    per: str | float | timedelta = "1h",
    hard: bool = False,
    on_exceeded: Callable[[Budget], None] | None = None,
    **keys: object,
) -> Budget:
    """Limit the spend of the calls attributed to ``keys`` to ``usd`` per rolling window ``per``.

    ``genai_cost.budget(tenant="acme", usd=5, per="1h", on_exceeded=alert)`` calls
    ``alert(budget)`` once per window when acme's calls of the last hour cost $5 or more; with
    ``hard=True`` acme's next calls raise ``BudgetExceeded`` (before any request is sent) until
    the window's spend falls under $5 again. ``per``: ``"90s"``, ``"15m"``, ``"1h"``, ``"1d"``,
    seconds or a ``timedelta``. The budget applies from now until :meth:`Budget.cancel` (or the
    end of a ``with`` block around it). Keys are matched against the call's attribution
    (``attribute()`` and allowlisted baggage; for soft budgets also the ancestor ``agent``).
    """
    bad = [key for key in keys if not valid_key(key)]
    if bad:
        raise ValueError(f"budget keys must match [A-Za-z0-9_.-]{{1,64}}, got {bad!r}")
    values = {key: clean_value(value) for key, value in keys.items()}
    missing = [key for key, value in values.items() if value is None]
    if missing:
        raise ValueError(f"budget keys need a value, got None for {missing!r}")
    label = per if isinstance(per, str) else f"{_seconds(per):g}s"
    created = Budget(
        {key: value for key, value in values.items() if value is not None},
        usd=_usd(usd),
        per=_seconds(per),
        hard=hard,
        on_exceeded=on_exceeded,
        label=label.strip(),
    )
    _registry.add(created)
    return created


def active() -> bool:
    """Whether any budget is in force (calls skip budgets entirely otherwise)."""
    return bool(_registry.budgets)


def check(attribution: Mapping[str, str] | None) -> None:
    """Raise ``BudgetExceeded`` when a hard budget matching ``attribution`` is spent."""
    for each in _registry.budgets:
        if each.hard and each.matches(attribution):
            each._check()


def record(attribution: Mapping[str, str] | None, amount: Decimal) -> None:
    """Count a priced call's cost in every budget its attribution matches."""
    for each in _registry.budgets:
        if each.matches(attribution):
            each._add(amount)
