"""The Vertex AI SDK's Gemini models (``vertexai.generative_models`` and its preview twin) through
the real SDK over REST (sync, and async with the SDK's async REST credentials) against the fake
Vertex AI; one span per request, usage and cost."""

from __future__ import annotations

import asyncio
import importlib.metadata
from collections.abc import Iterator
from typing import Any

import google.api_core.exceptions
import pytest
import vertexai
from google.auth import aio
from google.auth.credentials import AnonymousCredentials
from google.cloud.aiplatform import initializer
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from tests.integration.google_legacy.helpers import assert_usage_and_cost, only_span
from tests.support.fake_http import FakeHTTPServer
from tests.support.instrumenting import assert_failed, instrumented
from vertexai import generative_models
from vertexai.generative_models import _generative_models
from vertexai.preview import generative_models as preview

from genai_cost.instrumentation.vertexai import VertexAIInstrumentor
from genai_cost.pricing import PricingTable
from genai_cost.semconv import GenAI, Provider

# Constructing a model warns that the SDK is deprecated (since June 2025).
pytestmark = pytest.mark.filterwarnings("ignore:This feature is deprecated:UserWarning")

FLASH = "gemini-2.0-flash"
SHAPES = ["generate", "stream", "chat", "chat_stream"]
MODELS = {"ga": generative_models.GenerativeModel, "preview": preview.GenerativeModel}


@pytest.fixture
def traced(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> Iterator[VertexAIInstrumentor]:
    instrumentor = VertexAIInstrumentor()
    with instrumented(
        instrumentor, tracer_provider=tracer_provider, meter_provider=meter_provider, pricing=PricingTable.default()
    ):
        yield instrumentor


def _init(origin: str, scenario: str) -> None:
    vertexai.init(
        project="demo-project",
        location="us-central1",
        api_endpoint=origin,
        api_transport="rest",
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        request_metadata=[("x-fake-scenario", scenario)],
    )
    # The SDK's async client goes over REST only with async credentials (else it falls back to gRPC).
    initializer._set_async_rest_credentials(aio.credentials.AnonymousCredentials())


def call(origin: str, shape: str, *, is_async: bool, scenario: str = "default", flavour: str = "ga") -> Any:
    """``generate``/``stream`` (``GenerativeModel.generate_content``), ``chat``/``chat_stream``
    (``ChatSession.send_message``); streams drained."""
    _init(origin, scenario)
    sdk = MODELS[flavour](FLASH, generation_config={"temperature": 0.3})
    stream = shape.endswith("stream")
    if not is_async:
        if shape.startswith("chat"):
            result = sdk.start_chat().send_message("Say hello", stream=stream)
        else:
            result = sdk.generate_content("Say hello", stream=stream)
        return list(result) if stream else result

    async def main() -> Any:
        try:
            if shape.startswith("chat"):
                result = await sdk.start_chat().send_message_async("Say hello", stream=stream)
            else:
                result = await sdk.generate_content_async("Say hello", stream=stream)
            return [chunk async for chunk in result] if stream else result
        finally:
            await sdk._close_async_client()

    return asyncio.run(main())


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("scenario", ["default", "cached"])
def test_one_span_per_request_with_the_fixture_usage_and_cost(
    traced: VertexAIInstrumentor,
    fake_rest: FakeHTTPServer,
    span_exporter: InMemorySpanExporter,
    scenario: str,
    shape: str,
    is_async: bool,
) -> None:
    call(fake_rest.origin, shape, is_async=is_async, scenario=scenario)

    span = only_span(span_exporter)
    attributes = span.attributes or {}
    assert span.name == f"generate_content {FLASH}"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    assert attributes[GenAI.PROVIDER_NAME] == Provider.GCP_VERTEX_AI
    assert attributes[GenAI.REQUEST_MODEL] == FLASH  # the SDK calls it publishers/google/models/gemini-2.0-flash
    assert attributes[GenAI.RESPONSE_MODEL] == FLASH
    assert attributes[GenAI.RESPONSE_ID] == "7sNJafakeResponseIdQ"
    assert attributes[GenAI.REQUEST_TEMPERATURE] == 0.3
    assert attributes[GenAI.RESPONSE_FINISH_REASONS] == ("stop",)
    assert attributes[GenAI.SERVER_ADDRESS] == "127.0.0.1"
    assert (GenAI.RESPONSE_TIME_TO_FIRST_CHUNK in attributes) == shape.endswith("stream")
    assert_usage_and_cost(span, scenario, FLASH)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("shape", SHAPES)
def test_the_preview_classes_are_the_same_methods_wrapped_once(
    traced: VertexAIInstrumentor,
    fake_rest: FakeHTTPServer,
    span_exporter: InMemorySpanExporter,
    shape: str,
    is_async: bool,
) -> None:
    call(fake_rest.origin, shape, is_async=is_async, scenario="cached", flavour="preview")

    assert fake_rest.requests[-1].path.startswith("/v1beta1/")
    assert_usage_and_cost(only_span(span_exporter), "cached", FLASH)


def test_the_regional_endpoint_when_none_is_configured(
    traced: VertexAIInstrumentor, span_exporter: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    vertexai.init(project="demo-project", location="europe-west4", credentials=AnonymousCredentials())  # type: ignore[no-untyped-call]
    monkeypatch.setattr(initializer.global_config, "_api_endpoint", None)  # init() keeps an earlier test's
    stream = generative_models.GenerativeModel(FLASH).generate_content("Say hello", stream=True)
    stream.close()  # a generator: nothing was sent

    attributes = only_span(span_exporter).attributes or {}
    assert attributes[GenAI.SERVER_ADDRESS] == "europe-west4-aiplatform.googleapis.com"
    assert attributes[GenAI.SERVER_PORT] == 443


def _outcome(origin: str, shape: str, *, is_async: bool) -> tuple[type[BaseException], str]:
    with pytest.raises(google.api_core.exceptions.GoogleAPIError) as caught:
        call(origin, shape, is_async=is_async, scenario="error_400")
    return type(caught.value), str(caught.value)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("shape", SHAPES)
def test_the_sdks_error_reaches_the_app_unchanged_and_the_span_fails(
    fake_rest: FakeHTTPServer,
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
    shape: str,
    is_async: bool,
) -> None:
    plain = _outcome(fake_rest.origin, shape, is_async=is_async)
    with instrumented(VertexAIInstrumentor(), tracer_provider=tracer_provider, meter_provider=meter_provider):
        traced = _outcome(fake_rest.origin, shape, is_async=is_async)

    assert traced == plain
    assert traced[0] is google.api_core.exceptions.BadRequest
    span = only_span(span_exporter)
    assert_failed(span, traced[0], metric_reader)
    assert (span.attributes or {})[GenAI.PROVIDER_NAME] == Provider.GCP_VERTEX_AI


def test_uninstrument_restores_the_sdks_methods(tracer_provider: TracerProvider) -> None:
    methods = [
        (_generative_models._GenerativeModel, "generate_content"),
        (_generative_models._GenerativeModel, "generate_content_async"),
        (_generative_models.ChatSession, "send_message"),
        (_generative_models.ChatSession, "send_message_async"),
    ]
    original = [owner.__dict__[name] for owner, name in methods]
    with instrumented(VertexAIInstrumentor(), tracer_provider=tracer_provider):
        assert all(owner.__dict__[name] is not was for (owner, name), was in zip(methods, original, strict=True))
    assert [owner.__dict__[name] for owner, name in methods] == original


def test_entry_point_loads_the_instrumentor() -> None:
    (entry_point,) = [
        entry_point
        for entry_point in importlib.metadata.entry_points(group="opentelemetry_instrumentor")
        if entry_point.name == "genai_cost_vertexai"
    ]
    assert entry_point.load() is VertexAIInstrumentor
    assert VertexAIInstrumentor().instrumentation_dependencies() == ("google-cloud-aiplatform >= 1.38",)
