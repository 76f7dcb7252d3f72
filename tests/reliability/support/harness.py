"""Telemetry pipelines, instrumentation on/off, clients carrying the test secrets, and outcomes.

An :class:`Outcome` is everything the app can observe of one call: the returned value (as
data), its class, the stream chunks it received, and the exception it got (class identity,
message, HTTP status and body). A fault test runs the same call uninstrumented and
instrumented and requires equal outcomes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import openai
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, SynchronousMultiSpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.reliability.support.archive import API_KEY, COOKIE, SIGNATURE, Archive
from tests.support.telemetry import metric_points

from genai_cost.instrumentation.openai import OpenAIInstrumentor
from genai_cost.pricing import PricingTable
from genai_cost.processor import CostSpanProcessor

__all__ = [
    "PRICES",
    "Outcome",
    "Telemetry",
    "async_client",
    "async_outcome",
    "client",
    "outcome",
    "pricing_table",
    "same_outcome",
    "stated_cost",
]

PRICES: dict[str, Decimal] = {"input": Decimal("0.15"), "cache_read": Decimal("0.075"), "output": Decimal("0.6")}
"""Stated USD per 1M tokens of the one model the suite prices, ``gpt-4o-mini`` at ``openai``."""


def pricing_table() -> PricingTable:
    entry = {
        "id": "reliability:gpt-4o-mini",
        "provider": "openai",
        "match": {"exact": "gpt-4o-mini"},
        "input": str(PRICES["input"]),
        "output": str(PRICES["output"]),
        "input_breakdown": {"cache_read": str(PRICES["cache_read"])},
    }
    return PricingTable.load(entries=[entry], include_bundled=False)


def stated_cost(*, input_tokens: int, cached: int, output_tokens: int) -> Decimal:
    """Cost from the stated prices: uncached input, cache reads, output (reasoning included)."""
    millionths = (
        (input_tokens - cached) * PRICES["input"] + cached * PRICES["cache_read"] + output_tokens * PRICES["output"]
    )
    return millionths / Decimal(1_000_000)


class Telemetry:
    """One in-memory span and metric pipeline that also feeds the session archive."""

    def __init__(self, archive: Archive, *, cost_processor: bool = False) -> None:
        """With ``cost_processor``, spans reach the exporters through a ``CostSpanProcessor`` (rollup)."""
        self.archive = archive
        self.spans = InMemorySpanExporter()
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        exporting = SynchronousMultiSpanProcessor()
        exporting.add_span_processor(SimpleSpanProcessor(self.spans))
        exporting.add_span_processor(SimpleSpanProcessor(self.archive.exporter()))
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(
            CostSpanProcessor(exporting, pricing_table(), self.meter_provider) if cost_processor else exporting
        )

    def __repr__(self) -> str:
        return f"Telemetry({len(self.finished())} spans)"

    def finished(self) -> tuple[ReadableSpan, ...]:
        return self.spans.get_finished_spans()

    def only_span(self) -> ReadableSpan:
        spans = self.finished()
        assert len(spans) == 1, [span.name for span in spans]
        return spans[0]

    def points(self, name: str) -> list[Any]:
        return metric_points(self.reader, name)

    def collect(self) -> None:
        """Hand the metrics recorded so far to the archive."""
        self.archive.add_metrics(self.reader.get_metrics_data())

    def clear(self) -> None:
        self.collect()
        self.spans.clear()

    @contextmanager
    def instrumented(
        self, *, pricing: PricingTable | None = None, instrumentor: BaseInstrumentor | None = None
    ) -> Iterator[None]:
        """Instrument (OpenAI by default) into this pipeline for the block, then uninstrument."""
        instrumentor = instrumentor or OpenAIInstrumentor()
        instrumentor.instrument(
            tracer_provider=self.tracer_provider,
            meter_provider=self.meter_provider,
            pricing=pricing if pricing is not None else pricing_table(),
        )
        try:
            yield
        finally:
            instrumentor.uninstrument()


def _client_options(base_url: str, options: dict[str, Any]) -> dict[str, Any]:
    return {
        "base_url": base_url,
        "api_key": API_KEY,
        "max_retries": 0,
        "default_headers": {"Cookie": COOKIE},
        "default_query": {"sig": SIGNATURE},
        **options,
    }


def client(base_url: str, **options: Any) -> openai.OpenAI:
    """A real OpenAI client that sends every test secret (key, cookie, signed query)."""
    return openai.OpenAI(**_client_options(base_url, options))


def async_client(base_url: str, **options: Any) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(**_client_options(base_url, options))


def _data(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    return dump(mode="json", warnings=False) if callable(dump) else value


@dataclass
class Outcome:
    """What the app observed of one call."""

    value: Any = None
    result_class: type | None = None
    chunks: list[Any] = field(default_factory=list)
    error: tuple[Any, ...] | None = None

    def failed_with(self, error: BaseException) -> None:
        self.error = (
            type(error),
            str(error),
            getattr(error, "status_code", None),
            getattr(error, "body", None),
        )

    @property
    def error_class(self) -> type | None:
        return None if self.error is None else self.error[0]


def _is_stream(result: Any) -> bool:
    """An SDK stream of any Stainless-generated SDK (openai, anthropic), proxied or not."""
    return result.__class__.__name__ in ("Stream", "AsyncStream")


def _received(seen: Outcome, result: Any) -> bool:
    """Record a call's result; True when it is a stream whose chunks are still to be read."""
    seen.result_class = result.__class__
    if _is_stream(result):
        return True
    seen.value = _data(result)
    return False


def _read(seen: Outcome, chunk: Any, max_chunks: int | None) -> bool:
    """Record one chunk; False once the app stops reading."""
    seen.chunks.append(_data(chunk))
    return max_chunks is None or len(seen.chunks) < max_chunks


def outcome(call: Callable[[], Any], *, max_chunks: int | None = None) -> Outcome:
    """Run ``call`` (and iterate the stream it returns, closing it after ``max_chunks``)."""
    seen = Outcome()
    try:
        result = call()
        if _received(seen, result):
            with result as stream:
                for chunk in stream:
                    if not _read(seen, chunk, max_chunks):
                        break
    except Exception as error:
        seen.failed_with(error)
    return seen


async def async_outcome(call: Callable[[], Awaitable[Any]], *, max_chunks: int | None = None) -> Outcome:
    """The async twin of :func:`outcome`."""
    seen = Outcome()
    try:
        result = await call()
        if _received(seen, result):
            async with result as stream:
                async for chunk in stream:
                    if not _read(seen, chunk, max_chunks):
                        break
    except Exception as error:
        seen.failed_with(error)
    return seen


def same_outcome(
    telemetry: Telemetry,
    call: Callable[[], Any],
    *,
    instrumentor: BaseInstrumentor | None = None,
    max_chunks: int | None = None,
) -> Outcome:
    """Run ``call`` uninstrumented, then instrumented; the app must observe the same outcome."""
    plain = outcome(call, max_chunks=max_chunks)
    assert not telemetry.finished()
    with telemetry.instrumented(instrumentor=instrumentor):
        traced = outcome(call, max_chunks=max_chunks)
    assert traced == plain
    return traced
