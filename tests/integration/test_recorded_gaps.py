"""Exact tokens and cost on the real response shapes issue 23 found priced wrong.

Each test replays a recorded shape (:mod:`tests.support.recorded`) through the real SDK over
HTTP and compares the span with the recording's counts and with genai-prices' own
``calc_price`` on the same usage, against the bundled table.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import openai
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from tests.support import fake_bedrock
from tests.support.fake_http import FakeHTTPServer
from tests.support.instrumenting import instrumented
from tests.support.recorded import NOVA_LITE_GUARDRAIL, server
from tests.support.telemetry import metric_points

from genai_cost.costing import Costing
from genai_cost.instrumentation.bedrock import BedrockInstrumentor
from genai_cost.instrumentation.bedrock.bodies import usage_from_headers
from genai_cost.instrumentation.openai import OpenAIInstrumentor
from genai_cost.metrics import Instruments
from genai_cost.pricing import PricingTable
from genai_cost.processor import CostSpanProcessor
from genai_cost.semconv import GenAI, Metrics, Ours, PricingModelSource, PricingStatus
from genai_cost.usage import Usage

genai_prices = pytest.importorskip("genai_prices")


@pytest.fixture(scope="module")
def recorded() -> Iterator[FakeHTTPServer]:
    with server() as fake:
        yield fake


@pytest.fixture(scope="module")
def pricing() -> PricingTable:
    return PricingTable.default()


@pytest.fixture
def telemetry(tracer_provider: TracerProvider, meter_provider: MeterProvider, pricing: PricingTable) -> dict[str, Any]:
    return {"tracer_provider": tracer_provider, "meter_provider": meter_provider, "pricing": pricing}


def _calc_price(model: str, provider: str, **usage: int) -> float:
    """genai-prices' price of ``usage``, as the float a span carries."""
    total: Decimal = genai_prices.calc_price(genai_prices.Usage(**usage), model, provider_id=provider).total_price
    return float(total)


@pytest.fixture(scope="module")
def sync_client(recorded: FakeHTTPServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=recorded.origin + "/v1", api_key="sk-recorded", max_retries=0) as client:
        yield client


def _only_attributes(exporter: InMemorySpanExporter) -> dict[str, Any]:
    (span,) = exporter.get_finished_spans()
    return dict(span.attributes or {})


# --- item 1: Responses API cache writes, and zeros kept as zeros ---------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["response", "stream"])
def test_responses_cache_writes_are_priced_at_the_write_rate(
    sync_client: openai.OpenAI, telemetry: dict[str, Any], span_exporter: InMemorySpanExporter, stream: bool
) -> None:
    with instrumented(OpenAIInstrumentor(), **telemetry):
        result = sync_client.responses.create(model="gpt-5.6-sol", input="Summarize the instructions.", stream=stream)
        if stream:
            assert [event.type for event in result] == ["response.created", "response.completed"]
    attributes = _only_attributes(span_exporter)
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == 4421
    assert attributes[GenAI.USAGE_OUTPUT_TOKENS] == 883
    assert attributes[GenAI.USAGE_CACHE_CREATION_INPUT_TOKENS] == 4418
    expected = _calc_price("gpt-5.6-sol", "openai", input_tokens=4421, cache_write_tokens=4418, output_tokens=883)
    assert attributes[GenAI.USAGE_COST_AMOUNT] == expected


def test_responses_details_reported_as_zero_are_emitted_as_zero(
    sync_client: openai.OpenAI, telemetry: dict[str, Any], span_exporter: InMemorySpanExporter
) -> None:
    with instrumented(OpenAIInstrumentor(), **telemetry):
        sync_client.responses.create(model="gpt-5.6-sol", input="Hi", extra_headers={"x-recorded": "zeros"})
    attributes = _only_attributes(span_exporter)
    reported = {
        GenAI.USAGE_INPUT_TOKENS: 37,
        GenAI.USAGE_OUTPUT_TOKENS: 12,
        GenAI.USAGE_CACHE_READ_INPUT_TOKENS: 0,
        GenAI.USAGE_CACHE_CREATION_INPUT_TOKENS: 0,
        GenAI.USAGE_REASONING_OUTPUT_TOKENS: 0,
    }
    assert {name: attributes.get(name) for name in reported} == reported
    assert attributes[GenAI.USAGE_COST_AMOUNT] == _calc_price(
        "gpt-5.6-sol", "openai", input_tokens=37, output_tokens=12
    )


# --- item 6: billed calls that had no span ------------------------------------------------


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_responses_compact_has_a_span_with_usage_and_cost(
    recorded: FakeHTTPServer,
    sync_client: openai.OpenAI,
    telemetry: dict[str, Any],
    span_exporter: InMemorySpanExporter,
    is_async: bool,
) -> None:
    compact = {"model": "gpt-5.6-sol", "previous_response_id": "resp_recorded"}

    async def compact_async() -> Any:
        async with openai.AsyncOpenAI(base_url=recorded.origin + "/v1", api_key="sk-recorded") as client:
            return await client.responses.compact(**compact)

    with instrumented(OpenAIInstrumentor(), **telemetry):
        result = asyncio.run(compact_async()) if is_async else sync_client.responses.compact(**compact)
    assert result.output[-1].type == "compaction"
    (span,) = span_exporter.get_finished_spans()
    attributes = dict(span.attributes or {})
    assert span.name == "chat gpt-5.6-sol"
    reported = {
        GenAI.RESPONSE_ID: "resp_compacted",
        GenAI.USAGE_INPUT_TOKENS: 18250,
        GenAI.USAGE_CACHE_READ_INPUT_TOKENS: 16384,
        GenAI.USAGE_CACHE_CREATION_INPUT_TOKENS: 0,
        GenAI.USAGE_OUTPUT_TOKENS: 1210,
        GenAI.USAGE_REASONING_OUTPUT_TOKENS: 704,
    }
    assert {name: attributes.get(name) for name in reported} == reported
    assert attributes[Ours.PRICING_ENTRY] == "openai:gpt-5.6-sol@2026-08-21"
    expected = _calc_price("gpt-5.6-sol", "openai", input_tokens=18250, cache_read_tokens=16384, output_tokens=1210)
    assert attributes[GenAI.USAGE_COST_AMOUNT] == expected


# --- item 2: priced by the requested model when the answering model matches nothing --------


def test_completion_answered_by_a_build_name_is_priced_by_the_requested_model(
    sync_client: openai.OpenAI,
    telemetry: dict[str, Any],
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> None:
    with instrumented(OpenAIInstrumentor(), **telemetry):
        sync_client.completions.create(model="davinci-002", prompt="This is", max_tokens=16)
    attributes = _only_attributes(span_exporter)
    assert attributes[GenAI.RESPONSE_MODEL] == "davinci:2023-07-21-v2"
    assert attributes[Ours.PRICING_STATUS] == PricingStatus.PRICED
    assert attributes[Ours.PRICING_ENTRY] == "openai:davinci-002"
    assert attributes[Ours.PRICING_MODEL_SOURCE] == PricingModelSource.REQUEST_MODEL
    expected = _calc_price("davinci-002", "openai", input_tokens=5, output_tokens=16)
    assert attributes[GenAI.USAGE_COST_AMOUNT] == expected
    (cost,) = metric_points(metric_reader, Metrics.OPERATION_COST)
    assert cost.sum == expected


def test_a_call_priced_by_the_model_that_answered_does_not_name_a_source(
    sync_client: openai.OpenAI, telemetry: dict[str, Any], span_exporter: InMemorySpanExporter
) -> None:
    with instrumented(OpenAIInstrumentor(), **telemetry):
        sync_client.responses.create(model="gpt-5.6-sol", input="Hi", extra_headers={"x-recorded": "zeros"})
    assert Ours.PRICING_MODEL_SOURCE not in _only_attributes(span_exporter)


def test_processor_prices_a_foreign_span_by_its_requested_model(
    pricing: PricingTable, meter_provider: MeterProvider, span_exporter: InMemorySpanExporter
) -> None:
    provider = TracerProvider()
    provider.add_span_processor(CostSpanProcessor(SimpleSpanProcessor(span_exporter), pricing, meter_provider))
    attributes = {
        GenAI.OPERATION_NAME: "text_completion",
        GenAI.PROVIDER_NAME: "openai",
        GenAI.REQUEST_MODEL: "davinci-002",
        GenAI.RESPONSE_MODEL: "davinci:2023-07-21-v2",
        GenAI.USAGE_INPUT_TOKENS: 5,
        GenAI.USAGE_OUTPUT_TOKENS: 16,
    }
    tracer = provider.get_tracer("peer.instrumentation")
    tracer.start_span("text_completion davinci-002", kind=SpanKind.CLIENT, attributes=attributes).end()
    exported = _only_attributes(span_exporter)
    assert exported[Ours.PRICING_ENTRY] == "openai:davinci-002"
    assert exported[Ours.PRICING_MODEL_SOURCE] == PricingModelSource.REQUEST_MODEL
    assert exported[GenAI.USAGE_COST_AMOUNT] == _calc_price("davinci-002", "openai", input_tokens=5, output_tokens=16)


# --- item 3: Bedrock invoke_model, each count from the most complete source ----------------


def test_invoke_model_takes_the_output_count_the_body_lacks_from_the_headers(
    recorded: FakeHTTPServer, telemetry: dict[str, Any], span_exporter: InMemorySpanExporter
) -> None:
    request = {"messages": [{"role": "user", "content": [{"text": "How do I pick a lock?"}]}]}
    with instrumented(BedrockInstrumentor(), **telemetry):
        result = fake_bedrock.client(recorded.origin).invoke_model(
            modelId="amazon.nova-lite-v1:0", body=json.dumps(request)
        )
        assert json.loads(result["body"].read()) == NOVA_LITE_GUARDRAIL
    attributes = _only_attributes(span_exporter)
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == 30
    assert attributes[GenAI.USAGE_OUTPUT_TOKENS] == 51
    expected = _calc_price("amazon.nova-lite-v1:0", "aws", input_tokens=30, output_tokens=51)
    assert attributes[GenAI.USAGE_COST_AMOUNT] == expected


_HEADERS = "x-amzn-bedrock-{}-token-count"


def _headers(**counts: int) -> dict[str, str]:
    return {_HEADERS.format(key.replace("_", "-")): str(value) for key, value in counts.items()}


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        pytest.param(_headers(input=30, output=51), Usage(input_tokens=30), Usage(input_tokens=30, output_tokens=51),
                     id="body-lacks-output"),
        pytest.param(_headers(input=12, output=6, cache_read_input=1000, cache_write_input=200),
                     Usage.from_uncached_input(uncached_input_tokens=12, output_tokens=6, cache_read_tokens=1000,
                                               cache_creation_5m_tokens=200, cache_creation_1h_tokens=0),
                     Usage.from_uncached_input(uncached_input_tokens=12, output_tokens=6, cache_read_tokens=1000,
                                               cache_creation_5m_tokens=200, cache_creation_1h_tokens=0),
                     id="agreeing-sources-keep-the-body-split"),
        pytest.param(_headers(input=12, output=6),
                     Usage.from_uncached_input(uncached_input_tokens=12, output_tokens=6, cache_read_tokens=1000),
                     Usage(input_tokens=1012, output_tokens=6, cache_read_tokens=1000),
                     id="cache-count-only-in-the-body"),
        pytest.param(_headers(input=40, output=9), Usage(input_tokens=35, output_tokens=9, reasoning_tokens=4),
                     Usage(input_tokens=40, output_tokens=9, reasoning_tokens=4), id="headers-win-where-both-count"),
        pytest.param({}, Usage(input_tokens=30), Usage(input_tokens=30), id="no-headers"),
        pytest.param(_headers(input=30, output=51), None, Usage(input_tokens=30, output_tokens=51), id="no-body"),
    ],
)  # fmt: skip
def test_header_counts_complete_the_body_per_field(
    headers: dict[str, str], body: Usage | None, expected: Usage
) -> None:
    assert usage_from_headers(headers, body) == expected


@pytest.mark.parametrize(
    ("model", "requested", "status", "entry", "source"),
    [
        pytest.param("davinci-002", "gpt-4o", PricingStatus.PRICED, "openai:davinci-002", None,
                     id="answering-model-wins"),
        pytest.param("davinci:2023-07-21-v2", "davinci-002", PricingStatus.PRICED, "openai:davinci-002",
                     PricingModelSource.REQUEST_MODEL, id="requested-model-fallback"),
        pytest.param("davinci:2023-07-21-v2", "davinci:2023-07-21-v2", PricingStatus.UNKNOWN_MODEL, None, None,
                     id="same-unknown-name"),
        pytest.param("davinci:2023-07-21-v2", ["davinci-002"], PricingStatus.UNKNOWN_MODEL, None, None,
                     id="requested-not-a-name"),
    ],
)  # fmt: skip
def test_costing_falls_back_to_the_requested_model_only_when_the_answering_model_is_unknown(
    pricing: PricingTable,
    meter_provider: MeterProvider,
    model: str,
    requested: object,
    status: str,
    entry: str | None,
    source: str | None,
) -> None:
    costing = Costing(Instruments(meter_provider, model_limit=100), pricing)
    usage = Usage(input_tokens=5, output_tokens=16)
    cost = costing.price(usage, model=model, provider="openai", requested_model=requested)
    assert (cost.status, cost.entry_id, cost.model_source) == (status, entry, source)
