"""Helpers for the Bedrock tests: expected costs from the bundled table, comparable results."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from genai_cost.pricing import PricingTable
from genai_cost.semconv import Provider

SONNET = "us.anthropic.claude-3-5-sonnet-20241022-v2:0"
MESSAGES = [{"role": "user", "content": [{"text": "Say hello"}]}]
ANTHROPIC = {
    "anthropic_version": "bedrock-2023-05-31",
    "max_tokens": 64,
    "temperature": 0.2,
    "messages": [{"role": "user", "content": "Say hello"}],
}
"""An Anthropic Messages body for invoke_model."""
BODY = json.dumps(ANTHROPIC)


def expected_cost(
    pricing: PricingTable, model: str, *, input: int, output: int, cache_read: int = 0, cache_write: int = 0
) -> float:
    """The DESIGN formula on the matched entry's rates; ``input`` includes cache reads and writes."""
    entry = pricing.match(model, provider=Provider.AWS_BEDROCK)
    assert entry is not None, model
    rates = entry.rates
    base = rates.input or Decimal(0)
    read_rate = rates.input_breakdown.get("cache_read", base)
    write_rate = rates.input_breakdown.get("cache_creation", base)
    total = (
        (input - cache_read - cache_write) * base
        + cache_read * read_rate
        + cache_write * write_rate
        + output * (rates.output or Decimal(0))
    ) / Decimal(1_000_000)
    return float(total)


def only_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    spans = exporter.get_finished_spans()
    assert len(spans) == 1, [span.name for span in spans]
    return spans[0]


def comparable(result: dict[str, Any]) -> dict[str, Any]:
    """A botocore result without what differs between two identical calls (the Date header)."""
    result = copy.copy(result)
    metadata = copy.deepcopy(result.get("ResponseMetadata", {}))
    metadata.get("HTTPHeaders", {}).pop("date", None)
    result["ResponseMetadata"] = metadata
    return result
