"""converse and converse_stream: span attributes, normalized usage, exact cost, same results."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from botocore.eventstream import EventStream
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from tests.support.fake_bedrock import CACHED, DEFAULT, scenario
from tests.support.fake_http import FakeHTTPServer

from genai_cost.pricing import PricingTable
from genai_cost.semconv import GenAI, Ours, PricingStatus, Provider

from .helpers import MESSAGES, SONNET, comparable, expected_cost, only_span, usage_attributes

MODELS = [
    pytest.param(SONNET, id="us-profile"),
    pytest.param("eu.anthropic.claude-3-7-sonnet-20250219-v1:0", id="eu-profile"),
    pytest.param("apac.anthropic.claude-3-haiku-20240307-v1:0", id="apac-profile"),
    pytest.param("global.anthropic.claude-sonnet-4-20250514-v1:0", id="global-profile"),
    pytest.param("anthropic.claude-v2", id="foundation-model"),
    pytest.param("arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-v2", id="foundation-model-arn"),
    pytest.param(f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/{SONNET}", id="inference-profile-arn"),
    pytest.param("us.amazon.nova-lite-v1:0", id="nova-profile"),
]


def test_converse_span(
    bedrock: Any, span_exporter: InMemorySpanExporter, pricing: PricingTable, fake_bedrock: FakeHTTPServer
) -> None:
    result = bedrock.converse(
        modelId=SONNET,
        messages=MESSAGES,
        inferenceConfig={"maxTokens": 100, "temperature": 0.5, "topP": 0.9, "stopSequences": ["END"]},
        additionalModelRequestFields={"top_k": 40},
    )

    assert result["usage"]["inputTokens"] == DEFAULT.input
    span = only_span(span_exporter)
    assert span.name == f"chat {SONNET}"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    entry = pricing.match(SONNET, provider=Provider.AWS_BEDROCK)
    assert entry is not None
    port = int(fake_bedrock.origin.rsplit(":", 1)[1])
    assert dict(span.attributes or {}) == {
        GenAI.OPERATION_NAME: "chat",
        GenAI.PROVIDER_NAME: "aws.bedrock",
        GenAI.REQUEST_MODEL: SONNET,
        GenAI.SERVER_ADDRESS: "127.0.0.1",
        GenAI.SERVER_PORT: port,
        GenAI.REQUEST_MAX_TOKENS: 100,
        GenAI.REQUEST_TEMPERATURE: 0.5,
        GenAI.REQUEST_TOP_P: 0.9,
        GenAI.REQUEST_TOP_K: 40,
        GenAI.REQUEST_STOP_SEQUENCES: ("END",),
        GenAI.AWS_REQUEST_ID: "fake-request-0001",
        GenAI.RESPONSE_FINISH_REASONS: ("end_turn",),
        GenAI.USAGE_INPUT_TOKENS: DEFAULT.input,
        GenAI.USAGE_OUTPUT_TOKENS: DEFAULT.output,
        GenAI.USAGE_COST_AMOUNT: expected_cost(pricing, SONNET, DEFAULT),
        GenAI.USAGE_COST_CURRENCY: "USD",
        GenAI.USAGE_COST_SOURCE: "local",
        Ours.PRICING_STATUS: PricingStatus.PRICED,
        Ours.PRICING_ENTRY: entry.id,
        f"{Ours.COST_PREFIX}input": float(DEFAULT.input * entry.rates.input / Decimal(1_000_000)),
        f"{Ours.COST_PREFIX}output": float(DEFAULT.output * entry.rates.output / Decimal(1_000_000)),
    }


@pytest.mark.parametrize("model", MODELS)
def test_model_ids_resolve_to_their_price(
    bedrock: Any, span_exporter: InMemorySpanExporter, pricing: PricingTable, model: str
) -> None:
    bedrock.converse(modelId=model, messages=MESSAGES)

    attributes = only_span(span_exporter).attributes or {}
    assert attributes[GenAI.REQUEST_MODEL] == model
    assert attributes[Ours.PRICING_STATUS] == PricingStatus.PRICED
    assert attributes[GenAI.USAGE_COST_AMOUNT] == expected_cost(pricing, model, DEFAULT)


def test_claude_v2_arn_is_priced_at_the_stated_rates(bedrock: Any, span_exporter: InMemorySpanExporter) -> None:
    # anthropic.claude-v2 costs $8 per 1M input and $24 per 1M output tokens on Bedrock.
    bedrock.converse(modelId="arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-v2:1", messages=MESSAGES)

    cost = (DEFAULT.input * Decimal(8) + DEFAULT.output * Decimal(24)) / Decimal(1_000_000)
    assert only_span(span_exporter).attributes[GenAI.USAGE_COST_AMOUNT] == float(cost)  # type: ignore[index]


def test_cache_tokens_are_added_to_input(
    bedrock: Any, span_exporter: InMemorySpanExporter, pricing: PricingTable
) -> None:
    with scenario(bedrock, "cached"):
        result = bedrock.converse(modelId=SONNET, messages=MESSAGES)

    usage = result["usage"]
    assert usage["cacheReadInputTokens"] == CACHED.cache_read
    attributes = dict(only_span(span_exporter).attributes or {})
    assert attributes.items() >= usage_attributes(CACHED).items()
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == CACHED.input + CACHED.cache_read + CACHED.cache_write
    assert attributes[GenAI.USAGE_COST_AMOUNT] == expected_cost(pricing, SONNET, CACHED)


def test_converse_result_is_unchanged(
    instrument: Callable[..., Any], new_client: Callable[[], Any], span_exporter: InMemorySpanExporter
) -> None:
    plain = new_client().converse(modelId=SONNET, messages=MESSAGES)
    instrument()
    traced = new_client().converse(modelId=SONNET, messages=MESSAGES)

    assert comparable(traced) == comparable(plain)
    assert len(span_exporter.get_finished_spans()) == 1


@pytest.mark.parametrize("name", ["default", "cached"])
def test_converse_stream(
    instrument: Callable[..., Any],
    new_client: Callable[[], Any],
    span_exporter: InMemorySpanExporter,
    pricing: PricingTable,
    name: str,
) -> None:
    plain_client = new_client()
    with scenario(plain_client, name):
        plain = plain_client.converse_stream(modelId=SONNET, messages=MESSAGES)
        plain_events = list(plain["stream"])
    instrument()
    bedrock = new_client()
    with scenario(bedrock, name):
        traced = bedrock.converse_stream(modelId=SONNET, messages=MESSAGES, inferenceConfig={"maxTokens": 64})
        assert span_exporter.get_finished_spans() == ()
        traced_events = list(traced["stream"])

    assert traced_events == plain_events
    assert set(traced) == set(plain)
    assert isinstance(traced["stream"], EventStream)
    tokens = CACHED if name == "cached" else DEFAULT
    span = only_span(span_exporter)
    attributes = dict(span.attributes or {})
    assert span.name == f"chat {SONNET}"
    assert attributes[GenAI.REQUEST_MAX_TOKENS] == 64
    assert attributes[GenAI.RESPONSE_FINISH_REASONS] == ("end_turn",)
    assert attributes[GenAI.AWS_REQUEST_ID] == "fake-request-0001"
    assert attributes.items() >= usage_attributes(tokens).items()
    assert attributes[GenAI.RESPONSE_TIME_TO_FIRST_CHUNK] > 0
    assert attributes[GenAI.USAGE_COST_AMOUNT] == expected_cost(pricing, SONNET, tokens)
