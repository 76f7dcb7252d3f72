"""Azure OpenAI clients against the fake server on Azure's deployment paths."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import openai
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.integration.openai.helpers import API_KEY, load_prices, only_span, scenario, scenario_cost

from genai_cost.config import ENV, settings_from_env
from genai_cost.demo.fake_openai import SCENARIOS, FakeOpenAIServer
from genai_cost.instrumentation.openai import OpenAIInstrumentor
from genai_cost.semconv import GenAI, Ours, PricingStatus

API_VERSION = "2024-10-21"


def _azure_call(server: FakeOpenAIServer, action: Callable[[Any], Any], *, is_async: bool) -> Any:
    options: dict[str, Any] = {
        "api_key": API_KEY,
        "api_version": API_VERSION,
        "azure_endpoint": f"http://127.0.0.1:{server.port}",
        "max_retries": 0,
    }
    if not is_async:
        with openai.AzureOpenAI(**options) as sdk:
            result = action(sdk)
            return list(result) if isinstance(result, openai.Stream) else result

    async def main() -> Any:
        async with openai.AsyncAzureOpenAI(**options) as sdk:
            result = await action(sdk)
            if isinstance(result, openai.AsyncStream):
                return [chunk async for chunk in result]
            return result

    return asyncio.run(main())


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_azure_chat_is_azure_provider_and_priced_at_azure_rates(
    instrument: Callable[..., OpenAIInstrumentor],
    span_exporter: InMemorySpanExporter,
    fake_openai: FakeOpenAIServer,
    is_async: bool,
    stream: bool,
) -> None:
    pricing = load_prices()
    instrument(pricing=pricing)
    _azure_call(
        fake_openai,
        lambda sdk: sdk.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "hi"}],
            stream=stream,
            stream_options={"include_usage": True} if stream else openai.omit,
            extra_headers=scenario("cached"),
        ),
        is_async=is_async,
    )
    path = fake_openai.requests[-1]["path"]
    assert path == f"/openai/deployments/gpt-4o-mini/chat/completions?api-version={API_VERSION}"
    attrs = dict(only_span(span_exporter).attributes or {})
    wire = SCENARIOS["cached"]
    assert attrs[GenAI.PROVIDER_NAME] == "azure.ai.openai"
    assert attrs[GenAI.SERVER_ADDRESS] == "127.0.0.1"
    assert attrs[GenAI.SERVER_PORT] == fake_openai.port
    assert attrs[Ours.PRICING_ENTRY] == "test:azure-gpt-4o-mini"
    assert attrs[GenAI.USAGE_COST_AMOUNT] == scenario_cost(
        pricing.match("gpt-4o-mini", provider="azure.ai.openai"), wire
    )


def test_azure_deployment_alias_is_priced_as_its_model(
    instrument: Callable[..., OpenAIInstrumentor],
    span_exporter: InMemorySpanExporter,
    fake_openai: FakeOpenAIServer,
) -> None:
    settings = settings_from_env({ENV.MODEL_ALIASES: "prod-chat=gpt-4o-mini, other=o4-mini"})
    pricing = load_prices(aliases=dict(settings.model_aliases))
    instrument(pricing=pricing)
    _azure_call(
        fake_openai,
        lambda sdk: sdk.chat.completions.create(model="prod-chat", messages=[{"role": "user", "content": "hi"}]),
        is_async=False,
    )
    assert fake_openai.requests[-1]["path"].startswith("/openai/deployments/prod-chat/")
    attrs = dict(only_span(span_exporter).attributes or {})
    wire = SCENARIOS["default"]
    assert attrs[GenAI.REQUEST_MODEL] == "prod-chat"
    assert attrs[Ours.PRICING_STATUS] == PricingStatus.PRICED
    assert attrs[Ours.PRICING_ENTRY] == "test:azure-gpt-4o-mini"
    assert attrs[GenAI.USAGE_COST_AMOUNT] == scenario_cost(
        pricing.match("gpt-4o-mini", provider="azure.ai.openai"), wire
    )


def test_azure_embeddings(
    instrumented: OpenAIInstrumentor,
    span_exporter: InMemorySpanExporter,
    fake_openai: FakeOpenAIServer,
) -> None:
    _azure_call(
        fake_openai,
        lambda sdk: sdk.embeddings.create(model="text-embedding-3-small", input="hi"),
        is_async=False,
    )
    assert "/openai/deployments/text-embedding-3-small/embeddings" in fake_openai.requests[-1]["path"]
    attrs = dict(only_span(span_exporter).attributes or {})
    assert attrs[GenAI.PROVIDER_NAME] == "azure.ai.openai"
    assert attrs[GenAI.OPERATION_NAME] == "embeddings"
