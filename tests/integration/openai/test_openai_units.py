"""What the bill counts besides text tokens (issue 15): Responses API web and file searches,
and chat usage by modality, on spans and in ``track_usage`` totals.

The real openai SDK talks to the fake server, which answers with shapes of recorded API
traffic (see the scenarios in ``genai_cost.demo.fake_openai``). Expected counts are read from
those fixtures; expected costs are genai-prices' own ``calc_price`` on the same usage.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import genai_prices
import openai
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.integration.openai.helpers import API_KEY, only_span, scenario

from genai_cost import track_usage
from genai_cost.demo.fake_openai import SCENARIOS, FakeOpenAIServer, Scenario
from genai_cost.instrumentation.openai import OpenAIInstrumentor
from genai_cost.pricing import PricingTable
from genai_cost.semconv import GenAI, Ours

WEB_SEARCHES = Ours.USAGE_PREFIX + "web_searches"
STORAGE_SEARCHES = Ours.USAGE_PREFIX + "storage_searches"


@pytest.fixture
def bundled(instrument: Callable[..., OpenAIInstrumentor]) -> OpenAIInstrumentor:
    """Instrumented with the bundled table, the one the genai-prices oracle is checked against."""
    return instrument(pricing=PricingTable.load())


def searches(wire: Scenario) -> dict[str, int]:
    """The searches a scenario's fixture bills: the ``tool_usage`` count when the API reports it,
    else the ``web_search_call`` items whose action searched and every ``file_search_call``."""
    counts: dict[str, int] = {}
    web = [item for item in wire.tool_calls if item["type"] == "web_search_call"]
    if web:
        counts[WEB_SEARCHES] = sum(1 for item in web if item["action"]["type"] == "search")
    if wire.tool_usage is not None:
        counts[WEB_SEARCHES] = wire.tool_usage["web_search"]["num_requests"]
    files = [item for item in wire.tool_calls if item["type"] == "file_search_call"]
    if files:
        counts[STORAGE_SEARCHES] = len(files)
    return counts


async def _settle(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def _drain(stream: Any) -> None:
    if hasattr(stream, "__aiter__"):
        async for _ in stream:
            pass
    else:
        for _ in stream:
            pass


async def _respond(sdk: Any, path: str, kwargs: dict[str, Any]) -> None:
    """One Responses API call by ``path``, read to the end as an app would."""
    if path == "stream-helper":
        manager = sdk.responses.stream(**kwargs)
        if hasattr(manager, "__aenter__"):
            async with manager as stream:
                await _drain(stream)
        else:
            with manager as stream:
                await _drain(stream)
        return
    stream = path.endswith("stream")
    resource = sdk.responses.with_raw_response if path.startswith("raw") else sdk.responses
    result = await _settle(resource.create(stream=stream, **kwargs))
    if path.startswith("raw"):
        result = result.parse()
    if stream:
        await _drain(result)


def respond(server: FakeOpenAIServer, name: str, *, path: str, is_async: bool, model: str = "gpt-5") -> None:
    kwargs = {"model": model, "input": "Search the web", "extra_headers": scenario(name)}

    async def main() -> None:
        if is_async:
            async with openai.AsyncOpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0) as sdk:
                await _respond(sdk, path, kwargs)
        else:
            with openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0) as sdk:
                await _respond(sdk, path, kwargs)

    asyncio.run(main())


PATHS = ["create", "create-stream", "stream-helper", "raw", "raw-stream"]
STREAM_PATHS = ["create-stream", "stream-helper", "raw-stream"]


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("name", ["web_search", "web_search_billed", "file_search"])
def test_responses_span_counts_the_billed_searches(
    bundled: OpenAIInstrumentor,
    span_exporter: InMemorySpanExporter,
    fake_openai: FakeOpenAIServer,
    name: str,
    path: str,
    is_async: bool,
) -> None:
    wire = SCENARIOS[name]
    respond(fake_openai, name, path=path, is_async=is_async)

    attributes = dict(only_span(span_exporter).attributes or {})
    counted = {key: attributes.get(key) for key in (WEB_SEARCHES, STORAGE_SEARCHES) if key in attributes}
    assert counted == searches(wire)
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == wire.prompt_tokens


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("path", STREAM_PATHS)
def test_stream_counts_the_streamed_items_when_the_final_event_lists_none(
    bundled: OpenAIInstrumentor,
    span_exporter: InMemorySpanExporter,
    fake_openai: FakeOpenAIServer,
    path: str,
    is_async: bool,
) -> None:
    name = "web_search_final_output_empty"
    respond(fake_openai, name, path=path, is_async=is_async)

    attributes = only_span(span_exporter).attributes or {}
    assert attributes[WEB_SEARCHES] == searches(SCENARIOS[name])[WEB_SEARCHES]


def test_track_usage_totals_the_searches(
    bundled: OpenAIInstrumentor, span_exporter: InMemorySpanExporter, fake_openai: FakeOpenAIServer
) -> None:
    with track_usage() as usage:
        respond(fake_openai, "web_search", path="create", is_async=False)
        respond(fake_openai, "web_search", path="create-stream", is_async=True)
        respond(fake_openai, "file_search", path="stream-helper", is_async=False, model="gpt-4o")

    web = searches(SCENARIOS["web_search"])[WEB_SEARCHES]
    files = searches(SCENARIOS["file_search"])[STORAGE_SEARCHES]
    assert (usage.usage.web_searches, usage.usage.storage_searches) == (2 * web, files)
    assert (
        usage.usage.input_tokens
        == usage.prompt_tokens
        == 2 * SCENARIOS["web_search"].prompt_tokens + (SCENARIOS["file_search"].prompt_tokens)
    )
    assert usage.by_model[("openai", "gpt-5")].usage.web_searches == 2 * web
    assert usage.by_model[("openai", "gpt-4o")].usage.storage_searches == files
    assert usage.to_dict()["usage"]["web_searches"] == 2 * web
    assert f"Web Searches: {2 * web}" in str(usage)
    assert f"Storage Searches: {files}" in str(usage)


AUDIO = SCENARIOS["audio_input"]
AUDIO_MODEL = "gpt-audio"  # the recording's gpt-4o-audio-preview has no audio rates in genai-prices


def chat(server: FakeOpenAIServer, *, stream: bool, is_async: bool) -> None:
    options: dict[str, Any] = {"model": AUDIO_MODEL, "messages": [{"role": "user", "content": "Whose name?"}]}
    if stream:
        options.update(stream=True, stream_options={"include_usage": True})

    async def main() -> None:
        client_type = openai.AsyncOpenAI if is_async else openai.OpenAI
        sdk = client_type(base_url=server.base_url, api_key=API_KEY, max_retries=0)
        result = await _settle(sdk.chat.completions.create(extra_headers=scenario("audio_input"), **options))
        if stream:
            await _drain(result)
        await _settle(sdk.close())

    asyncio.run(main())


def oracle(span: ReadableSpan, model: str, **usage: int) -> float:
    """genai-prices' price of ``usage`` at the span's start."""
    assert span.start_time is not None
    at = datetime.fromtimestamp(span.start_time / 1e9, timezone.utc)
    price = genai_prices.calc_price(
        genai_prices.Usage(**usage), model, provider_id="openai", genai_request_timestamp=at
    ).total_price
    return float(Decimal(price))


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_chat_usage_by_modality(
    bundled: OpenAIInstrumentor,
    span_exporter: InMemorySpanExporter,
    fake_openai: FakeOpenAIServer,
    stream: bool,
    is_async: bool,
) -> None:
    chat(fake_openai, stream=stream, is_async=is_async)

    span = only_span(span_exporter)
    attributes = dict(span.attributes or {})
    prompt = AUDIO.prompt_details or {}
    assert attributes[GenAI.USAGE_AUDIO_INPUT_TOKENS] == prompt["audio_tokens"]
    assert attributes[GenAI.USAGE_TEXT_INPUT_TOKENS] == prompt["text_tokens"]
    assert attributes[GenAI.USAGE_IMAGE_INPUT_TOKENS] == prompt["image_tokens"] == 0  # a reported zero
    assert attributes[GenAI.USAGE_AUDIO_OUTPUT_TOKENS] == 0
    assert attributes[GenAI.USAGE_COST_AMOUNT] == oracle(
        span,
        AUDIO_MODEL,
        input_tokens=AUDIO.prompt_tokens,
        input_audio_tokens=prompt["audio_tokens"],
        input_text_tokens=prompt["text_tokens"],
        input_image_tokens=prompt["image_tokens"],
        cache_read_tokens=AUDIO.cached_tokens,
        output_tokens=AUDIO.completion_tokens,
        output_audio_tokens=0,
    )
    assert Ours.COST_PREFIX + "input_audio" in attributes


@pytest.mark.parametrize(
    ("name", "model", "unit", "breakdown"),
    [
        pytest.param("web_search", "gpt-5", "web_searches", "web_search", id="web-search"),
        pytest.param("file_search", "gpt-4o", "storage_searches", "storage_search", id="file-search"),
    ],
)
def test_responses_searches_are_charged(
    bundled: OpenAIInstrumentor,
    span_exporter: InMemorySpanExporter,
    fake_openai: FakeOpenAIServer,
    name: str,
    model: str,
    unit: str,
    breakdown: str,
) -> None:
    wire = SCENARIOS[name]
    respond(fake_openai, name, path="create", is_async=False, model=model)

    span = only_span(span_exporter)
    attributes = span.attributes or {}
    assert attributes[GenAI.USAGE_COST_AMOUNT] == oracle(
        span,
        model,
        input_tokens=wire.prompt_tokens,
        cache_read_tokens=wire.cached_tokens,
        output_tokens=wire.completion_tokens,
        output_reasoning_tokens=wire.reasoning_tokens,
        **{unit: searches(wire)[Ours.USAGE_PREFIX + unit]},
    )
    assert attributes[Ours.COST_PREFIX + breakdown] > 0
