"""Pure extractors: invoke bodies per model family, headers, request parameters, operations."""

from __future__ import annotations

from typing import Any

import pytest

from genai_cost.instrumentation.bedrock.bodies import (
    finish_reasons,
    json_body,
    operation_for,
    usage_from_body,
    usage_from_headers,
)
from genai_cost.instrumentation.bedrock.converse import usage_from_converse
from genai_cost.instrumentation.bedrock.parameters import request_parameters
from genai_cost.semconv import GenAI
from genai_cost.usage import Usage


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            {"usage": {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 100,
                       "cache_creation_input_tokens": 30,
                       "cache_creation": {"ephemeral_5m_input_tokens": 10, "ephemeral_1h_input_tokens": 20}}},
            Usage(input_tokens=140, output_tokens=5, cache_read_tokens=100, cache_creation_tokens=30,
                  cache_creation_5m_tokens=10, cache_creation_1h_tokens=20),
            id="anthropic-cache-ttl-split",
        ),
        pytest.param(
            # The usage block of a recorded web-search answer (pydantic-ai's cassette
            # test_anthropic_model_web_search_tool_stream), should a Bedrock body carry it.
            {"usage": {"input_tokens": 22397, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                       "output_tokens": 637, "server_tool_use": {"web_search_requests": 2, "web_fetch_requests": 0}}},
            Usage(input_tokens=22397, output_tokens=637, cache_read_tokens=0, cache_creation_tokens=0,
                  web_searches=2),
            id="anthropic-web-searches",
        ),
        pytest.param(
            {"type": "message_start", "message": {"id": "msg", "usage": {"input_tokens": 7, "output_tokens": 1}}},
            Usage(input_tokens=7, output_tokens=1),
            id="anthropic-message-start",
        ),
        pytest.param(
            {"usage": {"inputTokens": 10, "outputTokens": 5, "cacheReadInputTokenCount": 90,
                       "cacheWriteInputTokenCount": 0}},
            Usage(input_tokens=100, output_tokens=5, cache_read_tokens=90, cache_creation_tokens=0),
            id="nova",
        ),
        pytest.param(
            {"usage": {"prompt_tokens": 20, "completion_tokens": 4, "prompt_tokens_details": {"cached_tokens": 8}}},
            Usage(input_tokens=20, output_tokens=4, cache_read_tokens=8),
            id="openai-style-includes-cache",
        ),
        pytest.param(
            {"inputTextTokenCount": 9, "results": [{"tokenCount": 3}, {"tokenCount": 4}]},
            Usage(input_tokens=9, output_tokens=7),
            id="titan-text",
        ),
        pytest.param({"inputTextTokenCount": 9, "embedding": [0.1]}, Usage(input_tokens=9), id="titan-embed"),
        pytest.param(
            {"prompt_token_count": 11, "generation_token_count": 2, "stop_reason": "stop"},
            Usage(input_tokens=11, output_tokens=2),
            id="llama",
        ),
        pytest.param(
            {"type": "message_stop", "amazon-bedrock-invocationMetrics": {
                "inputTokenCount": 5, "outputTokenCount": 6, "cacheReadInputTokenCount": 40}},
            Usage(input_tokens=45, output_tokens=6, cache_read_tokens=40),
            id="invocation-metrics",
        ),
        pytest.param({"outputs": [{"text": "hi", "stop_reason": "stop"}]}, None, id="mistral-none"),
        pytest.param({"usage": "not an object"}, None, id="malformed"),
    ],
)  # fmt: skip
def test_usage_from_body(body: dict[str, Any], expected: Usage | None) -> None:
    assert usage_from_body(body) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param({"stop_reason": "end_turn"}, ["end_turn"], id="anthropic"),
        pytest.param({"type": "message_delta", "delta": {"stop_reason": "max_tokens"}}, ["max_tokens"], id="delta"),
        pytest.param({"messageStop": {"stopReason": "end_turn"}}, ["end_turn"], id="nova-stream"),
        pytest.param({"results": [{"completionReason": "FINISH"}, {"completionReason": "LENGTH"}]},
                     ["FINISH", "LENGTH"], id="titan"),
        pytest.param({"outputs": [{"stop_reason": "length"}]}, ["length"], id="mistral"),
        pytest.param({"generations": [{"finish_reason": "COMPLETE"}]}, ["COMPLETE"], id="cohere"),
        pytest.param({"choices": [{"finish_reason": "stop"}]}, ["stop"], id="openai-style"),
        pytest.param({"generation": "x", "stop_reason": None}, [], id="llama-not-yet"),
    ],
)  # fmt: skip
def test_finish_reasons(body: dict[str, Any], expected: list[str]) -> None:
    assert finish_reasons(body) == expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param({"x-amzn-bedrock-input-token-count": "12", "x-amzn-bedrock-output-token-count": "6"},
                     Usage(input_tokens=12, output_tokens=6), id="counts"),
        pytest.param({"x-amzn-bedrock-input-token-count": "12", "x-amzn-bedrock-output-token-count": "6",
                      "x-amzn-bedrock-cache-read-input-token-count": "100",
                      "x-amzn-bedrock-cache-write-input-token-count": "0"},
                     Usage(input_tokens=112, output_tokens=6, cache_read_tokens=100, cache_creation_tokens=0),
                     id="cache"),
        pytest.param({"x-amzn-bedrock-input-token-count": "n/a"}, None, id="garbage"),
        pytest.param({}, None, id="absent"),
        pytest.param(None, None, id="no-headers"),
    ],
)  # fmt: skip
def test_usage_from_headers(headers: Any, expected: Usage | None) -> None:
    assert usage_from_headers(headers) == expected


def test_converse_usage_excludes_cache_from_input_tokens() -> None:
    usage = {"inputTokens": 3, "outputTokens": 5, "totalTokens": 1208, "cacheReadInputTokens": 1000,
             "cacheWriteInputTokens": 200}  # fmt: skip

    assert usage_from_converse(usage) == Usage(
        input_tokens=1203, output_tokens=5, cache_read_tokens=1000, cache_creation_tokens=200
    )
    assert usage_from_converse(None) is None


@pytest.mark.parametrize(
    ("model", "body", "expected"),
    [
        pytest.param("anthropic.claude-v2", {"messages": []}, "chat", id="messages"),
        pytest.param("cohere.command-r-v1:0", {"message": "hi"}, "chat", id="cohere-chat"),
        pytest.param("meta.llama3-8b-instruct-v1:0", {"prompt": "hi"}, "text_completion", id="prompt"),
        pytest.param("amazon.titan-text-express-v1", {"inputText": "hi"}, "text_completion", id="input-text"),
        pytest.param("amazon.titan-embed-text-v2:0", {"inputText": "hi"}, "embeddings", id="embed"),
        pytest.param("cohere.embed-english-v3", {"texts": ["hi"]}, "embeddings", id="cohere-embed"),
        pytest.param("some.model", None, "chat", id="unreadable-body"),
    ],
)
def test_operation_for(model: str, body: dict[str, Any] | None, expected: str) -> None:
    assert operation_for(model, body) == expected


def test_request_parameters_first_source_wins() -> None:
    attributes = request_parameters(
        {"maxTokens": 10, "topP": 0.5, "stopSequences": ["a"]},
        {"top_k": 3, "temperature": 0.1, "max_tokens": 99},
        "not a mapping",
    )

    assert attributes == {
        GenAI.REQUEST_MAX_TOKENS: 10,
        GenAI.REQUEST_TEMPERATURE: 0.1,
        GenAI.REQUEST_TOP_P: 0.5,
        GenAI.REQUEST_TOP_K: 3,
        GenAI.REQUEST_STOP_SEQUENCES: ["a"],
    }


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(b'{"a": 1}', {"a": 1}, id="bytes"),
        pytest.param('{"a": 1}', {"a": 1}, id="str"),
        pytest.param(b"[1]", None, id="not-an-object"),
        pytest.param(b"{", None, id="invalid"),
        pytest.param(b" " * (1 << 20) + b"{}", None, id="too-large"),
        pytest.param(object(), None, id="file-like"),
    ],
)
def test_json_body(body: Any, expected: Any) -> None:
    assert json_body(body) == expected
