"""Fixtures for the OpenAI instrumentor tests: the real SDK over HTTP against the fake server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from tests.integration.openai.helpers import API_KEY, load_prices

from genai_cost.demo.fake_openai import FakeOpenAIServer
from genai_cost.instrumentation.openai import OpenAIInstrumentor
from genai_cost.pricing import PricingTable


@pytest.fixture
def pricing() -> PricingTable:
    return load_prices()


@pytest.fixture
def instrument(
    tracer_provider: TracerProvider, meter_provider: MeterProvider, pricing: PricingTable
) -> Iterator[Callable[..., OpenAIInstrumentor]]:
    """Instrument on demand (after ``configure``); always uninstrumented at teardown."""
    instrumentor = OpenAIInstrumentor()

    def apply(**options: Any) -> OpenAIInstrumentor:
        options.setdefault("tracer_provider", tracer_provider)
        options.setdefault("meter_provider", meter_provider)
        options.setdefault("pricing", pricing)
        instrumentor.instrument(**options)
        return instrumentor

    yield apply
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()


@pytest.fixture
def instrumented(instrument: Callable[..., OpenAIInstrumentor]) -> OpenAIInstrumentor:
    return instrument()


@pytest.fixture
def client(fake_openai: FakeOpenAIServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=fake_openai.base_url, api_key=API_KEY, max_retries=0) as sdk:
        yield sdk


@pytest.fixture
def async_client(fake_openai: FakeOpenAIServer) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=fake_openai.base_url, api_key=API_KEY, max_retries=0)
