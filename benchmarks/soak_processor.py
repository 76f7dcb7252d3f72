"""Soak: a million priced spans through ``CostSpanProcessor`` with rollup and 10,000 model names.

Spans come from "another instrumentation" (token usage, no cost), so every one is priced by
the processor; they hang under agent-run root spans kept open in a ring, so the rollup
tracks many traces at once and has to evict. Reports spans, peak RSS, RSS along the way,
wall time, and the sizes of every bounded structure (traces held by the rollup, pricing
cache, model names let through to metrics, metric series)::

    python -m benchmarks.soak_processor                # 1,000,000 spans
    python -m benchmarks.soak_processor --spans 50000

``tests/reliability/test_soak.py`` runs a scaled-down soak and asserts the caps.
"""

from __future__ import annotations

import argparse
import resource
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

from genai_cost import CostSpanProcessor, PricingTable
from genai_cost.metrics import OTHER_MODEL
from genai_cost.pricing.table import CACHE_SIZE
from genai_cost.semconv import GenAI, Ours

__all__ = ["SoakReport", "soak"]

CALLS_PER_TRACE = 4
MODEL_PREFIX = "soak-model-"


class _CountingExporter(SpanExporter):
    """Counts what reaches the exporter and sums the cost the processor added, then drops it."""

    def __init__(self) -> None:
        self.spans = 0
        self.priced = 0
        self.rolled_up_calls = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        for span in spans:
            attributes = span.attributes or {}
            self.spans += 1
            self.priced += GenAI.USAGE_COST_AMOUNT in attributes and GenAI.USAGE_INPUT_TOKENS in attributes
            calls = attributes.get(Ours.SUBTREE_CALLS)
            if isinstance(calls, int) and GenAI.USAGE_INPUT_TOKENS not in attributes:
                self.rolled_up_calls += calls
        return SpanExportResult.SUCCESS


@dataclass
class SoakReport:
    calls: int
    exported_spans: int
    priced_spans: int
    rolled_up_calls: int
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    rss_mb_along_the_way: list[float] = field(default_factory=list)
    tracked_traces: int = 0
    max_traces: int = 0
    evicted_traces: int = 0
    pricing_cache_entries: int = 0
    metric_model_names: int = 0
    metric_model_limit: int = 0
    cost_series_model_values: set[str] = field(default_factory=set)

    def lines(self) -> list[str]:
        rss = ", ".join(f"{value:.0f}" for value in self.rss_mb_along_the_way)
        return [
            f"calls priced by CostSpanProcessor: {self.priced_spans:,} of {self.calls:,} "
            f"({self.exported_spans:,} spans exported incl. roots)",
            f"calls rolled up into root spans: {self.rolled_up_calls:,}",
            f"time: {self.seconds:.1f} s wall, {self.cpu_seconds:.1f} s CPU "
            f"({self.cpu_seconds / max(self.calls, 1) * 1e6:.1f} µs CPU per call)",
            f"peak RSS: {self.peak_rss_mb:.0f} MB; RSS every 10%: {rss} MB",
            f"rollup traces held: {self.tracked_traces} (cap {self.max_traces}, evicted {self.evicted_traces:,})",
            f"pricing cache entries: {self.pricing_cache_entries} (cap {CACHE_SIZE})",
            f"model names let through to metrics: {self.metric_model_names} (cap {self.metric_model_limit}); "
            f"cost metric model values: {len(self.cost_series_model_values)} "
            f"(incl. {OTHER_MODEL!r}: {OTHER_MODEL in self.cost_series_model_values})",
        ]


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def _pricing() -> PricingTable:
    entry = {"id": "soak:models", "provider": "openai", "match": {"prefix": MODEL_PREFIX}, "input": 1, "output": 2}
    return PricingTable.load(entries=[entry], include_bundled=False)


def soak(*, calls: int, models: int = 10_000, open_traces: int = 256, max_traces: int = 10_000) -> SoakReport:
    """Push ``calls`` priced spans (plus one root per ``CALLS_PER_TRACE``) through the processor."""
    reader = InMemoryMetricReader()
    exporter = _CountingExporter()
    pricing = _pricing()
    processor = CostSpanProcessor(
        SimpleSpanProcessor(exporter), pricing, MeterProvider(metric_readers=[reader]), max_traces=max_traces
    )
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("soak")
    roots: deque[trace.Span] = deque()
    rss: list[float] = []
    checkpoint = max(calls // 10, 1)
    started, cpu_started = time.perf_counter(), time.process_time()
    for i in range(calls):
        if i % CALLS_PER_TRACE == 0:
            roots.append(tracer.start_span("invoke_agent soak"))
            if len(roots) > open_traces:
                roots.popleft().end()
        parent = trace.set_span_in_context(roots[i % len(roots)])
        model = f"{MODEL_PREFIX}{i % models}"
        attributes = {
            GenAI.OPERATION_NAME: "chat",
            GenAI.PROVIDER_NAME: "openai",
            GenAI.REQUEST_MODEL: model,
            GenAI.USAGE_INPUT_TOKENS: 100 + i % 7,
            GenAI.USAGE_OUTPUT_TOKENS: 20 + i % 5,
        }
        tracer.start_span(f"chat {model}", context=parent, attributes=attributes).end()
        if (i + 1) % checkpoint == 0:
            rss.append(_rss_mb())
    while roots:
        roots.popleft().end()
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    data = reader.get_metrics_data()
    cost_models = {
        str(point.attributes.get(GenAI.REQUEST_MODEL))
        for resource_metrics in (data.resource_metrics if data else ())
        for scope in resource_metrics.scope_metrics
        for metric in scope.metrics
        if metric.name == "gen_ai.client.operation.cost"
        for point in metric.data.data_points
    }
    limiter = processor._instruments._limit_model
    return SoakReport(
        calls=calls,
        exported_spans=exporter.spans,
        priced_spans=exporter.priced,
        rolled_up_calls=exporter.rolled_up_calls,
        seconds=seconds,
        cpu_seconds=cpu_seconds,
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        rss_mb_along_the_way=rss,
        tracked_traces=processor.tracked_traces,
        max_traces=max_traces,
        evicted_traces=processor.evicted_traces,
        pricing_cache_entries=len(pricing._cache),
        metric_model_names=len(limiter._seen),
        metric_model_limit=limiter._limit,
        cost_series_model_values=cost_models,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000, help="priced spans (calls) to push")
    parser.add_argument("--models", type=int, default=10_000, help="distinct model names")
    options = parser.parse_args()
    report = soak(calls=options.spans, models=options.models)
    print("\n".join(report.lines()))


if __name__ == "__main__":
    main()
