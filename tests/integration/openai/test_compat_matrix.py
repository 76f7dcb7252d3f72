"""A small cross-version subset: runs under every supported openai major (see test_openai_versions.py).

Only API surface present since openai 1.60 is used here (no ``openai.omit``, which is newer).
"""

from __future__ import annotations

import asyncio
from typing import Any

import openai
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from tests.integration.openai.helpers import (
    API_KEY,
    assert_usage_and_cost,
    call,
    only_span,
    scenario,
)

from genai_cost.demo.fake_openai import SCENARIOS, FakeOpenAIServer
from genai_cost.instrumentation.openai import OpenAIInstrumentor
from genai_cost.pricing import PricingTable
from genai_cost.semconv import GenAI, Ours, PricingStatus

WIRE = SCENARIOS["cached_reasoning"]


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_chat(
    instrumented: OpenAIInstrumentor,
    span_exporter: InMemorySpanExporter,
    fake_openai: FakeOpenAIServer,
    pricing: PricingTable,
    is_async: bool,
    stream: bool,
) -> None:
    options: dict[str, Any] = {"stream": True, "stream_options": {"include_usage": True}} if stream else {}
    result = call(
        fake_openai.base_url,
        lambda sdk: sdk.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "hi"}],
            extra_headers=scenario("cached_reasoning"),
            **options,
        ),
        is_async=is_async,
        consume=stream,
    )
    span = only_span(span_exporter)
    assert dict(span.attributes or {})[GenAI.RESPONSE_ID] == (result[0].id if stream else result.id)
    assert_usage_and_cost(span.attributes, pricing.match("gpt-4o-mini", provider="openai"), WIRE)


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_responses(
    instrumented: OpenAIInstrumentor,
    span_exporter: InMemorySpanExporter,
    fake_openai: FakeOpenAIServer,
    pricing: PricingTable,
    stream: bool,
) -> None:
    call(
        fake_openai.base_url,
        lambda sdk: sdk.responses.create(
            model="o4-mini", input="hi", stream=stream, extra_headers=scenario("cached_reasoning")
        ),
        is_async=False,
        consume=stream,
    )
    assert_usage_and_cost(only_span(span_exporter).attributes, pricing.match("o4-mini", provider="openai"), WIRE)


def test_embeddings_and_raw_response(
    instrumented: OpenAIInstrumentor, span_exporter: InMemorySpanExporter, client: openai.OpenAI
) -> None:
    raw = client.embeddings.with_raw_response.create(model="text-embedding-3-small", input="hi")
    assert isinstance(raw.parse(), openai.types.CreateEmbeddingResponse)
    attrs = dict(only_span(span_exporter).attributes or {})
    assert attrs[GenAI.USAGE_INPUT_TOKENS] == SCENARIOS["default"].prompt_tokens
    assert attrs[Ours.PRICING_STATUS] == PricingStatus.PRICED


def test_error_is_unchanged(
    instrumented: OpenAIInstrumentor, span_exporter: InMemorySpanExporter, client: openai.OpenAI
) -> None:
    with pytest.raises(openai.AuthenticationError, match="Incorrect API key"):
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], extra_headers=scenario("error_401")
        )
    span = only_span(span_exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert API_KEY not in span.to_json()


def test_async_stream_closed_early(
    instrumented: OpenAIInstrumentor, span_exporter: InMemorySpanExporter, fake_openai: FakeOpenAIServer
) -> None:
    async def main() -> None:
        async with openai.AsyncOpenAI(base_url=fake_openai.base_url, api_key=API_KEY) as sdk:
            stream = await sdk.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
            )
            async for _chunk in stream:
                break
            await stream.close()

    asyncio.run(main())
    assert dict(only_span(span_exporter).attributes or {})[Ours.PRICING_STATUS] == PricingStatus.NO_USAGE
