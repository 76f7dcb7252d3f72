"""The real ``groq`` SDK over HTTP against a fake speaking Groq's wire format (recorded shapes)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from typing import Any

import genai_prices
import groq
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.support.fake_groq import CHAT, COMPOUND, COMPOUND_STREAM_CHUNKS, EMBEDDING, STREAM_CHUNKS, fake_groq_server
from tests.support.fake_http import FakeHTTPServer
from tests.support.instrumenting import assert_failed, instrumented
from tests.support.price_oracle import oracle_cost
from tests.support.telemetry import metric_points

import genai_cost
from genai_cost import CostSpanProcessor
from genai_cost.instrumentation.groq import GroqInstrumentor
from genai_cost.pricing import PricingTable
from genai_cost.semconv import GenAI, Metrics, Ours, PricingStatus

MESSAGES = [{"role": "user", "content": "Say hello in Spanish"}]
STREAM_USAGE = STREAM_CHUNKS[-1]["x_groq"]["usage"]


@pytest.fixture(scope="module")
def fake_groq() -> Iterator[FakeHTTPServer]:
    with fake_groq_server() as server:
        yield server


@pytest.fixture
def traced(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> Iterator[GroqInstrumentor]:
    options = {"tracer_provider": tracer_provider, "meter_provider": meter_provider, "pricing": PricingTable.default()}
    with instrumented(GroqInstrumentor(), **options) as instrumentor:
        yield instrumentor


def _chat(
    origin: str, *, is_async: bool, stream: bool = False, raw: bool = False, model: str | None = None, **options: Any
) -> Any:
    """One chat call through a fresh real client; a stream is read to its end."""
    model = model or (STREAM_CHUNKS[0]["model"] if stream else CHAT["model"])
    kwargs = {"model": model, "messages": MESSAGES, "stream": stream, **options}
    if not is_async:
        with groq.Groq(api_key="gsk-test", base_url=origin, max_retries=0) as client:
            create = client.chat.completions.with_raw_response.create if raw else client.chat.completions.create
            result = create(**kwargs)
            result = result.parse() if raw else result
            return [chunk.model_dump() for chunk in result] if stream else result.model_dump()

    async def run() -> Any:
        async with groq.AsyncGroq(api_key="gsk-test", base_url=origin, max_retries=0) as client:
            result = await client.chat.completions.create(**kwargs)
            return [chunk.model_dump() async for chunk in result] if stream else result.model_dump()

    return asyncio.run(run())


def _assert_priced(span: Any, model: str, usage: dict[str, Any]) -> None:
    attributes = span.attributes
    assert attributes[GenAI.PROVIDER_NAME] == "groq"
    assert attributes[GenAI.RESPONSE_MODEL] == model
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == usage["prompt_tokens"]
    assert attributes[GenAI.USAGE_OUTPUT_TOKENS] == usage["completion_tokens"]
    expected = oracle_cost(model, "groq", input_tokens=usage["prompt_tokens"], output_tokens=usage["completion_tokens"])
    assert attributes[GenAI.USAGE_COST_AMOUNT] == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_chat_completion_is_one_priced_span(
    fake_groq: FakeHTTPServer, traced: GroqInstrumentor, span_exporter: InMemorySpanExporter, is_async: bool
) -> None:
    result = _chat(fake_groq.origin, is_async=is_async)

    assert result["usage"]["prompt_tokens"] == CHAT["usage"]["prompt_tokens"]
    (span,) = span_exporter.get_finished_spans()
    assert span.name == f"chat {CHAT['model']}"
    assert span.attributes[GenAI.SERVER_ADDRESS] == "127.0.0.1"
    _assert_priced(span, CHAT["model"], CHAT["usage"])


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_stream_is_priced_from_x_groq_usage_and_request_is_unchanged(
    fake_groq: FakeHTTPServer, traced: GroqInstrumentor, span_exporter: InMemorySpanExporter, is_async: bool
) -> None:
    sent_before = len(fake_groq.requests)
    chunks = _chat(fake_groq.origin, is_async=is_async, stream=True)

    assert len(chunks) == len(STREAM_CHUNKS)  # every chunk reaches the app
    assert "stream_options" not in fake_groq.requests[sent_before].json()  # groq's create() has no such option
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes[GenAI.RESPONSE_FINISH_REASONS] == ("stop",)
    _assert_priced(span, STREAM_CHUNKS[0]["model"], STREAM_USAGE)


def test_raw_response_stream_is_priced(
    fake_groq: FakeHTTPServer, traced: GroqInstrumentor, span_exporter: InMemorySpanExporter
) -> None:
    _chat(fake_groq.origin, is_async=False, stream=True, raw=True)

    (span,) = span_exporter.get_finished_spans()
    _assert_priced(span, STREAM_CHUNKS[0]["model"], STREAM_USAGE)


def test_embeddings_count_input_tokens(
    fake_groq: FakeHTTPServer, traced: GroqInstrumentor, span_exporter: InMemorySpanExporter
) -> None:
    with groq.Groq(api_key="gsk-test", base_url=fake_groq.origin, max_retries=0) as client:
        client.embeddings.create(model=EMBEDDING["model"], input="hello")

    (span,) = span_exporter.get_finished_spans()
    assert span.attributes[GenAI.OPERATION_NAME] == "embeddings"
    assert span.attributes[GenAI.PROVIDER_NAME] == "groq"
    assert span.attributes[GenAI.USAGE_INPUT_TOKENS] == EMBEDDING["usage"]["prompt_tokens"]


def _failure(origin: str, *, is_async: bool, **options: Any) -> tuple[type[BaseException], str]:
    with pytest.raises(Exception) as caught:
        _chat(origin, is_async=is_async, **options)
    return type(caught.value), str(caught.value)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("scenario", ["error_429", "reset_mid_stream"])
def test_errors_reach_the_app_unchanged(
    fake_groq: FakeHTTPServer,
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
    scenario: str,
    is_async: bool,
) -> None:
    options = {"stream": scenario == "reset_mid_stream", "extra_headers": {"x-fake-scenario": scenario}}
    plain = _failure(fake_groq.origin, is_async=is_async, **options)
    with instrumented(GroqInstrumentor(), tracer_provider=tracer_provider, meter_provider=meter_provider):
        traced = _failure(fake_groq.origin, is_async=is_async, **options)

    assert traced == plain
    (span,) = span_exporter.get_finished_spans()
    assert_failed(span, traced[0], metric_reader)


def test_uninstrument_restores_the_sdk(
    fake_groq: FakeHTTPServer, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    originals = (groq.resources.chat.completions.Completions.create, groq.resources.embeddings.AsyncEmbeddings.create)
    with instrumented(GroqInstrumentor(), tracer_provider=tracer_provider):
        _chat(fake_groq.origin, is_async=False)
    _chat(fake_groq.origin, is_async=False)

    assert (
        groq.resources.chat.completions.Completions.create,
        groq.resources.embeddings.AsyncEmbeddings.create,
    ) == originals
    assert len(span_exporter.get_finished_spans()) == 1


def test_entry_point_and_extra_name_this_instrumentor() -> None:
    # Read from pyproject.toml: the shared environment's install of genai-cost is not this checkout.
    from pathlib import Path

    from opentelemetry.util._importlib_metadata import EntryPoint

    tomllib = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")
    project = tomllib.loads((Path(__file__).parents[3] / "pyproject.toml").read_text())["project"]
    value = project["entry-points"]["opentelemetry_instrumentor"]["genai_cost_groq"]
    assert (
        EntryPoint(name="genai_cost_groq", value=value, group="opentelemetry_instrumentor").load() is GroqInstrumentor
    )
    assert tuple(project["optional-dependencies"]["groq"]) == GroqInstrumentor().instrumentation_dependencies()
    assert set(project["optional-dependencies"]["groq"]) <= set(project["optional-dependencies"]["instruments-any"])


COMPOUND_PARTS = COMPOUND["usage_breakdown"]["models"]
COMPOUND_CALLS = [
    pytest.param(False, False, False, id="sync"),
    pytest.param(True, False, False, id="async"),
    pytest.param(False, True, False, id="sync-stream"),
    pytest.param(True, True, False, id="async-stream"),
    pytest.param(False, False, True, id="sync-raw"),
    pytest.param(False, True, True, id="sync-raw-stream"),
]


def _part_oracle(part: dict[str, Any]) -> float:
    """genai-prices' own Groq extractor and price for one underlying model's usage."""
    extracted = genai_prices.extract_usage({"model": part["model"], "usage": part["usage"]}, provider_id="groq")
    return float(genai_prices.calc_price(extracted.usage, part["model"], provider_id="groq").total_price)


def _compound_spans(spans: tuple[ReadableSpan, ...]) -> tuple[ReadableSpan, list[ReadableSpan]]:
    (compound,) = [span for span in spans if span.name == "chat groq/compound"]
    return compound, [
        span for span in spans if span.parent is not None and span.parent.span_id == compound.context.span_id
    ]


@pytest.mark.parametrize(("is_async", "stream", "raw"), COMPOUND_CALLS)
def test_compound_call_is_billed_as_its_underlying_models(
    fake_groq: FakeHTTPServer,
    traced: GroqInstrumentor,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
    is_async: bool,
    stream: bool,
    raw: bool,
) -> None:
    """One priced ``chat {model}`` span per model of ``usage_breakdown``, below the compound
    call's span, which keeps the summed tokens and is neither priced nor counted itself."""
    with genai_cost.track_usage() as usage:
        result = _chat(fake_groq.origin, is_async=is_async, stream=stream, raw=raw, model="groq/compound")

    if stream:
        assert len(result) == len(COMPOUND_STREAM_CHUNKS)  # every chunk reaches the app
        assert result[-1]["x_groq"]["usage_breakdown"]["models"][1]["model"] == COMPOUND_PARTS[1]["model"]
    else:
        breakdown = [(m["model"], m["usage"]["prompt_tokens"]) for m in result["usage_breakdown"]["models"]]
        assert breakdown == [(m["model"], m["usage"]["prompt_tokens"]) for m in COMPOUND_PARTS]  # the app's, unchanged
    compound, parts = _compound_spans(span_exporter.get_finished_spans())
    assert len(span_exporter.get_finished_spans()) == 1 + len(COMPOUND_PARTS)
    expected = [_part_oracle(part) for part in COMPOUND_PARTS]
    for span, part, cost in zip(parts, COMPOUND_PARTS, expected, strict=True):
        attributes = span.attributes or {}
        assert span.name == f"chat {part['model']}"
        assert attributes[GenAI.PROVIDER_NAME] == "groq"
        assert attributes[GenAI.USAGE_INPUT_TOKENS] == part["usage"]["prompt_tokens"]
        assert attributes[GenAI.USAGE_OUTPUT_TOKENS] == part["usage"]["completion_tokens"]
        assert attributes[Ours.PRICING_STATUS] == PricingStatus.PRICED
        assert attributes[GenAI.USAGE_COST_AMOUNT] == pytest.approx(cost, rel=1e-12)
    attributes = compound.attributes or {}
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == COMPOUND["usage"]["prompt_tokens"]
    assert attributes[GenAI.USAGE_OUTPUT_TOKENS] == COMPOUND["usage"]["completion_tokens"]
    assert attributes[Ours.BILLED_APART] is True
    assert not {GenAI.USAGE_COST_AMOUNT, Ours.PRICING_STATUS} & set(attributes)
    assert usage.successful_requests == len(COMPOUND_PARTS)
    assert float(usage.total_cost) == pytest.approx(sum(expected), rel=1e-12)
    input_tokens = [
        p for p in metric_points(metric_reader, Metrics.TOKEN_USAGE) if p.attributes[GenAI.TOKEN_TYPE] == "input"
    ]
    assert sum(point.sum for point in input_tokens) == COMPOUND["usage"]["prompt_tokens"]  # counted once


def test_compound_call_rolls_up_its_models_cost(fake_groq: FakeHTTPServer) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(CostSpanProcessor(SimpleSpanProcessor(exporter)))
    options = {"tracer_provider": provider, "meter_provider": MeterProvider(), "pricing": PricingTable.default()}
    with instrumented(GroqInstrumentor(), **options), provider.get_tracer("app").start_as_current_span("app"):
        _chat(fake_groq.origin, is_async=False, model="groq/compound")

    compound, _ = _compound_spans(exporter.get_finished_spans())
    (app,) = [span for span in exporter.get_finished_spans() if span.name == "app"]
    total = sum(_part_oracle(part) for part in COMPOUND_PARTS)
    for span in (compound, app):
        attributes = span.attributes or {}
        assert attributes[Ours.SUBTREE_CALLS] == len(COMPOUND_PARTS)
        assert attributes[Ours.SUBTREE_COST_AMOUNT] == pytest.approx(total, rel=1e-12)
    assert GenAI.USAGE_COST_AMOUNT not in (compound.attributes or {})  # the processor does not price it again
