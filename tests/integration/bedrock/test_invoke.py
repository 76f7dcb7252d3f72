"""invoke_model and invoke_model_with_response_stream for each model family's native format."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.eventstream import EventStream
from botocore.response import StreamingBody
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.support.fake_bedrock import CACHED, DEFAULT, Tokens, scenario

from genai_cost.pricing import PricingTable
from genai_cost.semconv import GenAI, Ours, PricingStatus

from .helpers import ANTHROPIC, SONNET, comparable, expected_cost, only_span, usage_attributes

NOVA = {
    "messages": [{"role": "user", "content": [{"text": "Say hello"}]}],
    "inferenceConfig": {"max_new_tokens": 64, "topP": 0.9},
}
TITAN = {"inputText": "Say hello", "textGenerationConfig": {"maxTokenCount": 64, "stopSequences": ["User:"]}}
LLAMA = {"prompt": "Say hello", "max_gen_len": 64, "temperature": 0.5, "top_p": 0.9}
MISTRAL = {"prompt": "<s>[INST] Say hello [/INST]", "max_tokens": 64, "top_k": 50}

# model, request body, operation, request attributes, finish reasons, response id
FAMILIES = [
    pytest.param(SONNET, ANTHROPIC, "chat", {GenAI.REQUEST_MAX_TOKENS: 64, GenAI.REQUEST_TEMPERATURE: 0.2},
                 ("end_turn",), "msg_bdrk_01FAKE", id="anthropic-messages"),
    pytest.param("anthropic.claude-v2", {"prompt": "\n\nHuman: Say hello\n\nAssistant:", "max_tokens_to_sample": 64},
                 "text_completion", {}, ("stop_sequence",), None, id="anthropic-text-headers"),
    pytest.param("us.amazon.nova-lite-v1:0", NOVA, "chat", {GenAI.REQUEST_MAX_TOKENS: 64, GenAI.REQUEST_TOP_P: 0.9},
                 ("end_turn",), None, id="nova"),
    pytest.param("amazon.titan-text-express-v1", TITAN, "text_completion",
                 {GenAI.REQUEST_MAX_TOKENS: 64, GenAI.REQUEST_STOP_SEQUENCES: ("User:",)}, ("FINISH",), None,
                 id="titan-text"),
    pytest.param("meta.llama3-8b-instruct-v1:0", LLAMA, "text_completion",
                 {GenAI.REQUEST_MAX_TOKENS: 64, GenAI.REQUEST_TEMPERATURE: 0.5, GenAI.REQUEST_TOP_P: 0.9},
                 ("stop",), None, id="llama"),
    pytest.param("mistral.mistral-7b-instruct-v0:2", MISTRAL, "text_completion",
                 {GenAI.REQUEST_MAX_TOKENS: 64, GenAI.REQUEST_TOP_K: 50}, ("stop",), None, id="mistral-headers"),
]  # fmt: skip


@pytest.mark.parametrize(("model", "body", "operation", "request_attributes", "reasons", "response_id"), FAMILIES)
def test_invoke_model(
    instrument: Callable[..., Any],
    new_client: Callable[[], Any],
    span_exporter: InMemorySpanExporter,
    pricing: PricingTable,
    model: str,
    body: dict[str, Any],
    operation: str,
    request_attributes: dict[str, Any],
    reasons: tuple[str, ...],
    response_id: str | None,
) -> None:
    plain = new_client().invoke_model(modelId=model, body=json.dumps(body))
    plain_bytes = plain["body"].read()
    instrument()
    traced = new_client().invoke_model(modelId=model, body=json.dumps(body))

    assert isinstance(traced["body"], StreamingBody)
    assert traced["body"].read() == plain_bytes
    assert comparable({**traced, "body": None}) == comparable({**plain, "body": None})
    span = only_span(span_exporter)
    attributes = dict(span.attributes or {})
    assert span.name == f"{operation} {model}"
    assert attributes[GenAI.OPERATION_NAME] == operation
    assert attributes.items() >= request_attributes.items()
    assert attributes[GenAI.RESPONSE_FINISH_REASONS] == reasons
    assert attributes.get(GenAI.RESPONSE_ID) == response_id
    assert attributes.items() >= usage_attributes(DEFAULT).items()
    assert attributes[GenAI.USAGE_COST_AMOUNT] == expected_cost(pricing, model, DEFAULT)


def test_invoke_model_cached_anthropic(
    bedrock: Any, span_exporter: InMemorySpanExporter, pricing: PricingTable
) -> None:
    with scenario(bedrock, "cached"):
        result = bedrock.invoke_model(modelId=SONNET, body=json.dumps(ANTHROPIC))

    assert json.loads(result["body"].read())["usage"]["cache_read_input_tokens"] == CACHED.cache_read
    attributes = dict(only_span(span_exporter).attributes or {})
    assert attributes.items() >= usage_attributes(CACHED).items()
    assert attributes[GenAI.USAGE_COST_AMOUNT] == expected_cost(pricing, SONNET, CACHED)


def test_invoke_model_embeddings(bedrock: Any, span_exporter: InMemorySpanExporter, pricing: PricingTable) -> None:
    model = "amazon.titan-embed-text-v2:0"
    result = bedrock.invoke_model(modelId=model, body=json.dumps({"inputText": "Say hello"}))

    assert json.loads(result["body"].read())["embedding"]
    span = only_span(span_exporter)
    attributes = span.attributes or {}
    assert span.name == f"embeddings {model}"
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == DEFAULT.input
    assert GenAI.USAGE_OUTPUT_TOKENS not in attributes
    assert attributes[GenAI.USAGE_COST_AMOUNT] == expected_cost(pricing, model, Tokens(input=DEFAULT.input, output=0))


def test_unknown_model_is_not_priced_as_zero(bedrock: Any, span_exporter: InMemorySpanExporter) -> None:
    model = "cohere.command-r-v1:0"
    body = json.dumps({"message": "Say hello", "max_tokens": 64, "p": 0.75})
    bedrock.invoke_model(modelId=model, body=body)["body"].read()

    attributes = only_span(span_exporter).attributes or {}
    assert attributes[GenAI.OPERATION_NAME] == "chat"
    assert attributes[GenAI.REQUEST_TOP_P] == 0.75
    assert attributes[GenAI.RESPONSE_FINISH_REASONS] == ("COMPLETE",)
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == DEFAULT.input
    assert attributes[Ours.PRICING_STATUS] == PricingStatus.UNKNOWN_MODEL
    assert GenAI.USAGE_COST_AMOUNT not in attributes


# model, request body, finish reasons, response id
STREAMS = [
    pytest.param(SONNET, ANTHROPIC, ("end_turn",), "msg_bdrk_01FAKE", id="anthropic-messages"),
    pytest.param("us.amazon.nova-lite-v1:0", NOVA, ("end_turn",), None, id="nova"),
    pytest.param("meta.llama3-8b-instruct-v1:0", LLAMA, ("stop",), None, id="llama"),
    pytest.param("amazon.titan-text-express-v1", TITAN, ("FINISH",), None, id="titan-text"),
    pytest.param("mistral.mistral-7b-instruct-v0:2", MISTRAL, ("stop",), None, id="mistral"),
]


@pytest.mark.parametrize("name", ["default", "cached"])
@pytest.mark.parametrize(("model", "body", "reasons", "response_id"), STREAMS)
def test_invoke_model_with_response_stream(
    instrument: Callable[..., Any],
    new_client: Callable[[], Any],
    span_exporter: InMemorySpanExporter,
    pricing: PricingTable,
    model: str,
    body: dict[str, Any],
    reasons: tuple[str, ...],
    response_id: str | None,
    name: str,
) -> None:
    plain_client = new_client()
    with scenario(plain_client, name):
        plain = list(plain_client.invoke_model_with_response_stream(modelId=model, body=json.dumps(body))["body"])
    instrument()
    bedrock = new_client()
    with scenario(bedrock, name):
        result = bedrock.invoke_model_with_response_stream(modelId=model, body=json.dumps(body))
        assert isinstance(result["body"], EventStream)
        traced = list(result["body"])

    assert traced == plain
    tokens = CACHED if name == "cached" else DEFAULT
    attributes = dict(only_span(span_exporter).attributes or {})
    assert attributes[GenAI.RESPONSE_FINISH_REASONS] == reasons
    assert attributes.get(GenAI.RESPONSE_ID) == response_id
    assert attributes[GenAI.RESPONSE_TIME_TO_FIRST_CHUNK] > 0
    assert attributes.items() >= usage_attributes(tokens).items()
    assert attributes[GenAI.USAGE_COST_AMOUNT] == expected_cost(pricing, model, tokens)
