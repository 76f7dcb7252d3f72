"""google-generativeai through the real SDK: sync over REST and gRPC, async over gRPC (its only
async transport), against the fake Gemini API; one span per request, usage and cost."""

from __future__ import annotations

import asyncio
import importlib.metadata
from collections.abc import Iterator
from typing import Any

import google.generativeai as genai
import grpc
import pytest
from google.ai.generativelanguage_v1beta.services.generative_service import transports
from google.generativeai.generative_models import GenerativeModel
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from tests.integration.google_legacy.helpers import assert_usage_and_cost, only_span
from tests.support.fake_gemini_grpc import FakeGeminiGrpcServer
from tests.support.fake_http import FakeHTTPServer
from tests.support.instrumenting import assert_failed, instrumented

from genai_cost.instrumentation.google_generativeai import GoogleGenerativeAIInstrumentor
from genai_cost.pricing import PricingTable
from genai_cost.semconv import GenAI, Provider

FLASH = "gemini-2.0-flash"
MODES = ["rest", "grpc", "grpc_asyncio"]
"""``transport``s: the sync client over REST and gRPC, the async client over gRPC."""


@pytest.fixture(autouse=True)
def no_api_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # configure() would read one, and a client given a transport refuses credentials.
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)


@pytest.fixture
def traced(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> Iterator[GoogleGenerativeAIInstrumentor]:
    instrumentor = GoogleGenerativeAIInstrumentor()
    with instrumented(
        instrumentor, tracer_provider=tracer_provider, meter_provider=meter_provider, pricing=PricingTable.default()
    ):
        yield instrumentor


class Fakes:
    def __init__(self, rest: FakeHTTPServer, grpc_server: FakeGeminiGrpcServer) -> None:
        self.rest, self.grpc = rest, grpc_server


@pytest.fixture
def fakes(fake_rest: FakeHTTPServer, fake_grpc: FakeGeminiGrpcServer) -> Fakes:
    return Fakes(fake_rest, fake_grpc)


def _configure(fakes: Fakes, mode: str) -> Any:
    """Point the SDK's clients at the fake; returns the gRPC channel to close, if any."""
    if mode == "rest":
        genai.configure(
            api_key="AIza-test-DO-NOT-LEAK", transport="rest", client_options={"api_endpoint": fakes.rest.origin}
        )
        return None
    if mode == "grpc":
        channel: Any = grpc.insecure_channel(fakes.grpc.target)
        genai.configure(transport=transports.GenerativeServiceGrpcTransport(channel=channel))
    else:
        channel = grpc.aio.insecure_channel(fakes.grpc.target)
        genai.configure(transport=transports.GenerativeServiceGrpcAsyncIOTransport(channel=channel))
    return channel


def _options(scenario: str) -> dict[str, Any]:
    return {"request_options": {"metadata": [("x-fake-scenario", scenario)]}}


def call(fakes: Fakes, mode: str, shape: str, scenario: str = "default", model: str = FLASH) -> Any:
    """``generate``, ``stream`` (iterated), ``resolve`` (streamed, then ``resolve()``) or ``chat``
    (``ChatSession.send_message``, which goes through ``generate_content``)."""
    kwargs = {**_options(scenario), "generation_config": {"temperature": 0.3}}
    if mode != "grpc_asyncio":
        channel = _configure(fakes, mode)
        sdk = GenerativeModel(model)
        try:
            if shape == "chat":
                return sdk.start_chat().send_message("Say hello", **kwargs)
            if shape == "generate":
                return sdk.generate_content("Say hello", **kwargs)
            response = sdk.generate_content("Say hello", stream=True, **kwargs)
            if shape == "resolve":
                response.resolve()
                return response
            return list(response)
        finally:
            if channel is not None:
                channel.close()

    async def main() -> Any:
        channel = _configure(fakes, mode)
        sdk = GenerativeModel(model)
        try:
            if shape == "chat":
                return await sdk.start_chat().send_message_async("Say hello", **kwargs)
            if shape == "generate":
                return await sdk.generate_content_async("Say hello", **kwargs)
            response = await sdk.generate_content_async("Say hello", stream=True, **kwargs)
            if shape == "resolve":
                await response.resolve()
                return response
            return [chunk async for chunk in response]
        finally:
            await channel.close()

    return asyncio.run(main())


@pytest.mark.parametrize("shape", ["generate", "stream", "resolve", "chat"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("scenario", ["default", "cached"])
def test_one_span_per_request_with_the_fixture_usage_and_cost(
    traced: GoogleGenerativeAIInstrumentor,
    fakes: Fakes,
    span_exporter: InMemorySpanExporter,
    scenario: str,
    mode: str,
    shape: str,
) -> None:
    call(fakes, mode, shape, scenario)

    span = only_span(span_exporter)
    attributes = span.attributes or {}
    assert span.name == f"generate_content {FLASH}"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    assert attributes[GenAI.PROVIDER_NAME] == Provider.GCP_GEMINI
    assert attributes[GenAI.REQUEST_MODEL] == FLASH  # GenerativeModel calls it models/gemini-2.0-flash
    assert attributes[GenAI.RESPONSE_MODEL] == FLASH
    assert attributes[GenAI.REQUEST_TEMPERATURE] == 0.3
    assert attributes[GenAI.RESPONSE_FINISH_REASONS] == ("stop",)
    assert (GenAI.RESPONSE_TIME_TO_FIRST_CHUNK in attributes) == (shape in ("stream", "resolve"))
    if mode == "rest":
        assert attributes[GenAI.SERVER_ADDRESS] == "127.0.0.1"
    assert_usage_and_cost(span, scenario, FLASH)


def test_default_endpoint_and_the_models_generation_config(
    traced: GoogleGenerativeAIInstrumentor, fakes: Fakes, span_exporter: InMemorySpanExporter
) -> None:
    channel = _configure(fakes, "grpc")
    try:
        sdk = GenerativeModel(FLASH, generation_config={"temperature": 0.9, "max_output_tokens": 50, "top_k": 4})
        sdk.generate_content("Say hello", generation_config={"temperature": 0.1}, **_options("default"))
    finally:
        channel.close()

    attributes = only_span(span_exporter).attributes or {}
    assert attributes[GenAI.SERVER_ADDRESS] == "generativelanguage.googleapis.com"
    assert attributes[GenAI.SERVER_PORT] == 443
    assert attributes[GenAI.REQUEST_TEMPERATURE] == 0.1  # the call's, merged over the model's
    assert attributes[GenAI.REQUEST_MAX_TOKENS] == 50
    assert attributes[GenAI.REQUEST_TOP_K] == 4


def test_thought_tokens_the_sdk_drops_are_not_invented(
    traced: GoogleGenerativeAIInstrumentor, fakes: Fakes, span_exporter: InMemorySpanExporter
) -> None:
    # The fake sends thoughtsTokenCount 250; google-ai-generativelanguage 0.6.15 has no such field.
    response = call(fakes, "rest", "generate", "thinking", model="gemini-2.5-flash")

    attributes = only_span(span_exporter).attributes or {}
    assert response.usage_metadata.total_token_count == 30 + 100 + 250
    assert attributes[GenAI.USAGE_OUTPUT_TOKENS] == 100
    assert GenAI.USAGE_REASONING_OUTPUT_TOKENS not in attributes


def test_a_stream_looped_twice_replays_as_without_instrumentation(
    traced: GoogleGenerativeAIInstrumentor, fakes: Fakes, span_exporter: InMemorySpanExporter
) -> None:
    _configure(fakes, "rest")
    response = GenerativeModel(FLASH).generate_content("Say hello", stream=True, **_options("cached"))
    first = [chunk.text for chunk in response]
    again = [chunk.text for chunk in response]

    assert first == again == ["Hello", " from", " a", "."]
    assert response.usage_metadata.prompt_token_count == 4000
    assert_usage_and_cost(only_span(span_exporter), "cached", FLASH)


def test_a_stream_left_early_then_resolved_is_recorded_once(
    traced: GoogleGenerativeAIInstrumentor, fakes: Fakes, span_exporter: InMemorySpanExporter
) -> None:
    _configure(fakes, "rest")
    response = GenerativeModel(FLASH).generate_content("Say hello", stream=True, **_options("cached"))
    for _chunk in response:
        break
    assert span_exporter.get_finished_spans() == ()
    response.resolve()

    assert response.text == "Hello from a."
    assert_usage_and_cost(only_span(span_exporter), "cached", FLASH)


def _outcome(fakes: Fakes, mode: str, shape: str, scenario: str) -> tuple[type[BaseException], str]:
    with pytest.raises(Exception) as caught:
        call(fakes, mode, shape, scenario)
    return type(caught.value), str(caught.value)


ERRORS = [
    *(
        pytest.param(mode, shape, "error_400", id=f"{mode}-{shape}")
        for mode in MODES
        for shape in ["generate", "stream"]
    ),
    pytest.param("rest", "stream", "reset_mid_stream", id="rest-stream-reset_mid_stream"),
]


@pytest.mark.parametrize(("mode", "shape", "scenario"), ERRORS)
def test_the_sdks_error_reaches_the_app_unchanged_and_the_span_fails(
    fakes: Fakes,
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
    mode: str,
    shape: str,
    scenario: str,
) -> None:
    plain = _outcome(fakes, mode, shape, scenario)
    with instrumented(GoogleGenerativeAIInstrumentor(), tracer_provider=tracer_provider, meter_provider=meter_provider):
        traced = _outcome(fakes, mode, shape, scenario)

    assert traced == plain
    span = only_span(span_exporter)
    assert_failed(span, traced[0], metric_reader)
    assert (span.attributes or {})[GenAI.PROVIDER_NAME] == Provider.GCP_GEMINI


def test_uninstrument_restores_the_sdks_methods(tracer_provider: TracerProvider) -> None:
    names = ("generate_content", "generate_content_async")
    original = {name: GenerativeModel.__dict__[name] for name in names}
    with instrumented(GoogleGenerativeAIInstrumentor(), tracer_provider=tracer_provider):
        assert all(GenerativeModel.__dict__[name] is not original[name] for name in names)
    assert {name: GenerativeModel.__dict__[name] for name in names} == original


def test_entry_point_loads_the_instrumentor() -> None:
    (entry_point,) = [
        entry_point
        for entry_point in importlib.metadata.entry_points(group="opentelemetry_instrumentor")
        if entry_point.name == "genai_cost_google_generativeai"
    ]
    assert entry_point.load() is GoogleGenerativeAIInstrumentor
    assert GoogleGenerativeAIInstrumentor().instrumentation_dependencies() == ("google-generativeai >= 0.5.3",)
