"""One ``track_usage()`` block totals calls to OpenAI, Anthropic and Google, each priced by its own entry."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import openai
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.integration.anthropic import helpers as anthropic_calls
from tests.integration.google_genai.helpers import FLASH, call, config, expected_cost, expected_usage
from tests.support.fake_anthropic import fake_anthropic_server
from tests.support.fake_google_genai import fake_google_genai_server as fake_google_genai
from tests.support.pricing_math import MILLION, rates

from genai_cost import track_usage
from genai_cost.demo.fake_openai import SCENARIOS as OPENAI_SCENARIOS
from genai_cost.demo.fake_openai import FakeOpenAIServer
from genai_cost.instrumentation.anthropic import AnthropicInstrumentor
from genai_cost.instrumentation.google_genai import GoogleGenAIInstrumentor
from genai_cost.instrumentation.openai import OpenAIInstrumentor
from genai_cost.pricing import PricingTable
from genai_cost.semconv import GenAI, Provider

OPENAI_MODEL = "gpt-4o-mini"


@pytest.fixture
def all_instrumented(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> Iterator[None]:
    instrumentors = (OpenAIInstrumentor(), AnthropicInstrumentor(), GoogleGenAIInstrumentor())
    for instrumentor in instrumentors:
        instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    yield
    for instrumentor in instrumentors:
        instrumentor.uninstrument()


def _openai_cost() -> Decimal:
    raw = OPENAI_SCENARIOS["default"]
    price = rates(PricingTable.default().match(OPENAI_MODEL, provider=Provider.OPENAI), input_tokens=raw.prompt_tokens)
    return (raw.prompt_tokens * price["input"] + raw.completion_tokens * price["output"]) / MILLION


def test_track_usage_totals_three_providers(
    all_instrumented: None, fake_openai: FakeOpenAIServer, span_exporter: InMemorySpanExporter
) -> None:
    with fake_anthropic_server() as fake_anthropic, track_usage() as totals:
        with openai.OpenAI(base_url=fake_openai.base_url, api_key="sk-test", max_retries=0) as client:
            client.chat.completions.create(model=OPENAI_MODEL, messages=[{"role": "user", "content": "hi"}])
        anthropic_calls.call(
            fake_anthropic.origin, "stream_helper", anthropic_calls.request("cache_write"), is_async=False
        )
        with fake_google_genai() as fake_google:
            kwargs = {"model": FLASH, "contents": "hi", "config": config("thinking")}
            call(fake_google.origin, "vertex", "stream", kwargs, is_async=True)

    providers = sorted(str((span.attributes or {})[GenAI.PROVIDER_NAME]) for span in span_exporter.get_finished_spans())
    assert providers == [Provider.ANTHROPIC, Provider.GCP_VERTEX_AI, Provider.OPENAI]
    expected = (
        _openai_cost()
        + anthropic_calls.expected_cost("cache_write")
        + expected_cost("thinking", FLASH, Provider.GCP_VERTEX_AI)
    )
    assert totals.total_cost == expected
    assert totals.successful_requests == 3
    raw = OPENAI_SCENARIOS["default"]
    anthropic_usage = anthropic_calls.expected_usage("cache_write")
    google_usage = expected_usage("thinking")
    assert totals.prompt_tokens == raw.prompt_tokens + anthropic_usage["input"] + google_usage["input"]  # type: ignore[operator]
    assert totals.completion_tokens == raw.completion_tokens + anthropic_usage["output"] + google_usage["output"]  # type: ignore[operator]
    assert totals.cache_creation_tokens == anthropic_usage["cache_creation"]
    assert totals.reasoning_tokens == google_usage["reasoning"]
    assert len(totals.by_model) == 3
