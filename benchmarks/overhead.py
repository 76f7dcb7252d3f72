"""Shared by the per-provider overhead benchmarks: an in-process transport and the timing loop.

``mock_transport(answer)`` serves a fake server's replies (``tests/support/fake_*.py``) through
an ``httpx2.MockTransport``, rendered once per distinct request and replayed from a cache, so
the time measured is the SDK's own work plus ours. ``compare(...)`` times each workload
uninstrumented and instrumented, round after round (so drift in machine load hits both sides
alike, in batches of five calls with instrumentation suppressed and five traced), checks that
every traced call made a priced span and no suppressed one did, and prints medians, minima
and the added time as a ratio of the uninstrumented call.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import httpx2
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.support.fake_http import Reply, Request

from genai_cost.instrumentation._base import GenAIInstrumentor
from genai_cost.pricing import PricingTable

__all__ = ["compare", "mock_transport"]


async def _replay(frames: tuple[bytes, ...]) -> AsyncIterator[bytes]:
    for frame in frames:
        yield frame


def mock_transport(answer: Callable[[Request], Reply], *, asynchronous: bool = False) -> httpx2.MockTransport:
    """A transport answering like the fake server, without sockets."""
    cache: dict[tuple[Any, ...], Reply] = {}

    def handle(request: httpx2.Request) -> httpx2.Response:
        key = (request.url.raw_path, request.content, request.headers.get("x-fake-scenario"))
        reply = cache.get(key)
        if reply is None:
            headers = {name.lower(): value for name, value in request.headers.items()}
            fake = Request(request.method, request.url.raw_path.decode(), headers, request.content)
            reply = cache[key] = answer(fake)
        if reply.frames is None:
            headers = {"content-type": "application/json", **reply.headers}
            return httpx2.Response(reply.status, headers=headers, content=reply.payload())
        headers = {"content-type": "text/event-stream; charset=utf-8", **reply.headers}
        frames = _replay(reply.frames) if asynchronous else iter(reply.frames)
        return httpx2.Response(reply.status, headers=headers, content=frames)

    return httpx2.MockTransport(handle)


def _interleaved(work: Callable[[], Any], calls: int, batch: int = 5) -> tuple[float, float]:
    """CPU time per call (plain, traced), alternating small batches so machine load hits both alike.

    "Plain" calls run with instrumentation suppressed: what is left of ours there is the wrapt
    call and one context lookup (about a microsecond).
    """
    gc.collect()
    plain = traced = 0.0
    for _ in range(calls // batch):
        with suppress_instrumentation():
            started = time.process_time()
            for _ in range(batch):
                work()
            plain += time.process_time() - started
        started = time.process_time()
        for _ in range(batch):
            work()
        traced += time.process_time() - started
    done = calls // batch * batch
    return plain / done, traced / done


def compare(
    title: str,
    instrumentor: GenAIInstrumentor,
    workloads: Mapping[str, Callable[[], Any]],
    *,
    calls: int,
    rounds: int,
) -> None:
    """Time every workload uninstrumented and instrumented in one run and print the overhead."""
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    options = {
        "tracer_provider": tracer_provider,
        "meter_provider": MeterProvider(metric_readers=[reader]),
        "pricing": PricingTable.default(),
    }
    times: dict[tuple[str, bool], list[float]] = {(name, side): [] for name in workloads for side in (False, True)}
    instrumentor.instrument(**options)
    try:
        for work in workloads.values():  # warm up both paths (imports, caches, pricing match)
            _interleaved(work, 20)
        for _ in range(rounds):
            for name, work in workloads.items():
                exporter.clear()
                plain, traced = _interleaved(work, calls)
                times[name, False].append(plain)
                times[name, True].append(traced)
                spans = exporter.get_finished_spans()
                assert len(spans) == calls // 5 * 5, "instrumentation did not run (or ran when suppressed)"
                assert all(span.attributes.get("genai_cost.pricing.status") == "priced" for span in spans)
                reader.get_metrics_data()
    finally:
        instrumentor.uninstrument()

    print(f"{title}, {rounds} rounds x {calls} calls, CPU time per call")
    print(f"{'workload':<28} {'side':<14} {'median':>10} {'min':>10}")
    for name in workloads:
        plain, traced = times[name, False], times[name, True]
        for side, values in (("uninstrumented", plain), ("instrumented", traced)):
            print(f"{name:<28} {side:<14} {statistics.median(values) * 1e6:>8.1f}µs {min(values) * 1e6:>8.1f}µs")
        added = statistics.median(traced) - statistics.median(plain)
        added_min = min(traced) - min(plain)
        print(
            f"{name:<28} added {added * 1e6:.1f}µs median ({added / statistics.median(plain):.1%} of "
            f"uninstrumented), {added_min * 1e6:.1f}µs min ({added_min / min(plain):.1%})"
        )
