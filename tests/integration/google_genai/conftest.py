"""Fixtures for the Google GenAI instrumentor tests: the real SDK over HTTP against the local fake."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from tests.support.fake_google_genai import fake_google_genai_server
from tests.support.fake_http import FakeHTTPServer
from tests.support.instrumenting import instrumented as instrumented_by

from genai_cost.instrumentation.google_genai import GoogleGenAIInstrumentor
from genai_cost.pricing import PricingTable


@pytest.fixture(scope="module")
def fake_google() -> Iterator[FakeHTTPServer]:
    with fake_google_genai_server() as server:
        yield server


@pytest.fixture
def instrumented(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> Iterator[GoogleGenAIInstrumentor]:
    with instrumented_by(
        GoogleGenAIInstrumentor(),
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        pricing=PricingTable.default(),
    ) as instrumentor:
        yield instrumentor
