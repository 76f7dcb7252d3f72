"""Cache writes split by lifetime (5 minutes, 1 hour), each priced at its own rate: Converse's
``usage.cacheDetails`` and, in InvokeModel streams, Anthropic's ``message_start`` split, which
must survive the last chunk's invocation metrics."""

from __future__ import annotations

import json
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.support.fake_bedrock import CACHE_1H, scenario
from tests.support.price_oracle import oracle_cost

from genai_cost.semconv import GenAI, Ours

from .helpers import ANTHROPIC, MESSAGES, only_span

MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
CACHE_5M_TOKENS = Ours.USAGE_PREFIX + "cache_creation_5m_tokens"
CACHE_1H_TOKENS = Ours.USAGE_PREFIX + "cache_creation_1h_tokens"


def _converse(bedrock: Any) -> None:
    bedrock.converse(modelId=MODEL, messages=MESSAGES)


def _converse_stream(bedrock: Any) -> None:
    list(bedrock.converse_stream(modelId=MODEL, messages=MESSAGES)["stream"])


def _invoke_stream(bedrock: Any) -> None:
    list(bedrock.invoke_model_with_response_stream(modelId=MODEL, body=json.dumps(ANTHROPIC))["body"])


@pytest.mark.parametrize("send", [_converse, _converse_stream, _invoke_stream], ids=lambda send: send.__name__[1:])
def test_cache_writes_are_split_by_lifetime_and_priced_at_their_rates(
    bedrock: Any, span_exporter: InMemorySpanExporter, send: Any
) -> None:
    with scenario(bedrock, "cache_1h"):
        send(bedrock)

    attributes = only_span(span_exporter).attributes or {}
    one_hour, five_minutes = CACHE_1H.cache_write_1h, CACHE_1H.cache_write - CACHE_1H.cache_write_1h
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == CACHE_1H.total_input
    assert attributes[GenAI.USAGE_CACHE_CREATION_INPUT_TOKENS] == CACHE_1H.cache_write
    assert attributes[CACHE_1H_TOKENS] == one_hour
    assert attributes[CACHE_5M_TOKENS] == five_minutes
    assert attributes[GenAI.USAGE_COST_AMOUNT] == oracle_cost(
        MODEL,
        "aws",
        input_tokens=CACHE_1H.total_input,
        output_tokens=CACHE_1H.output,
        cache_read_tokens=CACHE_1H.cache_read,
        cache_write_tokens=CACHE_1H.cache_write,
        cache_write_1h_tokens=one_hour,
        cache_write_5m_tokens=five_minutes,
    )
