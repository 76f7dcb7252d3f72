"""What the framework tests share: an in-memory pipeline behind ``CostSpanProcessor``, and the
one assertion each of them makes: every LLM call is priced exactly once (one span holds its
cost, one cost record, ``track_usage`` counts it once), and a framework's agent or chain span
carries the subtree total of the calls below it."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.support.telemetry import metric_points

from genai_cost import CostSpanProcessor
from genai_cost.semconv import GenAI, Metrics, Ours
from genai_cost.tracking import UsageTotals

__all__ = ["Pipeline", "assert_priced_once", "assert_rolled_up", "describe"]


class Pipeline:
    """A tracer and meter provider exporting in memory, with ``CostSpanProcessor`` in front."""

    def __init__(self) -> None:
        self.exporter, self.reader = InMemorySpanExporter(), InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.tracer_provider = TracerProvider()
        self.processor = CostSpanProcessor(SimpleSpanProcessor(self.exporter), meter_provider=self.meter_provider)
        self.tracer_provider.add_span_processor(self.processor)

    @property
    def options(self) -> dict[str, object]:
        """The keyword arguments an instrumentor's ``instrument()`` takes for this pipeline."""
        return {"tracer_provider": self.tracer_provider, "meter_provider": self.meter_provider}

    def spans(self, scope: str, name: str | None = None) -> list[ReadableSpan]:
        """Finished spans whose instrumentation scope starts with ``scope`` (and named ``name``)."""
        return [
            span
            for span in self.exporter.get_finished_spans()
            if span.instrumentation_scope.name.startswith(scope) and (name is None or span.name == name)
        ]

    def priced(self) -> list[ReadableSpan]:
        """Finished spans that carry a cost."""
        return [s for s in self.exporter.get_finished_spans() if GenAI.USAGE_COST_AMOUNT in (s.attributes or {})]


def assert_priced_once(
    pipeline: Pipeline, usage: UsageTotals, *, calls: int, cost: float, tokens: tuple[int, int], scope: str
) -> None:
    """``calls`` LLM calls of ``cost`` and (input, output) ``tokens`` each, every one priced once,
    on a span of instrumentation ``scope``."""
    points = metric_points(pipeline.reader, Metrics.OPERATION_COST)
    assert sum(point.count for point in points) == calls, "one cost record per LLM call"
    assert sum(point.sum for point in points) == pytest.approx(calls * cost, rel=1e-9)
    assert usage.successful_requests == calls
    assert (usage.prompt_tokens, usage.completion_tokens) == (calls * tokens[0], calls * tokens[1])
    assert usage.total_cost == pytest.approx(Decimal(str(calls * cost)), rel=Decimal("1e-9"))
    priced = pipeline.priced()
    assert [s.instrumentation_scope.name for s in priced] == [scope] * calls, describe(priced)
    for span in priced:
        assert (span.attributes or {})[GenAI.USAGE_COST_AMOUNT] == pytest.approx(cost, rel=1e-9)


def assert_rolled_up(spans: Iterable[ReadableSpan], *, calls: int, cost: float, tokens: tuple[int, int]) -> None:
    """Each of ``spans`` (an agent run, a chain) has ``calls`` calls of ``cost`` and ``tokens`` below it."""
    spans = list(spans)
    assert spans, "no span to roll up to"
    for span in spans:
        attributes = span.attributes or {}
        assert attributes[Ours.SUBTREE_CALLS] == calls, span.name
        assert attributes[Ours.SUBTREE_COST_AMOUNT] == pytest.approx(calls * cost, rel=1e-9)
        assert attributes[Ours.SUBTREE_INPUT_TOKENS] == calls * tokens[0]
        assert attributes[Ours.SUBTREE_OUTPUT_TOKENS] == calls * tokens[1]


def describe(spans: Iterable[ReadableSpan]) -> str:
    """One line per span (scope, name, usage and cost attributes), for assertion messages and reports."""
    keys = ("gen_ai.usage.", "genai_cost.", "llm.token_count.")
    return "\n".join(
        f"{span.instrumentation_scope.name} | {span.name} | "
        + ", ".join(f"{k}={v}" for k, v in sorted((span.attributes or {}).items()) if k.startswith(keys))
        for span in spans
    )
