"""Overhead of the OpenAI instrumentor on the real client, in one run: ``python benchmarks/bench_openai.py``.

The client talks to an in-process ``MockTransport`` (``mock_openai.py``), so the time measured
is the SDK's own work plus ours. Each round times a batch of ``--calls`` non-streaming chat
calls and of ``--calls`` 50-chunk streams (plus the final usage chunk), uninstrumented then
instrumented (``SimpleSpanProcessor`` -> ``InMemorySpanExporter`` and an
``InMemoryMetricReader``). Many short alternating rounds make drift in machine load hit both
sides alike; times are CPU time of this process (``time.process_time``), which other
processes on a shared machine disturb far less than wall time. Prints the per-call median and
min over rounds and the added time as a ratio of the uninstrumented call. Targets: <= 9%
(non-streaming) and <= 4% (50-chunk stream).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import openai
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from genai_cost.instrumentation.openai import OpenAIInstrumentor
from genai_cost.pricing import PricingTable
from mock_openai import client as mock_client

MODEL = "gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Say hello"}]
TARGETS = {"non-streaming call": 0.09, "50-chunk stream": 0.04}
# Used only when the bundled table does not price MODEL, so every call is really priced.
_FALLBACK_PRICE = {
    "id": "bench:gpt-4o-mini",
    "provider": "openai",
    "match": {"exact": MODEL},
    "input": 0.15,
    "output": 0.6,
    "input_breakdown": {"cache_read": 0.075},
}


def _pricing() -> PricingTable:
    table = PricingTable.default()
    if table.match(MODEL, provider="openai") is not None:
        return table
    print(f"note: the bundled table does not price {MODEL}; using a stated price for it", file=sys.stderr)
    return PricingTable.load(entries=[_FALLBACK_PRICE])


def _workloads(sdk: openai.OpenAI) -> dict[str, Callable[[], Any]]:
    def plain() -> Any:
        return sdk.chat.completions.create(model=MODEL, messages=MESSAGES)  # type: ignore[arg-type]

    def stream() -> Any:
        chunks = sdk.chat.completions.create(
            model=MODEL,
            messages=MESSAGES,  # type: ignore[arg-type]
            stream=True,
            stream_options={"include_usage": True},
        )
        for _chunk in chunks:
            pass

    return {"non-streaming call": plain, "50-chunk stream": stream}


def _per_call(work: Callable[[], Any], calls: int) -> float:
    gc.collect()
    started = time.process_time()
    for _ in range(calls):
        work()
    return (time.process_time() - started) / calls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=25, help="calls per timed round")
    parser.add_argument("--rounds", type=int, default=40, help="rounds per side")
    args = parser.parse_args(argv)

    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    instrumentor = OpenAIInstrumentor()
    pricing = _pricing()

    sdk = mock_client()
    workloads = _workloads(sdk)
    times: dict[tuple[str, bool], list[float]] = {(name, side): [] for name in workloads for side in (False, True)}
    for work in workloads.values():  # warm up both paths (imports, caches, pricing match)
        _per_call(work, 20)
        instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, pricing=pricing)
        _per_call(work, 20)
        instrumentor.uninstrument()
    exporter.clear()

    for _ in range(args.rounds):
        for name, work in workloads.items():
            times[name, False].append(_per_call(work, args.calls))
            instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, pricing=pricing)
            times[name, True].append(_per_call(work, args.calls))
            instrumentor.uninstrument()
            spans = exporter.get_finished_spans()
            assert len(spans) == args.calls and spans[-1].attributes, "instrumentation did not run"
            exporter.clear()
            reader.get_metrics_data()

    print(f"openai {openai.__version__}, {args.rounds} rounds x {args.calls} calls, times per call")
    print(f"{'workload':<20} {'side':<14} {'median':>10} {'min':>10}")
    failed = False
    for name in workloads:
        plain, traced = times[name, False], times[name, True]
        for side, values in (("uninstrumented", plain), ("instrumented", traced)):
            print(f"{name:<20} {side:<14} {statistics.median(values) * 1e6:>8.1f}µs {min(values) * 1e6:>8.1f}µs")
        added_median = statistics.median(traced) - statistics.median(plain)
        added_min = min(traced) - min(plain)
        ratio = added_median / statistics.median(plain)
        ok = ratio <= TARGETS[name]
        failed |= not ok
        print(
            f"{name:<20} added {added_median * 1e6:.1f}µs median ({ratio:.1%} of uninstrumented), "
            f"{added_min * 1e6:.1f}µs min ({added_min / min(plain):.1%}); "
            f"target <= {TARGETS[name]:.0%}: {'met' if ok else 'MISSED'}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
