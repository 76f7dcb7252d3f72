"""An exporter that raises, hangs or cannot connect does not slow the app's LLM calls.

The same instrumented app (real ``openai`` client over the in-process mock transport, spans
through a ``BatchSpanProcessor``) runs with four exporters: a healthy one that counts spans,
one that raises on every export, one that blocks every export until the end of the run, and
an OTLP/HTTP exporter pointed at a closed port. Configurations run interleaved in rounds, in
a rotating order, so drift on a shared machine hits them alike; the report is the median wall-clock time per
call (what the app waits) and its ratio to the healthy exporter, measured in this one run::

    python -m benchmarks.bench_reliability [--rounds 7] [--calls 200]
"""

from __future__ import annotations

import argparse
import socket
import threading
import time
from collections.abc import Callable, Sequence
from statistics import median
from typing import Any

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from benchmarks.mock_openai import client
from genai_cost.instrumentation.openai import OpenAIInstrumentor
from genai_cost.pricing import PricingTable

__all__ = ["main"]

_MESSAGES = [{"role": "user", "content": "Say hello."}]


class _Counting(SpanExporter):
    def __init__(self) -> None:
        self.spans = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans += len(spans)
        return SpanExportResult.SUCCESS


class _Raising(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        raise ConnectionError("collector exploded")


class _Hanging(SpanExporter):
    def __init__(self) -> None:
        self.release = threading.Event()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.release.wait()
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self.release.set()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_EXPORTERS: dict[str, Callable[[], SpanExporter]] = {
    "healthy": _Counting,
    "raising": _Raising,
    "hanging": _Hanging,
    "unreachable OTLP": lambda: OTLPSpanExporter(endpoint=f"http://127.0.0.1:{_closed_port()}/v1/traces", timeout=2),
}


class _Setup:
    """One configuration: its exporter behind a batch processor, and the instrumentor's providers."""

    def __init__(self, make_exporter: Callable[[], SpanExporter]) -> None:
        self.exporter = make_exporter()
        self.processor = BatchSpanProcessor(self.exporter, schedule_delay_millis=50)
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(self.processor)
        self.meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])

    def shutdown(self) -> None:
        release = getattr(self.exporter, "release", None)
        if release is not None:
            release.set()
        self.tracer_provider.shutdown()


def _time_calls(call: Callable[[], Any], count: int) -> float:
    """Median wall-clock µs per call over ``count`` calls."""
    times = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return median(times) * 1e6


def run(*, rounds: int, calls: int) -> dict[str, dict[str, float]]:
    sdk = client()
    pricing = PricingTable.default()
    setups = {name: _Setup(make) for name, make in _EXPORTERS.items()}

    def chat() -> Any:
        return sdk.chat.completions.create(model="gpt-4o-mini", messages=_MESSAGES)

    def stream() -> Any:
        chunks = sdk.chat.completions.create(
            model="gpt-4o-mini", messages=_MESSAGES, stream=True, stream_options={"include_usage": True}
        )
        return sum(1 for _ in chunks)

    samples: dict[str, dict[str, list[float]]] = {name: {"chat": [], "stream": []} for name in setups}
    instrumentor = OpenAIInstrumentor()
    try:
        names = list(setups)
        for round_number in range(rounds):
            shift = round_number % len(names)  # rotate the order: no configuration is always first
            for name in names[shift:] + names[:shift]:
                setup = setups[name]
                instrumentor.instrument(
                    tracer_provider=setup.tracer_provider, meter_provider=setup.meter_provider, pricing=pricing
                )
                samples[name]["chat"].append(_time_calls(chat, calls))
                samples[name]["stream"].append(_time_calls(stream, max(calls // 4, 1)))
                instrumentor.uninstrument()
    finally:
        for setup in setups.values():
            setup.shutdown()
    return {name: {kind: median(values) for kind, values in kinds.items()} for name, kinds in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=200, help="chat calls per round (streams: a quarter)")
    options = parser.parse_args()
    results = run(rounds=options.rounds, calls=options.calls)
    healthy = results["healthy"]
    print(f"{'exporter':<18} {'µs/chat call':>13} {'ratio':>6} {'µs/50-chunk stream':>19} {'ratio':>6}")
    for name, result in results.items():
        print(
            f"{name:<18} {result['chat']:>13.0f} {result['chat'] / healthy['chat']:>6.2f} "
            f"{result['stream']:>19.0f} {result['stream'] / healthy['stream']:>6.2f}"
        )


if __name__ == "__main__":
    main()
