"""The real mistralai SDK (sync and async) against the local fake: one span per call, tokens as
reported, cost as genai-prices computes it, errors unchanged."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

import httpx
import pytest
from mistralai.client import Mistral
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.support.declared import assert_declared
from tests.support.fake_http import FakeHTTPServer
from tests.support.fake_mistral import SCENARIOS
from tests.support.instrumenting import assert_error_passes_through, instrumented
from tests.support.price_oracle import oracle_cost

from genai_cost.instrumentation.mistralai import MistralInstrumentor
from genai_cost.pricing import PricingTable
from genai_cost.semconv import GenAI, Ours, Provider

MODELS = {"default": "mistral-large-latest", "cached": "mistral-small-2603"}
EMBED_MODEL = "mistral-embed"
MESSAGES = [{"role": "user", "content": "what is Coca Cola"}]


def _call(origin: str, shape: str, *, is_async: bool, scenario: str = "default") -> Any:
    headers = {"x-fake-scenario": scenario}
    if shape == "embed":
        kwargs: dict[str, Any] = {"model": EMBED_MODEL, "inputs": ["hello", "world"], "http_headers": headers}
    else:
        kwargs = {"model": MODELS.get(scenario, MODELS["default"]), "messages": MESSAGES, "max_tokens": 100,
                  "temperature": 0.7, "http_headers": headers}  # fmt: skip
    method = {"chat": ("chat", "complete"), "stream": ("chat", "stream"), "embed": ("embeddings", "create")}[shape]
    if not is_async:
        with httpx.Client() as http:
            resource = getattr(Mistral(api_key="mistral-test-DO-NOT-LEAK", server_url=origin, client=http), method[0])
            result = getattr(resource, method[1])(**kwargs)
            return list(result) if shape == "stream" else result

    async def main() -> Any:
        async with httpx.AsyncClient() as http:
            client = Mistral(api_key="mistral-test-DO-NOT-LEAK", server_url=origin, async_client=http)
            result = await getattr(getattr(client, method[0]), f"{method[1]}_async")(**kwargs)
            return [event async for event in result] if shape == "stream" else result

    return asyncio.run(main())


def _instrumented(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> Any:
    return instrumented(
        MistralInstrumentor(),
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        pricing=PricingTable.default(),
    )


ASYNC = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])


@ASYNC
@pytest.mark.parametrize(("shape", "scenario"), [("chat", "default"), ("stream", "default"), ("chat", "cached"),
                                                 ("stream", "cached"), ("embed", "default")])  # fmt: skip
def test_tokens_and_cost(
    fake_mistral: FakeHTTPServer,
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    span_exporter: InMemorySpanExporter,
    shape: str,
    scenario: str,
    is_async: bool,
) -> None:
    with _instrumented(tracer_provider, meter_provider):
        _call(fake_mistral.origin, shape, is_async=is_async, scenario=scenario)

    (span,) = span_exporter.get_finished_spans()
    attributes = span.attributes or {}
    raw = SCENARIOS[scenario]
    assert attributes[GenAI.PROVIDER_NAME] == Provider.MISTRAL
    assert attributes[GenAI.SERVER_ADDRESS] == "127.0.0.1"
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == raw.prompt_tokens
    if shape == "embed":
        assert attributes[GenAI.RESPONSE_MODEL] == EMBED_MODEL
        expected = oracle_cost(EMBED_MODEL, "mistral", input_tokens=raw.prompt_tokens)
    else:
        model = MODELS[scenario]
        assert attributes[GenAI.REQUEST_MODEL] == attributes[GenAI.RESPONSE_MODEL] == model
        assert attributes[GenAI.USAGE_OUTPUT_TOKENS] == raw.completion_tokens
        assert attributes[GenAI.RESPONSE_FINISH_REASONS] == ("length",)
        assert attributes[GenAI.REQUEST_MAX_TOKENS] == 100
        counts = {"input_tokens": raw.prompt_tokens, "output_tokens": raw.completion_tokens}
        if raw.cached_tokens is not None:
            assert attributes[GenAI.USAGE_CACHE_READ_INPUT_TOKENS] == raw.cached_tokens
            counts["cache_read_tokens"] = raw.cached_tokens
        expected = oracle_cost(model, "mistral", **counts)
    assert attributes[GenAI.USAGE_COST_AMOUNT] == pytest.approx(expected, rel=1e-9)
    assert attributes[Ours.PRICING_STATUS] == "priced"


def _status_and_body(error: BaseException) -> Any:
    """An API error's status and body (its message may quote response headers), else the message."""
    return getattr(error, "status_code", None), getattr(error, "body", str(error))


@ASYNC
@pytest.mark.parametrize(
    ("shape", "scenario"),
    [("chat", "error_400"), ("chat", "error_429"), ("stream", "error_500"), ("embed", "error_400"),
     ("stream", "reset_mid_stream")],
)  # fmt: skip
def test_error_reaches_app_unchanged_and_span_is_error(
    fake_mistral: FakeHTTPServer,
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
    shape: str,
    scenario: str,
    is_async: bool,
) -> None:
    assert_error_passes_through(
        partial(_call, fake_mistral.origin, shape, is_async=is_async, scenario=scenario),
        partial(_instrumented, tracer_provider, meter_provider),
        span_exporter,
        metric_reader,
        _status_and_body,
    )


def test_uninstrument_restores_the_sdk_methods(
    fake_mistral: FakeHTTPServer, tracer_provider: TracerProvider, meter_provider: MeterProvider,
    span_exporter: InMemorySpanExporter,
) -> None:  # fmt: skip
    from mistralai.client.chat import Chat
    from mistralai.client.embeddings import Embeddings

    targets = [(Chat, name) for name in ("complete", "complete_async", "stream", "stream_async")]
    targets += [(Embeddings, "create"), (Embeddings, "create_async")]
    before = {(cls, name): cls.__dict__[name] for cls, name in targets}
    with _instrumented(tracer_provider, meter_provider):
        assert all(cls.__dict__[name] is not original for (cls, name), original in before.items())
    assert all(cls.__dict__[name] is original for (cls, name), original in before.items())
    _call(fake_mistral.origin, "chat", is_async=False)
    assert span_exporter.get_finished_spans() == ()


def test_entry_point_and_extras_are_declared() -> None:
    assert_declared("genai_cost_mistralai", MistralInstrumentor, "mistralai")
