from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

from genai_cost.demo.fake_openai import FakeOpenAIServer
from genai_cost.instrumentation.openai import OpenAIInstrumentor


@pytest.fixture
def instrumented(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> Iterator[None]:
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    yield
    instrumentor.uninstrument()


@pytest.fixture
def client(fake_openai: FakeOpenAIServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=fake_openai.base_url, api_key="sk-test-tracking", max_retries=0) as client:
        yield client
