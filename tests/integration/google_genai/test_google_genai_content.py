"""google-genai through the real SDK: one span per call, normalized usage, exact cost, metrics."""

from __future__ import annotations

import gc
import importlib.metadata
import inspect
from typing import Any

import httpx2
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from tests.integration.google_genai.helpers import (
    FLASH,
    MODES,
    PRO,
    call,
    client,
    config,
    expected_cost,
    expected_usage,
)
from tests.support.fake_http import FakeHTTPServer
from tests.support.pricing_math import MILLION, rates
from tests.support.telemetry import metric_points

from genai_cost.instrumentation.google_genai import GoogleGenAIInstrumentor
from genai_cost.pricing import PricingTable
from genai_cost.semconv import GenAI, Metrics, Ours, PricingStatus, Provider

SCENARIO_MODELS = {
    "default": FLASH,
    "cached": FLASH,
    "thinking": FLASH,
    "audio": FLASH,
    "tool_use": FLASH,
    "multimodal": FLASH,
    "long_context": PRO,
}


def only_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    spans = exporter.get_finished_spans()
    assert len(spans) == 1, [span.name for span in spans]
    return spans[0]


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("shape", ["generate", "stream"])
@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("scenario", list(SCENARIO_MODELS))
def test_one_span_with_normalized_usage_and_exact_cost(
    instrumented: GoogleGenAIInstrumentor,
    fake_google: FakeHTTPServer,
    span_exporter: InMemorySpanExporter,
    scenario: str,
    mode: str,
    shape: str,
    is_async: bool,
) -> None:
    model = SCENARIO_MODELS[scenario]
    kwargs = {"model": model, "contents": "Say hello", "config": config(scenario, temperature=0.3, top_k=20)}
    call(fake_google.origin, mode, shape, kwargs, is_async=is_async)

    span = only_span(span_exporter)
    attributes = span.attributes or {}
    usage = expected_usage(scenario)
    provider = MODES[mode]
    assert span.name == f"generate_content {model}"
    assert span.kind is SpanKind.CLIENT
    assert attributes[GenAI.OPERATION_NAME] == "generate_content"
    assert attributes[GenAI.PROVIDER_NAME] == provider
    assert attributes[GenAI.REQUEST_MODEL] == model
    assert attributes[GenAI.RESPONSE_MODEL] == model
    assert attributes[GenAI.REQUEST_TEMPERATURE] == 0.3
    assert attributes[GenAI.REQUEST_TOP_K] == 20
    assert attributes[GenAI.RESPONSE_ID] == "7sNJafakeResponseIdQ"
    assert attributes[GenAI.RESPONSE_FINISH_REASONS] == ("stop",)
    assert attributes[GenAI.SERVER_ADDRESS] == "127.0.0.1"
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == usage["input"]
    assert attributes[GenAI.USAGE_OUTPUT_TOKENS] == usage["output"]
    assert attributes.get(GenAI.USAGE_CACHE_READ_INPUT_TOKENS) == usage["cache_read"]
    assert attributes.get(GenAI.USAGE_REASONING_OUTPUT_TOKENS) == usage["reasoning"]
    assert attributes[Ours.PRICING_STATUS] == PricingStatus.PRICED
    assert attributes[GenAI.USAGE_COST_AMOUNT] == float(expected_cost(scenario, model, provider))
    assert (GenAI.RESPONSE_TIME_TO_FIRST_CHUNK in attributes) == (shape == "stream")
    assert span.status.status_code is StatusCode.UNSET


def test_long_context_prices_the_whole_request_at_the_tier_rates(
    instrumented: GoogleGenAIInstrumentor, fake_google: FakeHTTPServer, span_exporter: InMemorySpanExporter
) -> None:
    call(fake_google.origin, "gemini", "generate", {"model": PRO, "contents": "x", "config": config("long_context")},
         is_async=False)  # fmt: skip

    entry = PricingTable.default().match(PRO, provider=Provider.GCP_GEMINI)
    assert entry is not None and [tier.above_input_tokens for tier in entry.tiers] == [200_000]
    base, tier = rates(entry, input_tokens=0), rates(entry, input_tokens=200_001)
    assert tier["input"] > base["input"]
    attributes = only_span(span_exporter).attributes or {}
    # 250k prompt tokens, 50k of them cached: every token at the > 200k rates, not just the excess.
    assert attributes[Ours.COST_PREFIX + "input"] == float(200_000 * tier["input"] / MILLION)
    assert attributes[Ours.COST_PREFIX + "cache_read"] == float(50_000 * tier["input.cache_read"] / MILLION)
    assert attributes[Ours.COST_PREFIX + "output"] == float(1500 * tier["output"] / MILLION)


def test_thoughts_are_output_billed_at_the_output_rate(
    instrumented: GoogleGenAIInstrumentor, fake_google: FakeHTTPServer, span_exporter: InMemorySpanExporter
) -> None:
    call(fake_google.origin, "gemini", "generate", {"model": FLASH, "contents": "x", "config": config("thinking")},
         is_async=False)  # fmt: skip

    price = rates(PricingTable.default().match(FLASH, provider=Provider.GCP_GEMINI), input_tokens=30)
    attributes = only_span(span_exporter).attributes or {}
    assert attributes[GenAI.USAGE_OUTPUT_TOKENS] == 100 + 250
    assert attributes[GenAI.USAGE_REASONING_OUTPUT_TOKENS] == 250
    assert attributes[Ours.COST_PREFIX + "output"] == float(350 * price["output"] / MILLION)


def test_sync_stream_stays_a_generator(
    instrumented: GoogleGenAIInstrumentor, fake_google: FakeHTTPServer, span_exporter: InMemorySpanExporter
) -> None:
    with httpx2.Client() as http:  # plain HTTP to the fake: no TLS context needed
        sdk = client(fake_google.origin, "gemini", http=http)
        stream = sdk.models.generate_content_stream(model=FLASH, contents="x", config=config("cached"))

        assert inspect.isgenerator(stream)
        first = next(stream)
        assert first.text == "Hello"
        stream.close()
        stream.close()
        gc.collect()

    attributes = only_span(span_exporter).attributes or {}
    # Closed after the first chunk: only the prompt count had been reported.
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == 4000
    assert GenAI.USAGE_OUTPUT_TOKENS not in attributes


def test_stream_chunks_are_unchanged(
    fake_google: FakeHTTPServer, tracer_provider: TracerProvider, meter_provider: MeterProvider
) -> None:
    def texts() -> list[Any]:
        kwargs = {"model": FLASH, "contents": "x", "config": config("audio")}
        return [chunk.model_dump() for chunk in call(fake_google.origin, "vertex", "stream", kwargs, is_async=False)]

    plain = texts()
    instrumentor = GoogleGenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        traced = texts()
    finally:
        instrumentor.uninstrument()
    assert [chunk["sdk_http_response"]["body"] for chunk in traced] == [
        chunk["sdk_http_response"]["body"] for chunk in plain
    ]
    assert len(traced) == 4


@pytest.mark.parametrize("mode", list(MODES))
def test_no_usage_is_reported_not_invented(
    instrumented: GoogleGenAIInstrumentor,
    fake_google: FakeHTTPServer,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
    mode: str,
) -> None:
    kwargs = {"model": FLASH, "contents": "x", "config": config("no_usage")}
    call(fake_google.origin, mode, "stream", kwargs, is_async=False)

    attributes = only_span(span_exporter).attributes or {}
    assert attributes[Ours.PRICING_STATUS] == PricingStatus.NO_USAGE
    assert not [name for name in attributes if name.startswith("gen_ai.usage.")]
    (unpriced,) = metric_points(metric_reader, Metrics.UNPRICED_CALLS)
    assert unpriced.value == 1


EMBEDDINGS = [
    pytest.param("gemini", "gemini-embedding-001", None, ":batchEmbedContents", id="gemini-api-no-usage"),
    pytest.param("vertex", "gemini-embedding-001", 7, ":embedContent", id="vertex-embed-content"),
    pytest.param("vertex", "text-embedding-005", 12, ":predict", id="vertex-predict"),
]


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize(("mode", "model", "tokens", "method"), EMBEDDINGS)
def test_embeddings(
    instrumented: GoogleGenAIInstrumentor,
    fake_google: FakeHTTPServer,
    span_exporter: InMemorySpanExporter,
    mode: str,
    model: str,
    tokens: int | None,
    method: str,
    is_async: bool,
) -> None:
    contents: Any = "one" if method == ":embedContent" else ["one", "two"]
    kwargs = {"model": model, "contents": contents, "config": {"output_dimensionality": 3}}
    result = call(fake_google.origin, mode, "embed", kwargs, is_async=is_async)

    assert fake_google.requests[-1].path.endswith(method)
    assert result.embeddings[0].values == [0.0123, -0.0456, 0.0789]
    span = only_span(span_exporter)
    attributes = span.attributes or {}
    assert span.name == f"embeddings {model}"
    assert attributes[GenAI.PROVIDER_NAME] == MODES[mode]
    assert attributes[GenAI.EMBEDDINGS_DIMENSION_COUNT] == 3
    assert attributes.get(GenAI.USAGE_INPUT_TOKENS) == tokens
    entry = PricingTable.default().match(model, provider=MODES[mode])
    if tokens is None:
        assert attributes[Ours.PRICING_STATUS] == PricingStatus.NO_USAGE
    elif entry is None:
        assert attributes[Ours.PRICING_STATUS] == PricingStatus.UNKNOWN_MODEL
    else:
        price = rates(entry, input_tokens=tokens)
        assert attributes[GenAI.USAGE_COST_AMOUNT] == float(tokens * price["input"] / MILLION)


def test_metrics_per_provider(
    instrumented: GoogleGenAIInstrumentor, fake_google: FakeHTTPServer, metric_reader: InMemoryMetricReader
) -> None:
    for mode in MODES:
        call(fake_google.origin, mode, "stream", {"model": FLASH, "contents": "x", "config": config("cached")},
             is_async=True)  # fmt: skip

    usage = expected_usage("cached")
    tokens = {
        (point.attributes[GenAI.TOKEN_TYPE], point.attributes[GenAI.PROVIDER_NAME]): point.sum
        for point in metric_points(metric_reader, Metrics.TOKEN_USAGE)
    }
    assert tokens == {
        (token_type, provider): usage[token_type]
        for token_type in ("input", "output")
        for provider in (Provider.GCP_GEMINI, Provider.GCP_VERTEX_AI)
    }
    costs = {
        point.attributes[GenAI.PROVIDER_NAME]: point.sum
        for point in metric_points(metric_reader, Metrics.OPERATION_COST)
    }
    assert costs == {provider: float(expected_cost("cached", FLASH, provider)) for provider in MODES.values()}
    ttfc = metric_points(metric_reader, Metrics.TIME_TO_FIRST_CHUNK)
    assert sum(point.count for point in ttfc) == 2


def test_entry_point_loads_the_instrumentor() -> None:
    (entry_point,) = [
        entry_point
        for entry_point in importlib.metadata.entry_points(group="opentelemetry_instrumentor")
        if entry_point.name == "genai_cost_google_genai"
    ]
    assert entry_point.load() is GoogleGenAIInstrumentor
    assert GoogleGenAIInstrumentor().instrumentation_dependencies() == ("google-genai >= 1.0",)
