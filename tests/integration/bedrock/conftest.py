"""Fixtures for the Bedrock instrumentor tests: real boto3 over HTTP against the fake runtime."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from tests.support.fake_bedrock import client, server
from tests.support.fake_http import FakeHTTPServer

from genai_cost.instrumentation.bedrock import BedrockInstrumentor
from genai_cost.pricing import PricingTable


@pytest.fixture(scope="session")
def fake_bedrock() -> Iterator[FakeHTTPServer]:
    with server() as fake:
        yield fake


@pytest.fixture(scope="session")
def pricing() -> PricingTable:
    return PricingTable.default()


@pytest.fixture
def instrument(
    tracer_provider: TracerProvider, meter_provider: MeterProvider, pricing: PricingTable
) -> Iterator[Callable[..., BedrockInstrumentor]]:
    """Instrument on demand; always uninstrumented at teardown."""
    instrumentor = BedrockInstrumentor()

    def apply(**options: Any) -> BedrockInstrumentor:
        options = {"tracer_provider": tracer_provider, "meter_provider": meter_provider, "pricing": pricing, **options}
        instrumentor.instrument(**options)
        return instrumentor

    yield apply
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()


@pytest.fixture(scope="session")
def boto_session() -> Any:
    return boto3.session.Session()


@pytest.fixture
def new_client(fake_bedrock: FakeHTTPServer, boto_session: Any) -> Callable[[], Any]:
    """A fresh boto3 bedrock-runtime client for the fake server."""
    return lambda: client(fake_bedrock.origin, boto_session)


@pytest.fixture
def bedrock(instrument: Callable[..., BedrockInstrumentor], new_client: Callable[[], Any]) -> Any:
    """A client created after instrumenting."""
    instrument()
    return new_client()
