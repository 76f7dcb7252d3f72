"""Opt-in runtime refresh of the process-wide pricing table (``GENAI_COST_PRICING_URL``).

One daemon thread per process checks the source every ``GENAI_COST_PRICING_REFRESH`` seconds
(:mod:`~genai_cost.pricing.fetch`: conditional requests, timeouts, a size cap), validates a new
document whole (:mod:`~genai_cost.pricing.documents`), and hands it to ``rebuild``, which builds
the table with it (bundled < refreshed < pricing files), warms it, and swaps it in. Calls never
wait for any of this: they read whichever table is in place.

Any failure keeps the table in use. Each kind of failure (``connection``, ``timeout``,
``http_<status>``, ``bad_document``, ``invalid_table``, ``too_large``) is logged once until a
check succeeds again, and counted (``genai_cost.pricing.refresh.failures``). After a failure
the next check comes sooner, then later: 30 s, 60 s, 2 min, ... doubling up to the interval.

Nothing here runs unless the URL is set: no thread, no socket. A forked child starts its own
refresher (the parent's thread does not exist there).
"""

from __future__ import annotations

import logging
import os
import random
import sys
import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from genai_cost._fork import fork_safe_condition, fork_safe_lock
from genai_cost.pricing.documents import Layer, decode, to_layer
from genai_cost.pricing.errors import PricingError
from genai_cost.pricing.fetch import Fetched, Fetcher, FetchError
from genai_cost.pricing.provenance import Provenance, digest_of
from genai_cost.semconv import RefreshFailure

if TYPE_CHECKING:
    from genai_cost.pricing.table import PricingTable

__all__ = ["THREAD_NAME", "Refresher", "active", "failure_counts", "start", "stop"]

logger = logging.getLogger(__name__)

THREAD_NAME = "genai-cost-pricing-refresh"
RETRY_AFTER = 30.0
"""Seconds before the first retry after a failure (doubling after each further one)."""
_INTERNAL = "internal"
"""The failure kind of a bug of ours (logged with its traceback, once)."""

Rebuild = Callable[[Layer], "PricingTable"]


class Refresher:
    """Checks one source on a daemon thread and installs each new valid document."""

    def __init__(self, fetcher: Fetcher, *, interval: float, rebuild: Rebuild) -> None:
        self.fetcher = fetcher
        self.interval = interval
        self._rebuild = rebuild
        self.checks = 0
        """Checks done (successful or not); waiters on :meth:`wait_for_checks` see it grow."""
        self.version: str | None = None
        """Version of the table last installed by this refresher."""
        self._digest: str | None = None
        self._failures_in_a_row = 0
        self._warned: set[str] = set()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._changed = fork_safe_condition(self, "_changed")

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop checking; waits up to ``timeout`` seconds for a check under way to end."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait_for_checks(self, count: int, timeout: float) -> bool:
        """Wait until :attr:`checks` reaches ``count``; False when ``timeout`` seconds passed first."""
        with self._changed:
            return self._changed.wait_for(lambda: self.checks >= count, timeout)

    def forked_copy(self) -> Refresher:
        """A refresher for a forked child: the same source and state, its own thread (not started)."""
        child = Refresher(self.fetcher, interval=self.interval, rebuild=self._rebuild)
        child.version, child._digest = self.version, self._digest
        return child

    def _run(self) -> None:
        while True:
            self.check()
            delay = self._delay()
            with self._changed:
                self.checks += 1
                self._changed.notify_all()
                if self._changed.wait_for(lambda: self._stopping, delay):
                    return

    def _delay(self) -> float:
        if self._failures_in_a_row:
            doublings = min(self._failures_in_a_row - 1, 30)  # past the interval anyway; 2**1024 is no float
            backoff = min(RETRY_AFTER, self.interval) * 2**doublings
            return float(min(backoff, self.interval))
        return self.interval * random.uniform(0.9, 1.0)  # a fleet started together spreads out

    # --- one check ----------------------------------------------------------------------

    def check(self) -> bool:
        """Check the source once; True unless it failed. Never raises."""
        try:
            fetched = self.fetcher.fetch()
            if fetched is not None:
                self._take(fetched)
        except FetchError as exc:
            self._failed(exc.kind, str(exc))
            return False
        except Exception:
            self._failed(_INTERNAL, "unexpected error", exc_info=True)
            return False
        self._succeeded()
        return True

    def _take(self, fetched: Fetched) -> None:
        digest = digest_of(fetched.data)
        if self._stopping:
            return
        if digest != self._digest:  # a server without ETag, or a file touched without a change
            layer = self._validated(fetched, digest)
            self.version = self._rebuild(layer).version
            self._digest = digest
        self.fetcher.accept(fetched)

    def _validated(self, fetched: Fetched, digest: str) -> Layer:
        source = self.fetcher.location
        seen = fetched.modified_at or datetime.now(timezone.utc)
        provenance = Provenance(source, etag=fetched.etag, digest=digest, modified_at=seen)
        try:
            document = decode(fetched.data, source=source)
        except PricingError as exc:
            raise FetchError(RefreshFailure.BAD_DOCUMENT, str(exc)) from None
        try:
            return to_layer(document, provenance)
        except PricingError as exc:
            raise FetchError(RefreshFailure.INVALID_TABLE, str(exc)) from None

    def _failed(self, kind: str, message: str, *, exc_info: bool = False) -> None:
        self._failures_in_a_row += 1
        _count_failure(kind)
        if kind in self._warned:
            logger.debug("genai-cost: pricing refresh from %s failed again (%s)", self.fetcher.location, kind)
            return
        self._warned.add(kind)
        logger.warning(
            "genai-cost: pricing refresh from %s failed (%s: %s); keeping the prices in use (%s)",
            self.fetcher.location,
            kind,
            message,
            self.version or "the table built at start-up",
            exc_info=exc_info,
        )

    def _succeeded(self) -> None:
        self._failures_in_a_row = 0
        if self._warned:
            logger.info("genai-cost: pricing refresh from %s works again", self.fetcher.location)
            self._warned.clear()


# --- the process's refresher ---------------------------------------------------------------

_state = sys.modules[__name__]
_lock = fork_safe_lock(_state, "_lock")
_active: list[Refresher] = []
_failures: Counter[str] = Counter()


def start(location: str, *, interval: float, rebuild: Rebuild, fetcher: Fetcher | None = None) -> Refresher:
    """Start the process's refresher of ``location`` (replacing one already running)."""
    refresher = Refresher(fetcher or Fetcher(location), interval=interval, rebuild=rebuild)
    stop(timeout=0)  # called while the default table is built (its lock held): no waiting here
    with _lock:
        _active.append(refresher)
    refresher.start()
    return refresher


def stop(timeout: float | None = None) -> None:
    """Stop the process's refresher, if any."""
    with _lock:
        stopping = list(_active)
        _active.clear()
    for refresher in stopping:
        refresher.stop(timeout)


def active() -> Refresher | None:
    """The process's refresher; ``None`` when refresh is off."""
    return _active[0] if _active else None


def failure_counts() -> dict[str, int]:
    """Failed checks so far in this process, by kind."""
    with _lock:
        return dict(_failures)


def _count_failure(kind: str) -> None:
    with _lock:
        _failures[kind] += 1


def _restart_in_child() -> None:
    # Runs after _fork renewed the locks (registered later, so called later).
    if _active:
        child = _active[0].forked_copy()
        _active[:] = [child]
        child.start()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_restart_in_child)
