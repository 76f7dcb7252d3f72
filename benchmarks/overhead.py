"""Shared by the per-provider overhead benchmarks: an in-process transport and the timing loop.

``mock_transport(answer)`` serves a fake server's replies (``tests/support/fake_*.py``) through
an ``httpx2.MockTransport``, rendered once per distinct request and replayed from a cache, so
the time measured is the SDK's own work plus ours. ``compare(...)`` times each workload
uninstrumented then instrumented, round after round (so drift in machine load hits both sides
alike), checks that every instrumented call made a span, and prints medians, minima and the
added time as a ratio of the uninstrumented call.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import httpx2
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


def _per_call(work: Callable[[], Any], calls: int) -> float:
    gc.collect()
    started = time.process_time()
    for _ in range(calls):
        work()
    return (time.process_time() - started) / calls


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
    for work in workloads.values():  # warm up both paths (imports, caches, pricing match)
        _per_call(work, 20)
        instrumentor.instrument(**options)
        _per_call(work, 20)
        instrumentor.uninstrument()
    exporter.clear()

    for _ in range(rounds):
        for name, work in workloads.items():
            times[name, False].append(_per_call(work, calls))
            instrumentor.instrument(**options)
            times[name, True].append(_per_call(work, calls))
            instrumentor.uninstrument()
            spans = exporter.get_finished_spans()
            assert len(spans) == calls and spans[-1].attributes, "instrumentation did not run"
            assert all(span.attributes.get("genai_cost.pricing.status") == "priced" for span in spans)
            exporter.clear()
            reader.get_metrics_data()

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
