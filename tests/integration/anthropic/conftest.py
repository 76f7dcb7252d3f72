"""Fixtures for the Anthropic instrumentor tests: the real SDK over HTTP against the local fake."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from tests.integration.anthropic.helpers import API_KEY
from tests.support.fake_anthropic import fake_anthropic_server
from tests.support.fake_http import FakeHTTPServer
from tests.support.instrumenting import instrumented as instrumented_by

from genai_cost.instrumentation.anthropic import AnthropicInstrumentor
from genai_cost.pricing import PricingTable


@pytest.fixture(scope="module")
def fake_anthropic() -> Iterator[FakeHTTPServer]:
    with fake_anthropic_server() as server:
        yield server


@pytest.fixture
def instrumented(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> Iterator[AnthropicInstrumentor]:
    with instrumented_by(
        AnthropicInstrumentor(),
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        pricing=PricingTable.default(),
    ) as instrumentor:
        yield instrumentor


@pytest.fixture
def client(fake_anthropic: FakeHTTPServer) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(api_key=API_KEY, base_url=fake_anthropic.origin, max_retries=0) as sdk:
        yield sdk
