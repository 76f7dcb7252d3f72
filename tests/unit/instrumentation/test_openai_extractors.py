"""Tier 1: the OpenAI extractors as pure functions, on SDK ``model_construct`` objects and raw dicts."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from openai.types import Completion, CompletionUsage, CreateEmbeddingResponse
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.chat.chat_completion import Choice
from openai.types.chat.chat_completion_chunk import Choice as ChunkChoice
from openai.types.chat.chat_completion_chunk import ChoiceDelta
from openai.types.completion_usage import CompletionTokensDetails, PromptTokensDetails
from openai.types.responses import Response as ApiResponse
from openai.types.responses import ResponseUsage
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

from genai_cost.config import Settings
from genai_cost.instrumentation.openai.chat import (
    ChunkAccumulator,
    read_chat_request,
    read_completion_response,
    reported_cost,
    usage_from_openai,
)
from genai_cost.instrumentation.openai.embeddings import read_embeddings_request, read_embeddings_response
from genai_cost.instrumentation.openai.endpoint import endpoint_attributes, provider_for_host
from genai_cost.instrumentation.openai.responses import ResponseEventAccumulator, read_responses_response
from genai_cost.semconv import GenAI
from genai_cost.usage import Usage

SDK_USAGE = CompletionUsage.model_construct(
    prompt_tokens=2006,
    completion_tokens=500,
    total_tokens=2506,
    prompt_tokens_details=PromptTokensDetails.model_construct(cached_tokens=1920, audio_tokens=0),
    completion_tokens_details=CompletionTokensDetails.model_construct(reasoning_tokens=320, audio_tokens=0),
)
FULL = Usage(
    input_tokens=2006,
    output_tokens=500,
    cache_read_tokens=1920,
    input_audio_tokens=0,
    reasoning_tokens=320,
    output_audio_tokens=0,
)


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        pytest.param(SDK_USAGE, FULL, id="sdk-object-with-details"),
        pytest.param(SDK_USAGE.model_dump(), FULL, id="raw-dict-with-details"),
        pytest.param(
            {"prompt_tokens": 11, "completion_tokens": 16}, Usage(input_tokens=11, output_tokens=16), id="no-details"
        ),
        pytest.param(
            CompletionUsage.model_construct(prompt_tokens=0, completion_tokens=0),
            Usage(input_tokens=0, output_tokens=0),
            id="zero-is-a-count",
        ),
        pytest.param(
            {"prompt_tokens": 5, "prompt_tokens_details": None, "completion_tokens_details": None},
            Usage(input_tokens=5),
            id="null-details",
        ),
        pytest.param({"prompt_tokens": 5.0, "completion_tokens": "7"}, Usage(input_tokens=5), id="loose-json"),
        pytest.param(
            {"prompt_tokens": 9, "prompt_tokens_details": {"cached_tokens": 4, "cache_write_tokens": 3}},
            Usage(input_tokens=9, cache_read_tokens=4, cache_creation_tokens=3),
            id="cache-write",
        ),
        pytest.param({"prompt_tokens": True}, Usage(), id="bool-is-not-a-count"),
        pytest.param(None, None, id="absent"),
        pytest.param(
            # A recorded gpt-4o-audio-preview answer (pydantic-ai's test_audio_as_binary_content_input cassette).
            CompletionUsage.model_validate(
                {
                    "prompt_tokens": 64,
                    "completion_tokens": 9,
                    "total_tokens": 73,
                    "prompt_tokens_details": {
                        "audio_tokens": 44,
                        "cached_tokens": 0,
                        "image_tokens": 0,
                        "text_tokens": 20,
                    },
                    "completion_tokens_details": {
                        "accepted_prediction_tokens": 0,
                        "audio_tokens": 0,
                        "reasoning_tokens": 0,
                        "rejected_prediction_tokens": 0,
                        "text_tokens": 9,
                    },
                }
            ),
            Usage(
                input_tokens=64,
                output_tokens=9,
                cache_read_tokens=0,
                input_audio_tokens=44,
                input_image_tokens=0,
                input_text_tokens=20,
                reasoning_tokens=0,
                output_audio_tokens=0,
            ),
            id="by-modality",
        ),
    ],
)
def test_usage_from_openai(usage: Any, expected: Usage | None) -> None:
    assert usage_from_openai(usage) == expected


@pytest.mark.parametrize(
    ("usage", "cost"),
    [
        pytest.param({"prompt_tokens": 1, "cost": 0.25}, 0.25, id="raw-dict"),
        pytest.param(
            CompletionUsage.model_validate(
                {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2, "cost": 0.5}
            ),
            0.5,
            id="sdk-extra-field",
        ),
        pytest.param(CompletionUsage.model_construct(prompt_tokens=1, cost=0.75), 0.75, id="sdk-constructed"),
        pytest.param(SDK_USAGE, None, id="sdk-without-cost"),
        pytest.param(SimpleNamespace(cost="0.1"), "0.1", id="other-object"),
        pytest.param(None, None, id="no-usage"),
    ],
)
def test_reported_cost(usage: Any, cost: Any) -> None:
    assert reported_cost(usage) == cost


def _completion(**fields: Any) -> ChatCompletion:
    message = SimpleNamespace(role="assistant", content="hi", tool_calls=None, refusal=None)
    choices = [Choice.model_construct(index=0, finish_reason="stop", message=message)]
    return ChatCompletion.model_construct(**{"id": "chatcmpl-1", "model": "gpt-4o-mini", "choices": choices, **fields})


@pytest.mark.parametrize(
    ("result", "attributes", "provider_cost"),
    [
        pytest.param(
            _completion(usage=SDK_USAGE, service_tier="default"),
            {
                GenAI.RESPONSE_ID: "chatcmpl-1",
                GenAI.RESPONSE_MODEL: "gpt-4o-mini",
                GenAI.RESPONSE_FINISH_REASONS: ["stop"],
                GenAI.RESPONSE_SERVICE_TIER: "default",
            },
            None,
            id="chat-completion",
        ),
        pytest.param(
            {
                "id": "x",
                "model": "m",
                "choices": [{"finish_reason": "length"}, {"finish_reason": None}],
                "usage": {"prompt_tokens": 1, "cost": 0.5},
            },
            {GenAI.RESPONSE_ID: "x", GenAI.RESPONSE_MODEL: "m", GenAI.RESPONSE_FINISH_REASONS: ["length"]},
            0.5,
            id="raw-dict-with-provider-cost",
        ),
        pytest.param(
            Completion.model_construct(
                id="cmpl-1", model="gpt-3.5-turbo-instruct", choices=[SimpleNamespace(finish_reason="stop", text="t")]
            ),
            {
                GenAI.RESPONSE_ID: "cmpl-1",
                GenAI.RESPONSE_MODEL: "gpt-3.5-turbo-instruct",
                GenAI.RESPONSE_FINISH_REASONS: ["stop"],
            },
            None,
            id="legacy-completion",
        ),
        pytest.param({}, {}, None, id="empty"),
        pytest.param({"id": 3, "model": None, "choices": None}, {}, None, id="wrong-types"),
    ],
)
def test_read_completion_response(result: Any, attributes: dict[str, Any], provider_cost: Any) -> None:
    response = read_completion_response(result)
    assert dict(response.attributes) == attributes
    assert response.provider_cost == provider_cost
    assert GenAI.OUTPUT_MESSAGES not in response.attributes


def test_read_completion_response_captures_output_when_asked() -> None:
    response = read_completion_response(_completion(), capture_content=True)
    assert response.attributes[GenAI.OUTPUT_MESSAGES] == (
        '[{"role":"assistant","parts":[{"type":"text","content":"hi"}],"finish_reason":"stop"}]'
    )


RESPONSE_USAGE = ResponseUsage.model_construct(
    input_tokens=2006,
    output_tokens=500,
    total_tokens=2506,
    input_tokens_details=InputTokensDetails.model_construct(cached_tokens=1920),
    output_tokens_details=OutputTokensDetails.model_construct(reasoning_tokens=320),
)


@pytest.mark.parametrize(
    ("result", "usage", "reasons"),
    [
        pytest.param(
            ApiResponse.model_construct(id="resp_1", model="o4-mini", status="completed", usage=RESPONSE_USAGE),
            Usage(input_tokens=2006, output_tokens=500, cache_read_tokens=1920, reasoning_tokens=320),
            ["completed"],
            id="sdk-response",
        ),
        pytest.param(
            {
                "id": "resp_1",
                "status": "incomplete",
                "incomplete_details": {"reason": "max_output_tokens"},
                "usage": {"input_tokens": 3, "output_tokens": 4},
            },
            Usage(input_tokens=3, output_tokens=4),
            ["max_output_tokens"],
            id="incomplete-raw-dict",
        ),
        pytest.param({"id": "resp_1", "status": "in_progress", "usage": None}, None, ["in_progress"], id="no-usage"),
    ],
)
def test_read_responses_response(result: Any, usage: Usage | None, reasons: list[str]) -> None:
    response = read_responses_response(result)
    assert response.usage == usage
    assert response.attributes[GenAI.RESPONSE_FINISH_REASONS] == reasons


def _web(action: str | None) -> dict[str, Any]:
    return {"type": "web_search_call", "id": "ws", "status": "completed", "action": action and {"type": action}}


TOKENS = {"input_tokens": 10, "output_tokens": 2}


@pytest.mark.parametrize(
    ("result", "web_searches", "storage_searches"),
    [
        pytest.param({"usage": TOKENS, "output": [_web("search"), _web("search")]}, 2, None, id="searches"),
        pytest.param(
            {"usage": TOKENS, "output": [_web("search"), _web("open_page"), _web("find_in_page"), _web(None)]},
            2,
            None,
            id="pages-opened-are-not-billed-an-unsaid-action-is",
        ),
        pytest.param({"usage": TOKENS, "output": [_web("open_page")]}, 0, None, id="calls-none-billed"),
        pytest.param(
            {"usage": TOKENS, "output": [{"type": "file_search_call", "id": "fs", "queries": ["q"]}, _web("search")]},
            1,
            1,
            id="file-search",
        ),
        pytest.param(
            {
                "usage": TOKENS,
                "output": [_web("search"), _web("search")],
                "tool_usage": {"web_search": {"num_requests": 1}},
            },
            1,
            None,
            id="billed-count-reported",
        ),
        pytest.param(
            ApiResponse.model_validate(
                {
                    "id": "resp_1",
                    "object": "response",
                    "created_at": 0,
                    "model": "gpt-5",
                    "status": "completed",
                    "parallel_tool_calls": True,
                    "tool_choice": "auto",
                    "tools": [],
                    "output": [
                        {"type": "web_search_call", "id": "ws", "status": "completed", "action": {"type": "search"}}
                    ],
                    "usage": {
                        "input_tokens": 10,
                        "output_tokens": 2,
                        "total_tokens": 12,
                        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                        "output_tokens_details": {"reasoning_tokens": 0},
                    },
                    "tool_usage": {
                        "image_gen": {
                            "input_tokens": 0,
                            "output_tokens": 0,
                            "total_tokens": 0,
                            "input_tokens_details": {"image_tokens": 0, "text_tokens": 0},
                        },
                        "web_search": {"num_requests": 0},
                    },
                }
            ),
            0,
            None,
            id="sdk-response-billed-zero",
        ),
    ],
)
def test_responses_tool_calls(result: Any, web_searches: int | None, storage_searches: int | None) -> None:
    usage = read_responses_response(result).usage
    assert usage is not None
    assert (usage.web_searches, usage.storage_searches) == (web_searches, storage_searches)


def test_response_event_accumulator_keeps_the_final_response() -> None:
    accumulator = ResponseEventAccumulator()
    final = ApiResponse.model_construct(id="resp_1", model="o4-mini", status="completed", usage=RESPONSE_USAGE)
    events = [
        {"type": "response.created", "response": {"id": "resp_1", "status": "in_progress"}},
        SimpleNamespace(type="response.output_text.delta", delta="hi"),
        SimpleNamespace(type="response.completed", response=final),
    ]
    assert all(accumulator.add(event) for event in events)
    assert accumulator.result().usage == read_responses_response(final).usage
    assert ResponseEventAccumulator().result().usage is None


@pytest.mark.parametrize(
    ("final_output", "web_searches"),
    [
        pytest.param([], 2, id="final-output-empty-streamed-items-count"),
        pytest.param([_web("search")], 1, id="final-output-wins"),
    ],
)
def test_response_event_accumulator_counts_tool_calls(final_output: list[Any], web_searches: int) -> None:
    accumulator = ResponseEventAccumulator()
    events = [
        {"type": "response.output_item.added", "item": _web("search")},
        {"type": "response.output_item.done", "item": _web("search")},
        SimpleNamespace(type="response.output_item.done", item=SimpleNamespace(**_web("search"))),
        {"type": "response.output_item.done", "item": {"type": "message"}},
        {"type": "response.completed", "response": {"status": "completed", "output": final_output, "usage": TOKENS}},
    ]
    assert all(accumulator.add(event) for event in events)
    usage = accumulator.result().usage
    assert usage is not None
    assert usage.web_searches == web_searches


def _chunk(*, choices: list[Any], usage: Any = None) -> ChatCompletionChunk:
    return ChatCompletionChunk.model_construct(id="chatcmpl-1", model="gpt-4o-mini", choices=choices, usage=usage)


def _delta(text: str | None, reason: str | None = None, index: int = 0) -> ChunkChoice:
    return ChunkChoice.model_construct(
        index=index, delta=ChoiceDelta.model_construct(content=text), finish_reason=reason
    )


STREAM = [
    _chunk(choices=[_delta("Hel")]),
    _chunk(choices=[_delta("lo", index=0), _delta("Bye", "length", index=1)]),
    _chunk(choices=[_delta(None, "stop")]),
    _chunk(choices=[], usage=SDK_USAGE),
]


@pytest.mark.parametrize(
    ("hide", "shown"),
    [
        pytest.param(False, [True, True, True, True], id="app-asked-for-usage"),
        pytest.param(True, [True, True, True, False], id="we-asked-hide-usage-chunk"),
    ],
)
def test_chunk_accumulator(hide: bool, shown: list[bool]) -> None:
    accumulator = ChunkAccumulator(hide_usage_chunk=hide, capture_content=True)
    assert [accumulator.add(chunk) for chunk in STREAM] == shown
    response = accumulator.result()
    assert response.usage == FULL
    assert response.attributes[GenAI.RESPONSE_FINISH_REASONS] == ["stop", "length"]
    assert response.attributes[GenAI.RESPONSE_ID] == "chatcmpl-1"
    assert '"content":"Hello"' in response.attributes[GenAI.OUTPUT_MESSAGES]
    assert '"content":"Bye"' in response.attributes[GenAI.OUTPUT_MESSAGES]


def test_chunk_accumulator_keeps_a_usage_chunk_that_also_has_choices() -> None:
    accumulator = ChunkAccumulator(hide_usage_chunk=True)
    assert accumulator.add(_chunk(choices=[_delta("x", "stop")], usage={"prompt_tokens": 2}))
    assert accumulator.result().usage == Usage(input_tokens=2)
    assert GenAI.OUTPUT_MESSAGES not in accumulator.result().attributes


@pytest.mark.parametrize(
    ("result", "usage"),
    [
        pytest.param(
            CreateEmbeddingResponse.model_construct(model="e", usage=SimpleNamespace(prompt_tokens=8)),
            Usage(input_tokens=8),
            id="sdk",
        ),
        pytest.param(
            {"model": "e", "usage": {"prompt_tokens": 0, "total_tokens": 0}}, Usage(input_tokens=0), id="zero"
        ),
        pytest.param({"model": "e"}, None, id="no-usage"),
    ],
)
def test_read_embeddings_response(result: Any, usage: Usage | None) -> None:
    response = read_embeddings_response(result)
    assert response.usage == usage
    assert response.attributes[GenAI.RESPONSE_MODEL] == "e"


@pytest.mark.parametrize(
    ("host", "port", "provider"),
    [
        pytest.param("api.openai.com", 443, "openai", id="openai"),
        pytest.param("my-resource.openai.azure.com", 443, "azure.ai.openai", id="azure"),
        pytest.param("my-resource.cognitiveservices.azure.com", 443, "azure.ai.openai", id="azure-cognitive"),
        pytest.param("my-project.services.ai.azure.com", 443, "azure.ai.openai", id="azure-foundry"),
        pytest.param("api.groq.com", 443, "groq", id="groq"),
        pytest.param("api.deepseek.com", 443, "deepseek", id="deepseek"),
        pytest.param("api.x.ai", 443, "x_ai", id="xai"),
        pytest.param("api.mistral.ai", 443, "mistral_ai", id="mistral"),
        pytest.param("openrouter.ai", 443, "openrouter", id="openrouter"),
        pytest.param("API.Together.xyz", 443, "together", id="together-case-insensitive"),
        pytest.param("api.fireworks.ai", 443, "fireworks", id="fireworks"),
        pytest.param("api.perplexity.ai", 443, "perplexity", id="perplexity"),
        pytest.param("generativelanguage.googleapis.com", 443, "gcp.gemini", id="gemini-openai-compat"),
        pytest.param("localhost", 11434, "ollama", id="ollama-port"),
        pytest.param("vllm.internal", 8000, "openai", id="unknown-host-speaks-openai"),
        pytest.param("evil-openrouter.ai.example.com", 443, "openai", id="suffix-must-match-at-the-end"),
        pytest.param("notapi.groq.com.example", 443, "openai", id="no-substring-match"),
    ],
)
def test_provider_for_host(host: str, port: int, provider: str) -> None:
    assert provider_for_host(host, port) == provider


def test_endpoint_attributes_never_keep_credentials_or_query() -> None:
    client = SimpleNamespace(base_url="https://user:sk-secret@api.groq.com:8443/openai/v1?key=sk-secret")
    attributes = endpoint_attributes(SimpleNamespace(_client=client))
    assert attributes == {GenAI.SERVER_ADDRESS: "api.groq.com", GenAI.SERVER_PORT: 8443, GenAI.PROVIDER_NAME: "groq"}


def _telemetry(**settings: Any) -> Any:
    return SimpleNamespace(settings=Settings(**settings))


_RESOURCE = SimpleNamespace(_client=SimpleNamespace(base_url="https://api.openai.com/v1/"))


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param(
            {"temperature": 0, "top_p": 1, "seed": 0},
            {GenAI.REQUEST_TEMPERATURE: 0, GenAI.REQUEST_TOP_P: 1, GenAI.REQUEST_SEED: 0},
            id="zeros-are-values",
        ),
        pytest.param({"max_tokens": 10}, {GenAI.REQUEST_MAX_TOKENS: 10}, id="max-tokens"),
        pytest.param(
            {"max_completion_tokens": 20, "max_tokens": 10},
            {GenAI.REQUEST_MAX_TOKENS: 20},
            id="max-completion-tokens-wins",
        ),
        pytest.param({"stop": "END"}, {GenAI.REQUEST_STOP_SEQUENCES: ["END"]}, id="stop-string"),
        pytest.param({"n": 1}, {}, id="n-1-is-the-default"),
        pytest.param({"n": 3}, {GenAI.REQUEST_CHOICE_COUNT: 3}, id="n"),
        pytest.param({"service_tier": "auto"}, {}, id="auto-tier-omitted"),
        pytest.param({"response_format": {"type": "json_schema"}}, {GenAI.OUTPUT_TYPE: "json"}, id="json-schema"),
        pytest.param({"response_format": {"type": "text"}}, {GenAI.OUTPUT_TYPE: "text"}, id="text"),
        pytest.param({"temperature": "hot", "top_p": True}, {}, id="junk-ignored"),
    ],
)
def test_read_chat_request_parameters(kwargs: dict[str, Any], expected: dict[str, Any]) -> None:
    request = read_chat_request(_RESOURCE, _telemetry(), (), {"model": "gpt-4o-mini", "messages": [], **kwargs})
    base = {
        GenAI.OPERATION_NAME: "chat",
        GenAI.PROVIDER_NAME: "openai",
        GenAI.REQUEST_MODEL: "gpt-4o-mini",
        GenAI.SERVER_ADDRESS: "api.openai.com",
        GenAI.SERVER_PORT: 443,
    }
    assert request.attributes == {**base, **expected}


@pytest.mark.parametrize(
    ("enabled", "kwargs", "sent", "hide"),
    [
        pytest.param(False, {"stream": True}, None, False, id="off"),
        pytest.param(True, {"stream": True}, {"include_usage": True}, True, id="injected"),
        pytest.param(
            True,
            {"stream": True, "stream_options": {"include_obfuscation": False}},
            {"include_obfuscation": False, "include_usage": True},
            True,
            id="merged",
        ),
        pytest.param(
            True,
            {"stream": True, "stream_options": {"include_usage": False}},
            {"include_usage": False},
            False,
            id="app-declined",
        ),
        pytest.param(True, {}, None, False, id="not-streaming"),
    ],
)
def test_stream_usage_injection(enabled: bool, kwargs: dict[str, Any], sent: Any, hide: bool) -> None:
    original = dict(kwargs)
    request = read_chat_request(_RESOURCE, _telemetry(openai_stream_usage=enabled), (), kwargs)
    assert request.kwargs.get("stream_options") == sent
    assert request.options is hide
    assert kwargs == original  # the app's dicts are never mutated


def test_embeddings_request() -> None:
    request = read_embeddings_request(
        _RESOURCE, _telemetry(), (), {"model": "e", "input": "x", "encoding_format": "base64", "dimensions": 256}
    )
    assert request.attributes[GenAI.REQUEST_ENCODING_FORMATS] == ["base64"]
    assert request.attributes[GenAI.EMBEDDINGS_DIMENSION_COUNT] == 256
