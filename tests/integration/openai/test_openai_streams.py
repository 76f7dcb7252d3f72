"""Streams end their span exactly once however the app stops; usage injection is invisible."""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Callable
from typing import Any

import openai
import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from tests.integration.openai.helpers import API_KEY, call, only_span, scenario
from tests.support.telemetry import metric_points

from genai_cost.config import ENV
from genai_cost.demo.fake_openai import SCENARIOS, FakeOpenAIServer
from genai_cost.instrumentation._core import finish_abandoned
from genai_cost.instrumentation.openai import OpenAIInstrumentor
from genai_cost.semconv import GenAI, Metrics, Ours, PricingStatus

MESSAGES = [{"role": "user", "content": "hi"}]


def _stream(sdk: Any, **options: Any) -> Any:
    options.setdefault("stream_options", {"include_usage": True})
    return sdk.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, extra_headers=scenario("cached"), **options
    )


def test_early_break_then_gc_ends_span_once(
    instrumented: OpenAIInstrumentor, span_exporter: InMemorySpanExporter, client: openai.OpenAI
) -> None:
    stream = _stream(client)
    for _chunk in stream:
        break
    assert span_exporter.get_finished_spans() == ()
    del stream
    gc.collect()
    finish_abandoned()  # what the next call, a flush or the exit does
    attrs = dict(only_span(span_exporter).attributes or {})
    assert attrs[Ours.PRICING_STATUS] == PricingStatus.NO_USAGE  # stopped before the usage chunk
    assert GenAI.RESPONSE_TIME_TO_FIRST_CHUNK in attrs
    assert GenAI.RESPONSE_ID in attrs


def test_next_then_for_loops_read_every_chunk_once_in_order(
    instrumented: OpenAIInstrumentor, span_exporter: InMemorySpanExporter, client: openai.OpenAI
) -> None:
    whole = _dumps(list(_stream(client)))
    stream = _stream(client)
    mixed = [next(stream)]
    for chunk in stream:  # a loop over the SDK's own iterator, after a chunk read by __next__
        mixed.append(chunk)
        if len(mixed) == 3:
            break
    mixed.append(next(stream))
    mixed.extend(stream)
    assert _dumps(mixed) == whole
    plain, interleaved = span_exporter.get_finished_spans()
    for span in (plain, interleaved):
        assert span.attributes[Ours.PRICING_STATUS] == PricingStatus.PRICED
    assert interleaved.attributes[GenAI.USAGE_COST_AMOUNT] == plain.attributes[GenAI.USAGE_COST_AMOUNT]


def test_close_ends_span_once_and_double_close_is_harmless(
    instrumented: OpenAIInstrumentor, span_exporter: InMemorySpanExporter, client: openai.OpenAI
) -> None:
    stream = _stream(client)
    next(iter(stream))
    next(iter(stream))
    stream.close()
    assert len(span_exporter.get_finished_spans()) == 1
    stream.close()
    del stream
    gc.collect()
    span = only_span(span_exporter)
    assert span.status.status_code is StatusCode.UNSET


def test_with_block_ends_span_and_returns_the_proxy(
    instrumented: OpenAIInstrumentor, span_exporter: InMemorySpanExporter, client: openai.OpenAI
) -> None:
    with _stream(client) as stream:
        assert isinstance(stream, openai.Stream)
        chunks = list(stream)
    attrs = dict(only_span(span_exporter).attributes or {})
    assert chunks[-1].usage is not None
    assert attrs[GenAI.USAGE_INPUT_TOKENS] == SCENARIOS["cached"].prompt_tokens


def test_with_block_left_early(
    instrumented: OpenAIInstrumentor, span_exporter: InMemorySpanExporter, client: openai.OpenAI
) -> None:
    with _stream(client) as stream:
        next(iter(stream))
    span = only_span(span_exporter)
    assert span.status.status_code is StatusCode.UNSET
    assert (span.attributes or {})[Ours.PRICING_STATUS] == PricingStatus.NO_USAGE


def test_app_error_inside_with_block_is_recorded_and_propagates(
    instrumented: OpenAIInstrumentor, span_exporter: InMemorySpanExporter, client: openai.OpenAI
) -> None:
    class AppError(Exception):
        pass

    with pytest.raises(AppError), _stream(client) as stream:
        next(iter(stream))
        raise AppError("the app gave up")
    span = only_span(span_exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})[GenAI.ERROR_TYPE].endswith("AppError")


def test_abandoned_stream_never_iterated_ends_on_gc(
    instrumented: OpenAIInstrumentor, span_exporter: InMemorySpanExporter, client: openai.OpenAI
) -> None:
    _stream(client)  # dropped at once
    gc.collect()
    finish_abandoned()  # what the next call, a flush or the exit does
    span = only_span(span_exporter)
    assert GenAI.RESPONSE_TIME_TO_FIRST_CHUNK not in (span.attributes or {})


def test_async_stream_break_close_and_context(
    instrumented: OpenAIInstrumentor,
    span_exporter: InMemorySpanExporter,
    fake_openai: FakeOpenAIServer,
) -> None:
    async def main() -> None:
        async with openai.AsyncOpenAI(base_url=fake_openai.base_url, api_key=API_KEY) as sdk:
            broken = await _stream(sdk)
            async for _chunk in broken:
                break
            await broken.close()
            await broken.close()
            async with await _stream(sdk) as whole:
                assert isinstance(whole, openai.AsyncStream)
                assert [chunk async for chunk in whole][-1].usage is not None
            abandoned = await _stream(sdk)
            async for _chunk in abandoned:
                break
            del abandoned
            gc.collect()

    asyncio.run(main())
    finish_abandoned()
    spans = span_exporter.get_finished_spans()
    statuses = [dict(span.attributes or {})[Ours.PRICING_STATUS] for span in spans]
    assert statuses == [PricingStatus.NO_USAGE, PricingStatus.PRICED, PricingStatus.NO_USAGE]


def test_stream_records_time_to_first_chunk_metric(
    instrumented: OpenAIInstrumentor,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
    client: openai.OpenAI,
) -> None:
    list(_stream(client))
    attrs = dict(only_span(span_exporter).attributes or {})
    (point,) = metric_points(metric_reader, Metrics.TIME_TO_FIRST_CHUNK)
    assert point.count == 1
    assert point.sum == attrs[GenAI.RESPONSE_TIME_TO_FIRST_CHUNK]


def _dumps(chunks: list[Any]) -> list[dict[str, Any]]:
    """What the app saw, minus the per-call id and timestamp."""
    return [chunk.model_dump(exclude={"id", "created"}) for chunk in chunks]


def _last_request(server: FakeOpenAIServer) -> dict[str, Any]:
    return dict(json.loads(server.requests[-1]["body"]))


STREAMS = [
    pytest.param(
        lambda sdk, **o: sdk.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True, **o),
        id="chat",
    ),
    pytest.param(
        lambda sdk, **o: sdk.completions.create(model="gpt-3.5-turbo-instruct", prompt="hi", stream=True, **o),
        id="legacy-completions",
    ),
]


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("create", STREAMS)
def test_injected_include_usage_is_invisible_to_the_app(
    configure: Callable[..., None],
    instrument: Callable[..., OpenAIInstrumentor],
    span_exporter: InMemorySpanExporter,
    fake_openai: FakeOpenAIServer,
    create: Callable[..., Any],
    is_async: bool,
) -> None:
    def run() -> list[Any]:
        chunks = call(fake_openai.base_url, create, is_async=is_async, consume=True)
        return list(chunks)

    plain = run()
    assert "stream_options" not in _last_request(fake_openai)
    configure(**{ENV.OPENAI_STREAM_USAGE: "true"})
    instrument()
    seen = run()
    assert _last_request(fake_openai)["stream_options"] == {"include_usage": True}
    assert _dumps(seen) == _dumps(plain)
    assert all(chunk.usage is None for chunk in seen)
    attrs = dict(only_span(span_exporter).attributes or {})
    assert attrs[GenAI.USAGE_INPUT_TOKENS] == SCENARIOS["default"].prompt_tokens
    assert attrs[GenAI.USAGE_OUTPUT_TOKENS] == SCENARIOS["default"].completion_tokens
    assert attrs[Ours.PRICING_STATUS] == PricingStatus.PRICED


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"include_usage": True}, id="app-asked"),
        pytest.param({"include_usage": False}, id="app-declined"),
    ],
)
def test_injection_respects_the_apps_own_stream_options(
    configure: Callable[..., None],
    instrument: Callable[..., OpenAIInstrumentor],
    span_exporter: InMemorySpanExporter,
    fake_openai: FakeOpenAIServer,
    options: dict[str, Any],
) -> None:
    def run() -> list[Any]:
        return list(call(fake_openai.base_url, lambda sdk: _stream(sdk, stream_options=options),
                         is_async=False, consume=True))  # fmt: skip

    plain = run()
    configure(**{ENV.OPENAI_STREAM_USAGE: "true"})
    instrument()
    seen = run()
    assert _last_request(fake_openai)["stream_options"] == options
    assert _dumps(seen) == _dumps(plain)
    expected = PricingStatus.PRICED if options["include_usage"] else PricingStatus.NO_USAGE
    assert (only_span(span_exporter).attributes or {})[Ours.PRICING_STATUS] == expected


def test_no_injection_by_default(
    instrumented: OpenAIInstrumentor, fake_openai: FakeOpenAIServer, client: openai.OpenAI
) -> None:
    list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))  # type: ignore[call-overload]
    assert "stream_options" not in _last_request(fake_openai)
