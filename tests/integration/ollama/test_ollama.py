"""The real ollama SDK (Client, AsyncClient, module-level functions) against the local fake:
one span per call, counts as reported, local models priced at 0 unless the user's table says
otherwise, errors unchanged."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from functools import partial
from typing import Any

import ollama
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.support.declared import assert_declared
from tests.support.fake_http import FakeHTTPServer
from tests.support.fake_ollama import SCENARIOS
from tests.support.instrumenting import assert_error_passes_through, instrumented

from genai_cost.instrumentation.ollama import OllamaInstrumentor
from genai_cost.pricing import PricingTable
from genai_cost.semconv import GenAI, Ours, Provider

MODEL = "llama3.2"
EMBED_MODEL = "all-minilm"
MESSAGES = [{"role": "user", "content": "Hello"}]
OPERATIONS = {"chat": "chat", "generate": "text_completion", "embed": "embeddings"}


def _arguments(method: str, stream: bool) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Positional model and input, as the SDK's own examples call it."""
    if method == "embed":
        return (EMBED_MODEL, ["hello", "world"]), {}
    payload = MESSAGES if method == "chat" else "Why is the sky blue?"
    return (MODEL, payload), {"stream": stream, "options": {"temperature": 0.2, "num_predict": 300}}


def _call(origin: str, method: str, *, stream: bool = False, is_async: bool, scenario: str = "default") -> Any:
    args, kwargs = _arguments(method, stream)
    headers = {"x-fake-scenario": scenario}
    if not is_async:
        with ollama.Client(host=origin, headers=headers) as client:
            result = getattr(client, method)(*args, **kwargs)
            return list(result) if stream else result

    async def main() -> Any:
        async with ollama.AsyncClient(host=origin, headers=headers) as client:
            result = await getattr(client, method)(*args, **kwargs)
            return [chunk async for chunk in result] if stream else result

    return asyncio.run(main())


def _instrumented(tracer_provider: TracerProvider, meter_provider: MeterProvider, pricing: Any = None) -> Any:
    return instrumented(
        OllamaInstrumentor(),
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        pricing=pricing or PricingTable.default(),
    )


def _assert_local(attributes: Any, method: str) -> None:
    raw = SCENARIOS["default"]
    assert attributes[GenAI.PROVIDER_NAME] == Provider.OLLAMA
    assert attributes[GenAI.OPERATION_NAME] == OPERATIONS[method]
    assert attributes[GenAI.REQUEST_MODEL] == attributes[GenAI.RESPONSE_MODEL]
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == raw.prompt_eval_count
    if method == "embed":
        assert GenAI.USAGE_OUTPUT_TOKENS not in attributes
    else:
        assert attributes[GenAI.USAGE_OUTPUT_TOKENS] == raw.eval_count
        assert attributes[GenAI.RESPONSE_FINISH_REASONS] == ("stop",)
    assert attributes[Ours.PRICING_STATUS] == "priced"
    assert attributes[Ours.PRICING_ENTRY] == "ollama:local"
    assert attributes[GenAI.USAGE_COST_AMOUNT] == 0.0


ASYNC = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
SHAPES = pytest.mark.parametrize(
    ("method", "stream"),
    [("chat", False), ("chat", True), ("generate", False), ("generate", True), ("embed", False)],
    ids=["chat", "chat-stream", "generate", "generate-stream", "embed"],
)


@ASYNC
@SHAPES
def test_counts_and_local_price(
    fake_ollama: FakeHTTPServer,
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    span_exporter: InMemorySpanExporter,
    method: str,
    stream: bool,
    is_async: bool,
) -> None:
    with _instrumented(tracer_provider, meter_provider):
        _call(fake_ollama.origin, method, stream=stream, is_async=is_async)

    (span,) = span_exporter.get_finished_spans()
    attributes = span.attributes or {}
    _assert_local(attributes, method)
    assert attributes[GenAI.SERVER_ADDRESS] == "127.0.0.1"
    if method != "embed":
        assert attributes[GenAI.REQUEST_TEMPERATURE] == 0.2
        assert attributes[GenAI.REQUEST_MAX_TOKENS] == 300


def test_module_level_functions_are_traced_and_restored(
    fake_ollama: FakeHTTPServer,
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    span_exporter: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``ollama.chat`` & co. are bound methods of a default client made when ``ollama`` was
    imported (here, before instrumenting)."""
    monkeypatch.setattr(ollama._client._client, "base_url", fake_ollama.origin)
    with _instrumented(tracer_provider, meter_provider):
        ollama.chat(MODEL, MESSAGES)
        list(ollama.generate(MODEL, "Why is the sky blue?", stream=True))
        ollama.embed(EMBED_MODEL, "hello")
    for span, method in zip(span_exporter.get_finished_spans(), ("chat", "generate", "embed"), strict=True):
        _assert_local(span.attributes or {}, method)

    ollama.chat(MODEL, MESSAGES)
    assert len(span_exporter.get_finished_spans()) == 3
    assert ollama.chat.__func__ is ollama.Client.chat  # a plain bound method again


def test_the_users_table_prices_an_ollama_model(
    fake_ollama: FakeHTTPServer,
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    span_exporter: InMemorySpanExporter,
) -> None:
    """What a GPU hour costs, spread per token by the user: their entry wins over ``ollama:local``."""
    entry = {"id": "mine:llama3.2", "provider": "ollama", "match": {"exact": MODEL}, "input": "0.05", "output": "0.2"}
    with _instrumented(tracer_provider, meter_provider, PricingTable.load(entries=[entry])):
        _call(fake_ollama.origin, "chat", is_async=False)

    (span,) = span_exporter.get_finished_spans()
    attributes = span.attributes or {}
    raw = SCENARIOS["default"]
    expected = (raw.prompt_eval_count * Decimal("0.05") + raw.eval_count * Decimal("0.2")) / 1_000_000
    assert attributes[Ours.PRICING_ENTRY] == "mine:llama3.2"
    assert attributes[GenAI.USAGE_COST_AMOUNT] == float(expected)


def test_a_cloud_model_is_not_priced_as_local(
    fake_ollama: FakeHTTPServer,
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    span_exporter: InMemorySpanExporter,
) -> None:
    """Ollama's ``-cloud`` models run (and are billed) at ollama.com: no price of 0 for them."""
    with _instrumented(tracer_provider, meter_provider), ollama.Client(host=fake_ollama.origin) as client:
        client.chat("gpt-oss:120b-cloud", MESSAGES)

    (span,) = span_exporter.get_finished_spans()
    attributes = span.attributes or {}
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == SCENARIOS["default"].prompt_eval_count
    assert attributes[Ours.PRICING_STATUS] == "unknown_model"
    assert GenAI.USAGE_COST_AMOUNT not in attributes


@ASYNC
@pytest.mark.parametrize(
    ("method", "stream", "scenario"),
    [("chat", False, "not_found"), ("chat", True, "error_500"), ("generate", True, "reset_mid_stream"),
     ("embed", False, "not_found")],
)  # fmt: skip
def test_error_reaches_app_unchanged_and_span_is_error(
    fake_ollama: FakeHTTPServer,
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
    method: str,
    stream: bool,
    scenario: str,
    is_async: bool,
) -> None:
    assert_error_passes_through(
        partial(_call, fake_ollama.origin, method, stream=stream, is_async=is_async, scenario=scenario),
        partial(_instrumented, tracer_provider, meter_provider),
        span_exporter,
        metric_reader,
        lambda error: (str(error), getattr(error, "status_code", None)),
    )


def test_uninstrument_restores_the_sdk_methods(
    fake_ollama: FakeHTTPServer, tracer_provider: TracerProvider, meter_provider: MeterProvider,
    span_exporter: InMemorySpanExporter,
) -> None:  # fmt: skip
    before = {(cls, name): cls.__dict__[name] for cls in (ollama.Client, ollama.AsyncClient)
              for name in ("chat", "generate", "embed")}  # fmt: skip
    with _instrumented(tracer_provider, meter_provider):
        assert all(cls.__dict__[name] is not original for (cls, name), original in before.items())
    assert all(cls.__dict__[name] is original for (cls, name), original in before.items())
    _call(fake_ollama.origin, "chat", is_async=False)
    assert span_exporter.get_finished_spans() == ()


def test_entry_point_and_extras_are_declared() -> None:
    assert_declared("genai_cost_ollama", OllamaInstrumentor, "ollama")
