"""chat.completions.create / parse / stream(): sync and async x stream and not x usage variants."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import openai
import pydantic
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
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
from genai_cost.instrumentation.openai import OpenAIInstrumentor
from genai_cost.pricing import PricingTable
from genai_cost.semconv import CostSource, GenAI, Ours, PricingStatus

MESSAGES = [{"role": "user", "content": "Say hello"}]
MODEL = "gpt-4o-mini"


def run_chat(server: FakeOpenAIServer, *, is_async: bool, stream: bool, headers: dict[str, str],
             include_usage: bool = True, **kwargs: Any) -> tuple[str, list[Any]]:  # fmt: skip
    """(response id, list of chunks or [completion]) from a real client call."""
    options: dict[str, Any] = {"model": MODEL, "messages": MESSAGES, "extra_headers": headers}
    if stream:
        options["stream"] = True
        if include_usage:
            options["stream_options"] = {"include_usage": True}
    options.update(kwargs)
    result = call(
        server.base_url,
        lambda sdk: sdk.chat.completions.create(**options),
        is_async=is_async,
        consume=stream,
    )
    items = result if stream else [result]
    return items[0].id, items


USAGE_SCENARIOS = ["default", "cached", "reasoning", "cached_reasoning", "length"]


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("name", USAGE_SCENARIOS)
def test_chat_span_has_usage_and_exact_cost(
    instrumented: OpenAIInstrumentor,
    span_exporter: InMemorySpanExporter,
    fake_openai: FakeOpenAIServer,
    pricing: PricingTable,
    name: str,
    is_async: bool,
    stream: bool,
) -> None:
    headers = scenario(name)
    response_id, items = run_chat(fake_openai, is_async=is_async, stream=stream, headers=headers)
    wire = SCENARIOS[name]
    span = only_span(span_exporter)
    attrs = dict(span.attributes or {})

    assert span.name == f"chat {MODEL}"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    assert attrs[GenAI.OPERATION_NAME] == "chat"
    assert attrs[GenAI.PROVIDER_NAME] == "openai"
    assert attrs[GenAI.REQUEST_MODEL] == MODEL
    assert attrs[GenAI.SERVER_ADDRESS] == "127.0.0.1"
    assert attrs[GenAI.SERVER_PORT] == fake_openai.port
    assert attrs[GenAI.RESPONSE_ID] == response_id
    assert attrs[GenAI.RESPONSE_MODEL] == MODEL
    assert attrs[GenAI.RESPONSE_FINISH_REASONS] == (wire.finish_reason,)
    assert_usage_and_cost(attrs, pricing.match(MODEL, provider="openai"), wire)
    assert attrs[GenAI.USAGE_COST_CURRENCY] == "USD"
    assert attrs[GenAI.USAGE_COST_SOURCE] == CostSource.LOCAL
    assert attrs[Ours.PRICING_STATUS] == PricingStatus.PRICED
    assert attrs[Ours.PRICING_ENTRY] == "test:gpt-4o-mini"
    if stream:
        duration = (span.end_time or 0) - (span.start_time or 0)
        assert 0 < attrs[GenAI.RESPONSE_TIME_TO_FIRST_CHUNK] <= duration / 1e9
        assert items[-1].usage is not None  # the app asked for the usage chunk: it sees it
    else:
        assert GenAI.RESPONSE_TIME_TO_FIRST_CHUNK not in attrs


def test_cost_breakdown_by_token_type(
    instrumented: OpenAIInstrumentor,
    span_exporter: InMemorySpanExporter,
    fake_openai: FakeOpenAIServer,
    pricing: PricingTable,
) -> None:
    run_chat(fake_openai, is_async=False, stream=False, headers=scenario("cached_reasoning"))
    attrs = dict(only_span(span_exporter).attributes or {})
    wire = SCENARIOS["cached_reasoning"]
    entry = pricing.match(MODEL, provider="openai")
    assert attrs[Ours.COST_PREFIX + "cache_read"] == expected_cost(
        entry, input=wire.cached_tokens, cached=wire.cached_tokens
    )
    assert attrs[Ours.COST_PREFIX + "input"] == expected_cost(entry, input=wire.prompt_tokens - wire.cached_tokens)
    output_cost = expected_cost(entry, input=0, output=wire.completion_tokens)
    assert attrs[Ours.COST_PREFIX + "output"] == output_cost


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_no_usage_is_reported_not_invented(
    instrumented: OpenAIInstrumentor,
    span_exporter: InMemorySpanExporter,
    fake_openai: FakeOpenAIServer,
    is_async: bool,
    stream: bool,
) -> None:
    run_chat(fake_openai, is_async=is_async, stream=stream, headers=scenario("no_usage"))
    attrs = dict(only_span(span_exporter).attributes or {})
    assert attrs[Ours.PRICING_STATUS] == PricingStatus.NO_USAGE
    assert not [name for name in attrs if name.startswith(("gen_ai.usage.", Ours.COST_PREFIX))]
    assert attrs[GenAI.RESPONSE_FINISH_REASONS] == ("stop",)


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_stream_without_include_usage_says_no_usage(
    instrumented: OpenAIInstrumentor,
    span_exporter: InMemorySpanExporter,
    fake_openai: FakeOpenAIServer,
    is_async: bool,
    stream: bool,
) -> None:
    # The default: nobody asked for the usage chunk, so there is no usage to report.
    headers = scenario("default")
    run_chat(fake_openai, is_async=is_async, stream=stream, headers=headers, include_usage=False)
    attrs = dict(only_span(span_exporter).attributes or {})
    if stream:
        assert attrs[Ours.PRICING_STATUS] == PricingStatus.NO_USAGE
        assert GenAI.USAGE_INPUT_TOKENS not in attrs
    else:
        assert attrs[Ours.PRICING_STATUS] == PricingStatus.PRICED


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_provider_reported_cost_wins(
    instrumented: OpenAIInstrumentor,
    span_exporter: InMemorySpanExporter,
    fake_openai: FakeOpenAIServer,
    stream: bool,
) -> None:
    run_chat(fake_openai, is_async=False, stream=stream, headers=scenario("provider_cost"))
    attrs = dict(only_span(span_exporter).attributes or {})
    assert attrs[GenAI.USAGE_COST_AMOUNT] == SCENARIOS["provider_cost"].provider_cost
    assert attrs[GenAI.USAGE_COST_SOURCE] == CostSource.PROVIDER
    assert attrs[Ours.PRICING_STATUS] == PricingStatus.PROVIDER
    assert attrs[GenAI.USAGE_INPUT_TOKENS] == SCENARIOS["provider_cost"].prompt_tokens


def test_unknown_model_has_status_and_no_cost(
    instrumented: OpenAIInstrumentor,
    span_exporter: InMemorySpanExporter,
    fake_openai: FakeOpenAIServer,
    client: openai.OpenAI,
) -> None:
    client.chat.completions.create(model="gpt-unreleased-9", messages=MESSAGES)  # type: ignore[call-overload]
    attrs = dict(only_span(span_exporter).attributes or {})
    assert attrs[Ours.PRICING_STATUS] == PricingStatus.UNKNOWN_MODEL
    assert GenAI.USAGE_COST_AMOUNT not in attrs
    assert attrs[GenAI.USAGE_INPUT_TOKENS] == SCENARIOS["default"].prompt_tokens


def test_request_parameters_become_attributes(
    instrumented: OpenAIInstrumentor, span_exporter: InMemorySpanExporter, client: openai.OpenAI
) -> None:
    client.chat.completions.create(
        model=MODEL,
        messages=MESSAGES,  # type: ignore[arg-type]
        temperature=0.2,
        top_p=0.9,
        max_completion_tokens=64,
        frequency_penalty=0.5,
        presence_penalty=0.25,
        seed=7,
        stop=["\n\n", "END"],
        n=2,
        service_tier="flex",
        response_format={"type": "json_object"},
    )
    attrs = dict(only_span(span_exporter).attributes or {})
    assert attrs[GenAI.REQUEST_TEMPERATURE] == 0.2
    assert attrs[GenAI.REQUEST_TOP_P] == 0.9
    assert attrs[GenAI.REQUEST_MAX_TOKENS] == 64
    assert attrs[GenAI.REQUEST_FREQUENCY_PENALTY] == 0.5
    assert attrs[GenAI.REQUEST_PRESENCE_PENALTY] == 0.25
    assert attrs[GenAI.REQUEST_SEED] == 7
    assert attrs[GenAI.REQUEST_STOP_SEQUENCES] == ("\n\n", "END")
    assert attrs[GenAI.REQUEST_CHOICE_COUNT] == 2
    assert attrs[GenAI.REQUEST_SERVICE_TIER] == "flex"
    assert attrs[GenAI.RESPONSE_SERVICE_TIER] == "default"
    assert attrs[GenAI.OUTPUT_TYPE] == "json"


class Greeting(pydantic.BaseModel):
    text: str


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_parse_with_pydantic_response_format(
    instrumented: OpenAIInstrumentor,
    span_exporter: InMemorySpanExporter,
    fake_openai: FakeOpenAIServer,
    pricing: PricingTable,
    is_async: bool,
) -> None:
    # The fake answers with plain text, which .parse() rejects; a JSON body is needed: use the
    # server's "json" scenario.
    headers = scenario("json_cached")
    if is_async:

        async def main() -> Any:
            async with openai.AsyncOpenAI(base_url=fake_openai.base_url, api_key=API_KEY) as sdk:
                return await sdk.chat.completions.parse(
                    model=MODEL,
                    messages=MESSAGES,
                    response_format=Greeting,
                    extra_headers=headers,  # type: ignore[arg-type]
                )

        completion = asyncio.run(main())
    else:
        with openai.OpenAI(base_url=fake_openai.base_url, api_key=API_KEY) as sdk:
            completion = sdk.chat.completions.parse(
                model=MODEL,
                messages=MESSAGES,
                response_format=Greeting,
                extra_headers=headers,  # type: ignore[arg-type]
            )
    assert isinstance(completion.choices[0].message.parsed, Greeting)
    attrs = dict(only_span(span_exporter).attributes or {})
    wire = SCENARIOS["json_cached"]
    assert attrs[GenAI.OUTPUT_TYPE] == "json"
    assert attrs[GenAI.RESPONSE_ID] == completion.id
    assert attrs[GenAI.USAGE_CACHE_READ_INPUT_TOKENS] == wire.cached_tokens
    assert attrs[GenAI.USAGE_COST_AMOUNT] == scenario_cost(pricing.match(MODEL, provider="openai"), wire)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_stream_helper(
    instrumented: OpenAIInstrumentor,
    span_exporter: InMemorySpanExporter,
    fake_openai: FakeOpenAIServer,
    pricing: PricingTable,
    is_async: bool,
) -> None:
    options: dict[str, Any] = {
        "model": MODEL,
        "messages": MESSAGES,
        "stream_options": {"include_usage": True},
        "extra_headers": scenario("cached_reasoning"),
    }
    kinds, final = drive_stream_helper(
        fake_openai.base_url,
        lambda sdk: sdk.chat.completions.stream(**options),
        "get_final_completion",
        is_async=is_async,
    )
    assert "content.done" in kinds
    span = only_span(span_exporter)
    attrs = dict(span.attributes or {})
    wire = SCENARIOS["cached_reasoning"]
    assert attrs[GenAI.RESPONSE_ID] == final.id
    assert attrs[GenAI.USAGE_REASONING_OUTPUT_TOKENS] == wire.reasoning_tokens
    assert attrs[GenAI.USAGE_COST_AMOUNT] == scenario_cost(pricing.match(MODEL, provider="openai"), wire)
    assert GenAI.RESPONSE_TIME_TO_FIRST_CHUNK in attrs


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_bundled_table_prices_openai_models(
    instrument: Callable[..., OpenAIInstrumentor],
    span_exporter: InMemorySpanExporter,
    fake_openai: FakeOpenAIServer,
    stream: bool,
) -> None:
    instrument(pricing=None)  # the process-wide default: the bundled table
    run_chat(fake_openai, is_async=False, stream=stream, headers=scenario("cached_reasoning"))
    attrs = dict(only_span(span_exporter).attributes or {})
    wire = SCENARIOS["cached_reasoning"]
    entry = PricingTable.default().match(MODEL, provider="openai")
    assert entry is not None
    assert attrs[Ours.PRICING_ENTRY] == entry.id
    assert attrs[GenAI.USAGE_COST_AMOUNT] == scenario_cost(entry, wire)
