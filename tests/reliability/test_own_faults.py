"""Our own faults: a pricing table that raises, broken tracer/meter providers, bad exporters.

Whatever breaks on the telemetry side, the app's calls return what they return uninstrumented.
Failures are injected through public seams only: the ``pricing=``, ``tracer_provider=`` and
``meter_provider=`` arguments of ``instrument()`` and the span processors/exporters.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.metrics import NoOpMeter
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import NoOpTracer
from tests.reliability.support import wire
from tests.reliability.support.checks import assert_valid_attributes
from tests.reliability.support.fault_server import FaultServer
from tests.reliability.support.harness import Outcome, Telemetry, client, outcome, pricing_table, stated_cost

from genai_cost.instrumentation.openai import OpenAIInstrumentor
from genai_cost.pricing import PriceEntry, PricingTable
from genai_cost.semconv import GenAI, Metrics, Ours, PricingStatus
from genai_cost.tracking import track_usage

CALLS = 20


def _calls(faults: FaultServer, *, stream: bool = False) -> Callable[[], Any]:
    sdk = client(faults.base_url)
    script = wire.sse_reply(wire.chat_chunks()) if stream else wire.json_reply(wire.chat_completion())
    headers = faults.headers(script)
    return lambda: sdk.chat.completions.create(model="gpt-4o-mini", messages=[], stream=stream, extra_headers=headers)


# --- pricing that raises --------------------------------------------------------------------


class MatchRaises(PricingTable):
    def match(self, model: str, provider: str | None = None, at: datetime | None = None) -> PriceEntry | None:
        raise RuntimeError("pricing table bug")


class CalculationRaises(PricingTable):
    """Matches an "entry" the calculation cannot use."""

    def match(self, model: str, provider: str | None = None, at: datetime | None = None) -> PriceEntry | None:
        return object()  # type: ignore[return-value]


@pytest.mark.parametrize("table_class", [MatchRaises, CalculationRaises])
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_pricing_that_raises_leaves_the_call_and_the_span_intact(
    telemetry: Telemetry, faults: FaultServer, table_class: type[PricingTable], stream: bool
) -> None:
    call = _calls(faults, stream=stream)
    plain = outcome(call)
    broken = table_class([pricing_table().entries])
    with track_usage() as totals, telemetry.instrumented(pricing=broken):
        traced = [outcome(call) for _ in range(3)]
    assert traced == [plain] * 3

    spans = telemetry.finished()
    assert len(spans) == 3
    for span in spans:
        assert span.status.is_unset
        assert span.attributes[Ours.PRICING_STATUS] == PricingStatus.ERROR
        assert span.attributes[GenAI.USAGE_INPUT_TOKENS] == wire.USAGE["prompt_tokens"]
        assert GenAI.USAGE_COST_AMOUNT not in span.attributes
        assert_valid_attributes(span)
    (unpriced,) = telemetry.points(Metrics.UNPRICED_CALLS)
    assert (unpriced.value, unpriced.attributes[Ours.UNPRICED_REASON]) == (3, PricingStatus.ERROR)
    assert (totals.successful_requests, totals.unpriced_requests) == (3, 3)
    assert totals.prompt_tokens == 3 * wire.USAGE["prompt_tokens"]
    failures = [line for line in telemetry.archive.logs if "pricing failed" in line]
    assert failures  # logged (the traceback once per table, then at debug level)


# --- tracer and meter providers that raise ----------------------------------------------------


class _Raising:
    """Any method call raises: a stand-in for a broken SDK object."""

    def __getattr__(self, name: str) -> Any:
        def broken(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError(f"broken telemetry: {name}")

        return broken


class RaisingTracer(NoOpTracer):
    def start_span(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("broken tracer")


class RaisingTracerProvider(TracerProvider):
    def get_tracer(self, *args: Any, **kwargs: Any) -> Any:
        return RaisingTracer()


class RaisingMeter(NoOpMeter):
    def create_histogram(self, *args: Any, **kwargs: Any) -> Any:
        return _Raising()

    def create_counter(self, *args: Any, **kwargs: Any) -> Any:
        return _Raising()


class RaisingMeterProvider:
    def get_meter(self, *args: Any, **kwargs: Any) -> Any:
        return RaisingMeter("broken")


@contextmanager
def instrumented(**providers: Any) -> Iterator[None]:
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(pricing=pricing_table(), **providers)
    try:
        yield
    finally:
        instrumentor.uninstrument()


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_tracer_that_raises_on_every_span(telemetry: Telemetry, faults: FaultServer, stream: bool) -> None:
    call = _calls(faults, stream=stream)
    plain = outcome(call)
    with instrumented(tracer_provider=RaisingTracerProvider(), meter_provider=telemetry.meter_provider):
        traced = [outcome(call) for _ in range(3)]
    assert traced == [plain] * 3


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_meter_whose_instruments_raise(telemetry: Telemetry, faults: FaultServer, stream: bool) -> None:
    call = _calls(faults, stream=stream)
    plain = outcome(call)
    with (
        track_usage() as totals,
        instrumented(tracer_provider=telemetry.tracer_provider, meter_provider=RaisingMeterProvider()),
    ):
        traced = [outcome(call) for _ in range(3)]
    assert traced == [plain] * 3
    spans = telemetry.finished()
    assert len(spans) == 3  # metrics fail after the span has ended: spans are complete
    for span in spans:
        assert span.attributes[Ours.PRICING_STATUS] == PricingStatus.PRICED
    # track_usage (and so budgets) still counts every call.
    assert totals.successful_requests == 3
    usage = wire.USAGE
    unit = stated_cost(
        input_tokens=usage["prompt_tokens"],
        cached=usage["prompt_tokens_details"]["cached_tokens"],
        output_tokens=usage["completion_tokens"],
    )
    assert totals.total_cost == 3 * unit


# --- exporters that raise, hang, or cannot connect -----------------------------------------


class RaisingExporter(SpanExporter):
    def __init__(self) -> None:
        self.calls = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.calls += 1
        raise ConnectionError("collector exploded")


class HangingExporter(SpanExporter):
    """Blocks every export until released (a collector that accepts and never answers)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Event()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.entered.set()
        self.release.wait()
        return SpanExportResult.SUCCESS


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_with_processor(
    telemetry: Telemetry, faults: FaultServer, processor: Any, *, stream: bool = False
) -> tuple[Outcome, list[Outcome]]:
    call = _calls(faults, stream=stream)
    plain = outcome(call)
    provider = TracerProvider()
    provider.add_span_processor(processor)
    with instrumented(tracer_provider=provider, meter_provider=telemetry.meter_provider):
        traced = [outcome(call) for _ in range(CALLS)]
    return plain, traced


@pytest.mark.parametrize("processor_class", [SimpleSpanProcessor, BatchSpanProcessor])
def test_exporter_that_raises(telemetry: Telemetry, faults: FaultServer, processor_class: type) -> None:
    exporter = RaisingExporter()
    processor = processor_class(exporter)
    plain, traced = _run_with_processor(telemetry, faults, processor, stream=True)
    processor.shutdown()
    assert traced == [plain] * CALLS
    assert exporter.calls >= 1
    (duration,) = telemetry.points(Metrics.OPERATION_DURATION)
    assert duration.count == CALLS  # metrics do not depend on the span pipeline


def test_exporter_that_hangs_does_not_block_the_app(telemetry: Telemetry, faults: FaultServer) -> None:
    exporter = HangingExporter()
    processor = BatchSpanProcessor(exporter, max_export_batch_size=1, schedule_delay_millis=1)
    try:
        plain, traced = _run_with_processor(telemetry, faults, processor)
        assert exporter.entered.wait(timeout=10)  # an export is stuck while the app keeps going
        assert not exporter.release.is_set()
    finally:
        exporter.release.set()
        processor.shutdown()
    assert traced == [plain] * CALLS


def test_unreachable_otlp_collector(telemetry: Telemetry, faults: FaultServer) -> None:
    exporter = OTLPSpanExporter(endpoint=f"http://127.0.0.1:{_closed_port()}/v1/traces", timeout=0.5)
    processor = BatchSpanProcessor(exporter, schedule_delay_millis=1)
    plain, traced = _run_with_processor(telemetry, faults, processor)
    processor.shutdown()
    assert traced == [plain] * CALLS
    (duration,) = telemetry.points(Metrics.OPERATION_DURATION)
    assert duration.count == CALLS
