"""The real cohere SDK (v2 clients, sync and async) against the local fake: one span per call,
billed tokens as reported, cost as genai-prices computes it, errors unchanged."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

import cohere
import httpx
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.support.declared import assert_declared
from tests.support.fake_cohere import SCENARIOS
from tests.support.fake_http import FakeHTTPServer
from tests.support.instrumenting import assert_error_passes_through, instrumented
from tests.support.price_oracle import oracle_cost

from genai_cost.instrumentation.cohere import CohereInstrumentor
from genai_cost.pricing import PricingTable
from genai_cost.semconv import GenAI, Ours, Provider

CHAT_MODEL = "command-r-plus-08-2024"
EMBED_MODEL = "embed-v4.0"
RERANK_MODEL = "rerank-v3.5"
KEY = "co-test-DO-NOT-LEAK"
MESSAGES = [{"role": "user", "content": "what is Coca Cola?"}]


def _options(scenario: str) -> dict[str, Any]:
    return {"additional_headers": {"x-fake-scenario": scenario}}


def _call(origin: str, shape: str, *, is_async: bool, scenario: str = "default") -> Any:
    options = _options(scenario)
    arguments: dict[str, dict[str, Any]] = {
        "chat": {"model": CHAT_MODEL, "messages": MESSAGES, "max_tokens": 200, "request_options": options},
        "embed": {"model": EMBED_MODEL, "texts": ["hello", "world"], "input_type": "search_document",
                  "embedding_types": ["float"], "request_options": options},
        "rerank": {"model": RERANK_MODEL, "query": "cola", "documents": ["Coca-Cola", "Pepsi"],
                   "request_options": options},
    }  # fmt: skip
    kwargs = arguments["chat" if shape == "stream" else shape]
    if not is_async:
        with httpx.Client() as http:
            client = cohere.ClientV2(api_key=KEY, base_url=origin, max_retries=0, httpx_client=http)
            if shape == "stream":
                return list(client.chat_stream(**kwargs))
            return getattr(client, shape)(**kwargs)

    async def main() -> Any:
        async with httpx.AsyncClient() as http:
            client = cohere.AsyncClientV2(api_key=KEY, base_url=origin, max_retries=0, httpx_client=http)
            if shape == "stream":
                return [event async for event in client.chat_stream(**kwargs)]
            return await getattr(client, shape)(**kwargs)

    return asyncio.run(main())


def _instrumented(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> Any:
    return instrumented(
        CohereInstrumentor(),
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        pricing=PricingTable.default(),
    )


ASYNC = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])


@ASYNC
@pytest.mark.parametrize("shape", ["chat", "stream", "embed"])
def test_billed_tokens_and_cost(
    fake_cohere: FakeHTTPServer,
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    span_exporter: InMemorySpanExporter,
    shape: str,
    is_async: bool,
) -> None:
    with _instrumented(tracer_provider, meter_provider):
        _call(fake_cohere.origin, shape, is_async=is_async)

    (span,) = span_exporter.get_finished_spans()
    attributes = span.attributes or {}
    raw = SCENARIOS["default"]
    assert attributes[GenAI.PROVIDER_NAME] == Provider.COHERE
    assert attributes[GenAI.SERVER_ADDRESS] == "127.0.0.1"
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == raw.billed_input
    if shape == "embed":
        assert GenAI.USAGE_OUTPUT_TOKENS not in attributes
        expected = oracle_cost(EMBED_MODEL, "cohere", input_tokens=raw.billed_input)
    else:
        assert attributes[GenAI.USAGE_OUTPUT_TOKENS] == raw.billed_output
        assert attributes[GenAI.RESPONSE_FINISH_REASONS] == ("COMPLETE",)
        assert attributes[GenAI.RESPONSE_ID] == "a8fc192e-4bb8-4e15-ae1f-a174e8b02ae8"
        expected = oracle_cost(CHAT_MODEL, "cohere", input_tokens=raw.billed_input, output_tokens=raw.billed_output)
    assert attributes[GenAI.USAGE_COST_AMOUNT] == pytest.approx(expected, rel=1e-9)
    assert attributes[Ours.PRICING_STATUS] == "priced"


@ASYNC
def test_rerank_is_traced_but_search_units_are_not_priced(
    fake_cohere: FakeHTTPServer,
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    span_exporter: InMemorySpanExporter,
    is_async: bool,
) -> None:
    """genai-prices has no Cohere rerank price and no search-unit dimension: no usage, no cost."""
    with _instrumented(tracer_provider, meter_provider):
        result = _call(fake_cohere.origin, "rerank", is_async=is_async)

    assert [item.index for item in result.results] == [0, 1]
    (span,) = span_exporter.get_finished_spans()
    attributes = span.attributes or {}
    assert attributes[GenAI.OPERATION_NAME] == "rerank"
    assert attributes[GenAI.REQUEST_MODEL] == RERANK_MODEL
    assert attributes[Ours.PRICING_STATUS] == "no_usage"
    assert GenAI.USAGE_COST_AMOUNT not in attributes


def test_the_v2_resource_of_a_v1_client_is_traced(
    fake_cohere: FakeHTTPServer,
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    span_exporter: InMemorySpanExporter,
) -> None:
    with _instrumented(tracer_provider, meter_provider), httpx.Client() as http:
        client = cohere.Client(api_key=KEY, base_url=fake_cohere.origin, max_retries=0, httpx_client=http)
        client.v2.chat(model=CHAT_MODEL, messages=MESSAGES)

    (span,) = span_exporter.get_finished_spans()
    attributes = span.attributes or {}
    assert attributes[GenAI.SERVER_ADDRESS] == "127.0.0.1"
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == SCENARIOS["default"].billed_input


def _body(error: BaseException) -> Any:
    """An API error's body (its message quotes the response's ``date`` header), else the message."""
    return getattr(error, "body", str(error))


@ASYNC
@pytest.mark.parametrize(
    ("shape", "scenario"),
    [("chat", "error_400"), ("chat", "error_429"), ("stream", "error_500"), ("embed", "error_400"),
     ("stream", "reset_mid_stream")],
)  # fmt: skip
def test_error_reaches_app_unchanged_and_span_is_error(
    fake_cohere: FakeHTTPServer,
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
    shape: str,
    scenario: str,
    is_async: bool,
) -> None:
    assert_error_passes_through(
        partial(_call, fake_cohere.origin, shape, is_async=is_async, scenario=scenario),
        partial(_instrumented, tracer_provider, meter_provider),
        span_exporter,
        metric_reader,
        _body,
    )


def test_uninstrument_restores_the_sdk_methods(
    fake_cohere: FakeHTTPServer, tracer_provider: TracerProvider, meter_provider: MeterProvider,
    span_exporter: InMemorySpanExporter,
) -> None:  # fmt: skip
    from cohere.v2.client import AsyncV2Client, V2Client

    names = ("chat", "chat_stream", "embed", "rerank")
    before = {(cls, name): cls.__dict__[name] for cls in (V2Client, AsyncV2Client) for name in names}
    with _instrumented(tracer_provider, meter_provider):
        assert all(cls.__dict__[name] is not original for (cls, name), original in before.items())
    assert all(cls.__dict__[name] is original for (cls, name), original in before.items())
    _call(fake_cohere.origin, "chat", is_async=False)
    assert span_exporter.get_finished_spans() == ()


def test_entry_point_and_extras_are_declared() -> None:
    assert_declared("genai_cost_cohere", CohereInstrumentor, "cohere")
