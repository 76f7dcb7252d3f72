"""Helpers for the Bedrock tests: expected costs from the bundled table, comparable results."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.support.fake_bedrock import Tokens

from genai_cost.pricing import PricingTable
from genai_cost.semconv import GenAI, Provider

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


# An app that drops a live HTTP stream leaves its socket to the garbage collector: urllib3's
# ResourceWarning is the app's, with or without instrumentation.
DROPPED_SOCKET = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def expected_cost(pricing: PricingTable, model: str, tokens: Tokens) -> float:
    """The DESIGN formula on the matched entry's rates for the fake's token counts."""
    entry = pricing.match(model, provider=Provider.AWS_BEDROCK)
    assert entry is not None, model
    rates = entry.rates
    base = rates.input or Decimal(0)
    read_rate = rates.input_breakdown.get("cache_read", base)
    write_rate = rates.input_breakdown.get("cache_creation", base)
    total = (
        tokens.input * base
        + tokens.cache_read * read_rate
        + tokens.cache_write * write_rate
        + tokens.output * (rates.output or Decimal(0))
    ) / Decimal(1_000_000)
    return float(total)


def usage_attributes(tokens: Tokens) -> dict[str, int]:
    """The ``gen_ai.usage.*`` attributes the fake's token counts must produce."""
    attributes = {GenAI.USAGE_INPUT_TOKENS: tokens.total_input, GenAI.USAGE_OUTPUT_TOKENS: tokens.output}
    if tokens.cache_read or tokens.cache_write:
        attributes[GenAI.USAGE_CACHE_READ_INPUT_TOKENS] = tokens.cache_read
        attributes[GenAI.USAGE_CACHE_CREATION_INPUT_TOKENS] = tokens.cache_write
    return attributes


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
