"""``fork()`` while another thread holds one of genai-cost's locks: the child must not hang.

A lock held at the fork stays held forever in the child (the holder thread is not copied).
Each test holds one lock from another thread (or keeps a thread busy taking it), forks, and
requires the child to finish a real instrumented call path that needs that lock.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from tests.reliability.support.harness import Telemetry, client, pricing_table

import genai_cost
from genai_cost.demo.fake_openai import FakeOpenAIServer
from genai_cost.pricing import PricingTable
from genai_cost.pricing import table as pricing_module
from genai_cost.processor import CostSpanProcessor
from genai_cost.tracking import track_usage

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()"),
    # Python 3.12+ warns that forking a multi-threaded process may deadlock: that is the point.
    pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning"),
]

CHILD_DEADLINE_S = 60.0
"""A hung child never finishes; a slow one (200 children on a loaded machine) does."""


def _fork(child: Callable[[], None]) -> int:
    """Fork; the child runs ``child`` and exits 0 (1 if it raised). Returns the child's pid."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            child()
            code = 0
        finally:
            os._exit(code)
    return pid


def _outcomes(pids: list[int]) -> list[str]:
    """'ok', 'failed' or 'hung' per child; hung children are killed at the deadline."""
    deadline = time.monotonic() + CHILD_DEADLINE_S
    results: dict[int, str] = {}
    while len(results) < len(pids) and time.monotonic() < deadline:
        for pid in pids:
            if pid not in results:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    results[pid] = "ok" if os.waitstatus_to_exitcode(status) == 0 else "failed"
        time.sleep(0.01)
    for pid in pids:
        if pid not in results:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            results[pid] = "hung"
    return [results[pid] for pid in pids]


@contextmanager
def _held(get_lock: Callable[[], Any]) -> Iterator[None]:
    """Another thread holds the lock for the duration of the block."""
    acquired, release = threading.Event(), threading.Event()

    def hold() -> None:
        with get_lock():
            acquired.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    assert acquired.wait(10)
    try:
        yield
    finally:
        release.set()
        holder.join()


class _Collected(SpanExporter):
    """Keeps spans without a lock: the SDK's in-memory exporter has its own, not fork-safe, one."""

    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS


def _processor_pipeline() -> tuple[TracerProvider, CostSpanProcessor]:
    processor = CostSpanProcessor(SimpleSpanProcessor(_Collected()), pricing_table())
    provider = TracerProvider()
    provider.add_span_processor(processor)
    return provider, processor


def test_child_is_not_stuck_on_the_processor_lock_held_at_fork() -> None:
    provider, processor = _processor_pipeline()
    tracer = provider.get_tracer("app")

    def child() -> None:
        with tracer.start_as_current_span("request"), tracer.start_as_current_span("db"):
            pass

    with _held(lambda: processor._lock):
        pids = [_fork(child)]
    assert _outcomes(pids) == ["ok"]


def test_child_is_not_stuck_on_the_default_table_being_built_at_fork(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pricing_module, "_default", [])  # another thread is still building it

    def child() -> None:
        assert PricingTable.default().match("gpt-4o-mini", provider="openai") is not None

    with _held(lambda: pricing_module._default_lock):
        pids = [_fork(child)]
    assert _outcomes(pids) == ["ok"]


def test_child_is_not_stuck_on_a_track_usage_block_locked_at_fork(telemetry: Telemetry, fake: FakeOpenAIServer) -> None:
    with telemetry.instrumented(), track_usage() as usage:

        def child() -> None:
            client(fake.base_url).chat.completions.create(model="gpt-4o-mini", messages=[])
            assert usage.successful_requests == 1

        with _held(lambda: usage._lock):
            pids = [_fork(child)]
        assert _outcomes(pids) == ["ok"]


@pytest.mark.slow
def test_200_forks_while_threads_take_the_processor_and_default_table_locks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The adversarial review's scenario, without holding anything by hand: 0 hung children."""
    provider, _ = _processor_pipeline()
    tracer = provider.get_tracer("app")
    stop = threading.Event()

    def make_spans() -> None:
        while not stop.is_set():
            with tracer.start_as_current_span("request"), tracer.start_as_current_span("db"):
                pass

    monkeypatch.setattr(pricing_module, "_default", [])

    def rebuild_default_table() -> None:
        while not stop.is_set():
            pricing_module._default.clear()
            PricingTable.default()

    def child() -> None:
        with tracer.start_as_current_span("request"):
            PricingTable.default()

    busy = [threading.Thread(target=make_spans), threading.Thread(target=rebuild_default_table)]
    for thread in busy:
        thread.start()
    try:
        pids = []
        for _ in range(200):
            pids.append(_fork(child))
            time.sleep(0.002)
    finally:
        stop.set()
        for thread in busy:
            thread.join()
    outcomes = _outcomes(pids)
    assert outcomes.count("ok") == 200, {kind: outcomes.count(kind) for kind in set(outcomes)}


def test_every_lock_in_the_package_is_made_fork_safe() -> None:
    """Locks come from genai_cost._fork only (the demo's fake server is not library code)."""
    package = Path(genai_cost.__file__).parent
    made_here = re.compile(r"threading\.(Lock|RLock|Condition|Semaphore|BoundedSemaphore|Event|Barrier)\(")
    offenders = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if path.name != "_fork.py" and "demo" not in path.parts and made_here.search(path.read_text())
    ]
    assert offenders == []
