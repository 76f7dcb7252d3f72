"""Tier 2: the stream proxies on fake streams; the call finishes exactly once whatever happens."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from genai_cost.config import Settings
from genai_cost.costing import Costing
from genai_cost.instrumentation._core import Invocation, Operation, Request, Response, Telemetry, finish_abandoned
from genai_cost.instrumentation._stream import AsyncStreamProxy, SyncStreamProxy
from genai_cost.metrics import Instruments
from genai_cost.pricing import PricingTable
from genai_cost.semconv import GenAI
from genai_cost.usage import Usage

HIDDEN = "hidden"


class Boom(Exception):
    pass


class FakeStream:
    """Iterator + close() + context manager, like an SDK stream; fails at ``fail_at`` if set."""

    response = "the-http-response"

    def __init__(self, chunks: list[str], fail_at: int | None = None) -> None:
        self._chunks = iter(chunks)
        self._fail_at = fail_at
        self._index = 0
        self.closed = 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if self._index == self._fail_at:
            raise Boom("mid-stream")
        self._index += 1
        return next(self._chunks)

    def close(self) -> None:
        self.closed += 1

    def __enter__(self) -> FakeStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FakeAsyncStream(FakeStream):
    def __aiter__(self) -> FakeAsyncStream:
        return self

    async def __anext__(self) -> str:
        try:
            return self.__next__()
        except StopIteration:
            raise StopAsyncIteration from None

    async def close(self) -> None:  # type: ignore[override]
        self.closed += 1

    async def aclose(self) -> None:
        self.closed += 1

    async def __aenter__(self) -> FakeAsyncStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class CountingAccumulator:
    def __init__(self) -> None:
        self.seen: list[str] = []
        self.results = 0

    def add(self, chunk: str) -> bool:
        self.seen.append(chunk)
        return chunk != HIDDEN

    def result(self) -> Response:
        self.results += 1
        return Response(Usage(input_tokens=len(self.seen)))


@pytest.fixture
def telemetry(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> Telemetry:
    instruments = Instruments(meter_provider, model_limit=10)
    pricing = PricingTable.load(include_bundled=False)
    return Telemetry(tracer_provider.get_tracer("test"), instruments, Costing(instruments, pricing), Settings())


def _invocation(telemetry: Telemetry) -> Invocation:
    operation = Operation(lambda *a: Request({}, {}), lambda result: Response())
    request = Request({GenAI.OPERATION_NAME: "chat", GenAI.REQUEST_MODEL: "m"}, {})
    return Invocation(telemetry, operation, request, trackers=())


def _proxy(telemetry: Telemetry, stream: FakeStream) -> tuple[Any, CountingAccumulator]:
    accumulator = CountingAccumulator()
    proxy_type = AsyncStreamProxy if isinstance(stream, FakeAsyncStream) else SyncStreamProxy
    return proxy_type(stream, _invocation(telemetry), accumulator), accumulator


def _finished_once(exporter: InMemorySpanExporter, accumulator: CountingAccumulator | None = None) -> Any:
    gc.collect()
    finish_abandoned()  # what the next call, a flush or the exit does
    spans = exporter.get_finished_spans()
    assert len(spans) == 1
    if accumulator is not None:
        assert accumulator.results == 1
    return spans[0]


def test_exhaustion_finishes_with_every_chunk(telemetry: Telemetry, span_exporter: InMemorySpanExporter) -> None:
    proxy, accumulator = _proxy(telemetry, FakeStream(["a", HIDDEN, "b"]))
    assert list(proxy) == ["a", "b"]  # the accumulator hid one chunk from the app
    proxy.close()
    span = _finished_once(span_exporter, accumulator)
    attrs = dict(span.attributes or {})
    assert attrs[GenAI.USAGE_INPUT_TOKENS] == 3
    assert attrs[GenAI.RESPONSE_TIME_TO_FIRST_CHUNK] > 0


def test_early_close_and_double_close(telemetry: Telemetry, span_exporter: InMemorySpanExporter) -> None:
    stream = FakeStream(["a", "b", "c"])
    proxy, accumulator = _proxy(telemetry, stream)
    assert next(proxy) == "a"
    proxy.close()
    proxy.close()
    assert stream.closed == 2  # the SDK's close() still runs every time
    del proxy
    assert dict(_finished_once(span_exporter, accumulator).attributes or {})[GenAI.USAGE_INPUT_TOKENS] == 1


def test_error_mid_stream_fails_once_and_propagates(telemetry: Telemetry, span_exporter: InMemorySpanExporter) -> None:
    proxy, accumulator = _proxy(telemetry, FakeStream(["a", "b", "c"], fail_at=1))
    with pytest.raises(Boom, match="mid-stream"):
        list(proxy)
    proxy.close()
    del proxy
    span = _finished_once(span_exporter)
    assert accumulator.results == 0
    assert span.status.status_code is StatusCode.ERROR
    assert dict(span.attributes or {})[GenAI.ERROR_TYPE].endswith("Boom")


def test_with_returns_the_proxy_and_exit_finishes(telemetry: Telemetry, span_exporter: InMemorySpanExporter) -> None:
    stream = FakeStream(["a", "b"])
    proxy, accumulator = _proxy(telemetry, stream)
    with proxy as entered:
        assert entered is proxy
        assert next(entered) == "a"
    assert stream.closed == 1
    _finished_once(span_exporter, accumulator)


def test_abandoned_stream_finishes_on_gc(telemetry: Telemetry, span_exporter: InMemorySpanExporter) -> None:
    proxy, accumulator = _proxy(telemetry, FakeStream(["a", "b"]))
    next(proxy)
    del proxy
    _finished_once(span_exporter, accumulator)


def test_never_iterated_has_no_first_chunk_time(telemetry: Telemetry, span_exporter: InMemorySpanExporter) -> None:
    proxy, _ = _proxy(telemetry, FakeStream(["a"]))
    del proxy
    assert GenAI.RESPONSE_TIME_TO_FIRST_CHUNK not in (_finished_once(span_exporter).attributes or {})


def test_proxy_keeps_the_sdk_object_visible(telemetry: Telemetry) -> None:
    stream = FakeStream(["a"])
    proxy, _ = _proxy(telemetry, stream)
    assert isinstance(proxy, FakeStream)
    assert proxy.response == "the-http-response"
    assert proxy.__wrapped__ is stream
    proxy.close()


def test_raising_accumulator_never_breaks_the_stream(telemetry: Telemetry, span_exporter: InMemorySpanExporter) -> None:
    class Broken(CountingAccumulator):
        def add(self, chunk: str) -> bool:
            raise RuntimeError("bug")

        def result(self) -> Response:
            raise RuntimeError("bug")

    proxy = SyncStreamProxy(FakeStream(["a", "b"]), _invocation(telemetry), Broken())
    assert list(proxy) == ["a", "b"]
    _finished_once(span_exporter)


def test_async_exhaustion_break_close_and_context(telemetry: Telemetry, span_exporter: InMemorySpanExporter) -> None:
    async def main() -> None:
        whole, whole_acc = _proxy(telemetry, FakeAsyncStream(["a", HIDDEN, "b"]))
        assert [chunk async for chunk in whole] == ["a", "b"]
        await whole.aclose()

        closed_stream = FakeAsyncStream(["a", "b"])
        closed, closed_acc = _proxy(telemetry, closed_stream)
        async for _chunk in closed:
            break
        await closed.close()
        await closed.close()
        assert closed_stream.closed == 2

        async with _proxy(telemetry, FakeAsyncStream(["a"]))[0] as entered:
            assert isinstance(entered, AsyncStreamProxy)
            assert [chunk async for chunk in entered] == ["a"]

        abandoned, _ = _proxy(telemetry, FakeAsyncStream(["a", "b"]))
        await abandoned.__anext__()
        del abandoned
        assert (whole_acc.results, closed_acc.results) == (1, 1)

    asyncio.run(main())
    gc.collect()
    finish_abandoned()
    assert len(span_exporter.get_finished_spans()) == 4


def test_async_error_mid_stream(telemetry: Telemetry, span_exporter: InMemorySpanExporter) -> None:
    async def main() -> None:
        proxy, _ = _proxy(telemetry, FakeAsyncStream(["a", "b"], fail_at=1))
        with pytest.raises(Boom):
            async for _chunk in proxy:
                pass
        await proxy.close()

    asyncio.run(main())
    span = _finished_once(span_exporter)
    assert span.status.status_code is StatusCode.ERROR
