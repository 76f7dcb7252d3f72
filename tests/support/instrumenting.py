"""Instrumenting for the length of a block, and what every failed call's telemetry must show."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeVar

from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from tests.support.telemetry import metric_points

from genai_cost.config import get_settings
from genai_cost.instrumentation._base import GenAIInstrumentor
from genai_cost.semconv import GenAI, Metrics

__all__ = ["assert_error_passes_through", "assert_failed", "instrumented", "raised"]

InstrumentorT = TypeVar("InstrumentorT", bound=GenAIInstrumentor)


@contextmanager
def instrumented(instrumentor: InstrumentorT, **options: Any) -> Iterator[InstrumentorT]:
    """``instrumentor.instrument(**options)`` inside the block, settings read afresh (env changes apply)."""
    get_settings.cache_clear()
    instrumentor.instrument(**options)
    try:
        yield instrumentor
    finally:
        instrumentor.uninstrument()
        get_settings.cache_clear()


def assert_failed(span: ReadableSpan, error: type[BaseException], reader: InMemoryMetricReader) -> None:
    """The span and the duration metric of a call that raised ``error``; no cost recorded."""
    attributes = span.attributes or {}
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == error.__name__
    assert attributes[GenAI.ERROR_TYPE] == f"{error.__module__}.{error.__qualname__}"
    assert GenAI.USAGE_COST_AMOUNT not in attributes
    (duration,) = metric_points(reader, Metrics.OPERATION_DURATION)
    assert duration.attributes[GenAI.ERROR_TYPE] == attributes[GenAI.ERROR_TYPE]
    assert metric_points(reader, Metrics.OPERATION_COST) == []


def raised(call: Callable[[], Any], describe: Callable[[BaseException], Any]) -> tuple[type[BaseException], Any]:
    """The type of the error ``call`` raises, and what ``describe`` says of it."""
    try:
        call()
    except Exception as error:
        return type(error), describe(error)
    raise AssertionError("the call did not raise")


def assert_error_passes_through(
    call: Callable[[], Any],
    instrumenting: Callable[[], AbstractContextManager[Any]],
    exporter: InMemorySpanExporter,
    reader: InMemoryMetricReader,
    describe: Callable[[BaseException], Any] = str,
) -> None:
    """``call`` raises the same error instrumented as not, and its one span says it failed.

    ``describe``: what must not change besides the type (the message by default; an error whose
    message quotes a response's ``date`` header is better compared by its body).
    """
    plain = raised(call, describe)
    with instrumenting():
        traced = raised(call, describe)
    assert traced == plain
    (span,) = exporter.get_finished_spans()
    assert_failed(span, traced[0], reader)
