"""What a call through an older Google SDK must record: the fixture's counts, genai-prices' cost."""

from __future__ import annotations

import genai_prices
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.support.fake_google_genai import SCENARIOS

from genai_cost.semconv import GenAI

__all__ = ["assert_usage_and_cost", "only_span"]


def only_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    spans = exporter.get_finished_spans()
    assert len(spans) == 1, [span.name for span in spans]
    return spans[0]


def assert_usage_and_cost(span: ReadableSpan, scenario: str, model: str) -> None:
    """Tokens as the fake reported them (prompt includes the cached part); the cost genai-prices
    computes for the same usage."""
    raw = SCENARIOS[scenario]
    attributes = span.attributes or {}
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == raw.prompt
    assert attributes[GenAI.USAGE_OUTPUT_TOKENS] == raw.candidates
    assert attributes.get(GenAI.USAGE_CACHE_READ_INPUT_TOKENS) == raw.cached
    usage = genai_prices.Usage(input_tokens=raw.prompt, cache_read_tokens=raw.cached, output_tokens=raw.candidates)
    expected = genai_prices.calc_price(usage, model, provider_id="google").total_price
    assert attributes[GenAI.USAGE_COST_AMOUNT] == float(expected)
