"""Responses API, embeddings, legacy completions, and the raw/streaming response variants."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

import openai
import pydantic
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from tests.integration.openai.helpers import (
    API_KEY,
    assert_usage_and_cost,
    call,
    drive_stream_helper,
    expected_cost,
    only_span,
    scenario,
    scenario_cost,
)

from genai_cost.demo.fake_openai import SCENARIOS, FakeOpenAIServer
from genai_cost.instrumentation._core import finish_abandoned
from genai_cost.instrumentation.openai import OpenAIInstrumentor
from genai_cost.pricing import PricingTable
from genai_cost.semconv import GenAI, Ours, PricingStatus

MODEL = "o4-mini"


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_responses_create(
    instrumented: OpenAIInstrumentor,
    span_exporter: InMemorySpanExporter,
    fake_openai: FakeOpenAIServer,
    pricing: PricingTable,
    is_async: bool,
    stream: bool,
) -> None:
    result = call(
        fake_openai.base_url,
        lambda sdk: sdk.responses.create(
            model=MODEL,
            input="Say hello",
            stream=stream,
            max_output_tokens=256,
            temperature=0.5,
            extra_headers=scenario("cached_reasoning"),
        ),
        is_async=is_async,
        consume=stream,
    )
    response = result[-1].response if stream else result
    if stream:
        assert result[0].type == "response.created"
    span = only_span(span_exporter)
    attrs = dict(span.attributes or {})
    assert span.name == f"chat {MODEL}"
    assert span.kind is SpanKind.CLIENT
    assert attrs[GenAI.OPERATION_NAME] == "chat"
    assert attrs[GenAI.PROVIDER_NAME] == "openai"
    assert attrs[GenAI.REQUEST_MAX_TOKENS] == 256
    assert attrs[GenAI.REQUEST_TEMPERATURE] == 0.5
    assert attrs[GenAI.RESPONSE_ID] == response.id
    assert attrs[GenAI.RESPONSE_MODEL] == MODEL
    assert attrs[GenAI.RESPONSE_FINISH_REASONS] == ("completed",)
    assert (GenAI.RESPONSE_TIME_TO_FIRST_CHUNK in attrs) is stream
    assert_usage_and_cost(attrs, pricing.match(MODEL, provider="openai"), SCENARIOS["cached_reasoning"])


class Greeting(pydantic.BaseModel):
    text: str


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_responses_parse(
    instrumented: OpenAIInstrumentor,
    span_exporter: InMemorySpanExporter,
    fake_openai: FakeOpenAIServer,
    pricing: PricingTable,
    is_async: bool,
) -> None:
    parsed = call(
        fake_openai.base_url,
        lambda sdk: sdk.responses.parse(
            model=MODEL, input="Say hello", text_format=Greeting, extra_headers=scenario("json_cached")
        ),
        is_async=is_async,
    )
    assert isinstance(parsed.output_parsed, Greeting)
    attrs = dict(only_span(span_exporter).attributes or {})
    assert attrs[GenAI.RESPONSE_ID] == parsed.id
    assert_usage_and_cost(attrs, pricing.match(MODEL, provider="openai"), SCENARIOS["json_cached"])


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_responses_stream_helper(
    instrumented: OpenAIInstrumentor,
    span_exporter: InMemorySpanExporter,
    fake_openai: FakeOpenAIServer,
    pricing: PricingTable,
    is_async: bool,
) -> None:
    options: dict[str, Any] = {
        "model": MODEL,
        "input": "Say hello",
        "extra_headers": scenario("cached_reasoning"),
    }
    kinds, final = drive_stream_helper(
        fake_openai.base_url,
        lambda sdk: sdk.responses.stream(**options),
        "get_final_response",
        is_async=is_async,
    )
    assert kinds[-1] == "response.completed"
    attrs = dict(only_span(span_exporter).attributes or {})
    assert attrs[GenAI.RESPONSE_ID] == final.id
    assert_usage_and_cost(attrs, pricing.match(MODEL, provider="openai"), SCENARIOS["cached_reasoning"])


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_embeddings(
    instrumented: OpenAIInstrumentor,
    span_exporter: InMemorySpanExporter,
    fake_openai: FakeOpenAIServer,
    pricing: PricingTable,
    is_async: bool,
) -> None:
    model = "text-embedding-3-small"
    result = call(
        fake_openai.base_url,
        lambda sdk: sdk.embeddings.create(model=model, input=["a", "b"], encoding_format="float", dimensions=4),
        is_async=is_async,
    )
    assert len(result.data) == 2
    span = only_span(span_exporter)
    attrs = dict(span.attributes or {})
    wire = SCENARIOS["default"]
    assert span.name == f"embeddings {model}"
    assert attrs[GenAI.OPERATION_NAME] == "embeddings"
    assert attrs[GenAI.REQUEST_ENCODING_FORMATS] == ("float",)
    assert attrs[GenAI.EMBEDDINGS_DIMENSION_COUNT] == 4
    assert attrs[GenAI.RESPONSE_MODEL] == model
    assert attrs[GenAI.USAGE_INPUT_TOKENS] == wire.prompt_tokens
    assert GenAI.USAGE_OUTPUT_TOKENS not in attrs
    assert attrs[GenAI.USAGE_COST_AMOUNT] == expected_cost(
        pricing.match(model, provider="openai"), input=wire.prompt_tokens
    )


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_legacy_completions(
    instrumented: OpenAIInstrumentor,
    span_exporter: InMemorySpanExporter,
    fake_openai: FakeOpenAIServer,
    pricing: PricingTable,
    is_async: bool,
    stream: bool,
) -> None:
    model = "gpt-3.5-turbo-instruct"
    options: dict[str, Any] = {"model": model, "prompt": "Say hello", "max_tokens": 20}
    if stream:
        options.update(stream=True, stream_options={"include_usage": True})
    result = call(
        fake_openai.base_url,
        lambda sdk: sdk.completions.create(**options),
        is_async=is_async,
        consume=stream,
    )
    first = result[0] if stream else result
    span = only_span(span_exporter)
    attrs = dict(span.attributes or {})
    wire = SCENARIOS["default"]
    assert span.name == f"text_completion {model}"
    assert attrs[GenAI.OPERATION_NAME] == "text_completion"
    assert attrs[GenAI.REQUEST_MAX_TOKENS] == 20
    assert attrs[GenAI.RESPONSE_ID] == first.id
    assert attrs[GenAI.RESPONSE_FINISH_REASONS] == ("stop",)
    assert attrs[GenAI.USAGE_INPUT_TOKENS] == wire.prompt_tokens
    assert attrs[GenAI.USAGE_OUTPUT_TOKENS] == wire.completion_tokens
    assert attrs[GenAI.USAGE_COST_AMOUNT] == scenario_cost(pricing.match(model, provider="openai"), wire)


def _raw_chat(sdk: Any, *, stream: bool) -> Any:
    return sdk.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "hi"}],
        stream=stream,
        stream_options={"include_usage": True} if stream else openai.omit,
        extra_headers=scenario("cached"),
    )


def _shape(raw: Any, parsed: Any, items: list[Any]) -> tuple[Any, ...]:
    """What the app can observe of a raw-response call, ids aside.

    ``__class__`` (what ``isinstance`` checks) is the SDK's class; ``type()`` of a proxy is not.
    """
    first = items[0] if items else parsed
    return raw.__class__, parsed.__class__, len(items), type(first), first.model


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_with_raw_response_keeps_types(
    instrument: Callable[..., OpenAIInstrumentor],
    span_exporter: InMemorySpanExporter,
    fake_openai: FakeOpenAIServer,
    stream: bool,
) -> None:
    def run() -> tuple[tuple[Any, ...], str]:
        # A new client per run: SDK resources cache their with_raw_response wrappers.
        with openai.OpenAI(base_url=fake_openai.base_url, api_key=API_KEY) as client:
            raw = _raw_chat(client, stream=stream)
            assert raw.headers["x-request-id"].startswith("req_")
            parsed = raw.parse()
            items = list(parsed) if stream else []
            if not stream:
                assert raw.parse() is parsed  # cached by the SDK: still one span
            return _shape(raw, parsed, items), (items[0] if stream else parsed).id

    plain, _ = run()
    instrument()
    shape, response_id = run()
    assert shape[0].__name__.endswith("APIResponse")
    assert shape == plain
    attrs = dict(only_span(span_exporter).attributes or {})
    assert attrs[GenAI.RESPONSE_ID] == response_id
    assert attrs[GenAI.USAGE_CACHE_READ_INPUT_TOKENS] == SCENARIOS["cached"].cached_tokens
    assert attrs[Ours.PRICING_STATUS] == PricingStatus.PRICED


def test_raw_response_span_ends_at_parse(
    instrumented: OpenAIInstrumentor, span_exporter: InMemorySpanExporter, client: openai.OpenAI
) -> None:
    raw = _raw_chat(client, stream=False)
    assert span_exporter.get_finished_spans() == ()
    raw.parse()
    assert len(span_exporter.get_finished_spans()) == 1


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_async_with_raw_response_keeps_types(
    instrument: Callable[..., OpenAIInstrumentor],
    span_exporter: InMemorySpanExporter,
    fake_openai: FakeOpenAIServer,
    stream: bool,
) -> None:
    async def main() -> tuple[tuple[Any, ...], str]:
        async with openai.AsyncOpenAI(base_url=fake_openai.base_url, api_key=API_KEY) as sdk:
            raw = await _raw_chat(sdk, stream=stream)
            parsed = raw.parse()  # with_raw_response gives a LegacyAPIResponse: parse() is sync
            if inspect.isawaitable(parsed):
                parsed = await parsed
            items = [chunk async for chunk in parsed] if stream else []
            return _shape(raw, parsed, items), (items[0] if stream else parsed).id

    plain, _ = asyncio.run(main())
    instrument()
    shape, response_id = asyncio.run(main())
    assert shape == plain
    attrs = dict(only_span(span_exporter).attributes or {})
    assert attrs[GenAI.RESPONSE_ID] == response_id
    assert attrs[Ours.PRICING_STATUS] == PricingStatus.PRICED


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_with_streaming_response_keeps_types(
    instrument: Callable[..., OpenAIInstrumentor],
    span_exporter: InMemorySpanExporter,
    fake_openai: FakeOpenAIServer,
    stream: bool,
) -> None:
    def run() -> tuple[tuple[Any, ...], str]:
        # A new client per run: SDK resources cache their with_raw_response wrappers.
        client = openai.OpenAI(base_url=fake_openai.base_url, api_key=API_KEY)
        with (
            client,
            client.chat.completions.with_streaming_response.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "hi"}],
                stream=stream,
                stream_options={"include_usage": True} if stream else openai.omit,
                extra_headers=scenario("cached"),
            ) as response,
        ):
            parsed = response.parse()
            items = list(parsed) if stream else []
            return _shape(response, parsed, items), (items[0] if stream else parsed).id

    plain, _ = run()
    instrument()
    shape, response_id = run()
    assert shape == plain
    attrs = dict(only_span(span_exporter).attributes or {})
    assert attrs[GenAI.RESPONSE_ID] == response_id
    assert attrs[GenAI.USAGE_CACHE_READ_INPUT_TOKENS] == SCENARIOS["cached"].cached_tokens


def test_async_with_streaming_response_keeps_types(
    instrument: Callable[..., OpenAIInstrumentor],
    span_exporter: InMemorySpanExporter,
    fake_openai: FakeOpenAIServer,
) -> None:
    async def main() -> tuple[Any, ...]:
        async with openai.AsyncOpenAI(base_url=fake_openai.base_url, api_key=API_KEY) as sdk:  # noqa: SIM117
            async with sdk.embeddings.with_streaming_response.create(
                model="text-embedding-3-small", input="hi"
            ) as response:
                parsed = await response.parse()
                return response.__class__, parsed.__class__, parsed.model, len(parsed.data)

    plain = asyncio.run(main())
    instrument()
    assert asyncio.run(main()) == plain
    attrs = dict(only_span(span_exporter).attributes or {})
    assert attrs[GenAI.USAGE_INPUT_TOKENS] == SCENARIOS["default"].prompt_tokens


def test_raw_response_never_parsed_still_ends_span(
    instrumented: OpenAIInstrumentor,
    span_exporter: InMemorySpanExporter,
    client: openai.OpenAI,
) -> None:
    raw = _raw_chat(client, stream=False)
    assert raw.status_code == 200
    del raw
    finish_abandoned()  # what the next call, a flush or the exit does
    span = only_span(span_exporter)
    assert GenAI.USAGE_INPUT_TOKENS not in (span.attributes or {})
