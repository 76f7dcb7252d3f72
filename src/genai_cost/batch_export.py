"""Batch spend as telemetry: one span per batch, one priced child span per request, and the
cost and token metrics of each request, so batch jobs show on the same dashboards as live calls.

Each request is priced and recorded the way an instrumentor records a live call (the same
:class:`~genai_cost.costing.Costing`, the same span and metric attributes), at batch prices
(``genai_cost.pricing.context.processing=batch``). A request span starts and ends at the instant
its response was created when the results say (OpenAI's do), else when the batch ran; the
batch span spans its requests. Failed requests get no span; the batch span counts them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import SpanKind, Tracer, TracerProvider

from genai_cost.batch import BatchRequest, read_batch_results
from genai_cost.compat import Compat, compat_for
from genai_cost.config import get_settings
from genai_cost.costing import Costing
from genai_cost.metrics import Instruments
from genai_cost.pricing.calculate import as_utc
from genai_cost.pricing.table import PricingTable
from genai_cost.semconv import GenAI
from genai_cost.version import __version__

__all__ = ["BATCH_FAILED_REQUESTS", "BATCH_REQUESTS", "CUSTOM_ID", "export_batch_results"]

SCOPE = "genai_cost.batch"
BATCH_REQUESTS = "genai_cost.batch.requests"
"""On the batch span: the requests that succeeded (each has a child span)."""
BATCH_FAILED_REQUESTS = "genai_cost.batch.failed_requests"
"""On the batch span: the requests that failed (not billed, no span)."""
CUSTOM_ID = "genai_cost.batch.custom_id"
"""On a request span: the id the submitter gave the request."""


def export_batch_results(
    path_or_lines: str | os.PathLike[str] | Iterable[str | bytes],
    *,
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    pricing: PricingTable | None = None,
    at: datetime | None = None,
    name: str = "batch",
) -> int:
    """Send the spans and metrics of a batch results file; returns the request spans sent.

    A request is priced and timed at the instant its response was created when the results say
    (OpenAI's do), else at ``at`` (when the batch ran; default now).

    Raises :class:`~genai_cost.batch.BatchResultsError` for a line that is not a result, before
    anything is sent: the file is read in full first.
    """
    outcomes = list(read_batch_results(path_or_lines))
    requests = [outcome for outcome in outcomes if isinstance(outcome, BatchRequest)]
    settings = get_settings()
    instruments = Instruments(
        meter_provider, model_limit=settings.metric_model_limit, latest_semconv=settings.latest_semconv
    )
    costing = Costing(instruments, pricing)
    compat = compat_for(settings.compat)
    tracer = tracer_provider.get_tracer(SCOPE, __version__)
    now = time.time_ns() if at is None else _epoch_ns(at)
    starts = [now if request.created is None else _epoch_ns(request.created) for request in requests]
    batch = tracer.start_span(
        f"batch {name}",
        start_time=min(starts, default=now),
        attributes={BATCH_REQUESTS: len(requests), BATCH_FAILED_REQUESTS: len(outcomes) - len(requests)},
    )
    parent = trace.set_span_in_context(batch)
    for request, start in zip(requests, starts, strict=True):
        _record(tracer, parent, costing, instruments, compat, request, start)
    batch.end(end_time=max(starts, default=now))
    return len(requests)


def _record(
    tracer: Tracer,
    parent: Context,
    costing: Costing,
    instruments: Instruments,
    compat: Compat | None,
    request: BatchRequest,
    start: int,
) -> None:
    """One request: priced, counted in the metrics, and sent as a span."""
    usage, context = request.usage, request.context
    cost = costing.price(usage, model=request.model, provider=request.provider, started_ns=start, context=context)
    attributes: dict[str, Any] = {
        GenAI.OPERATION_NAME: request.operation,
        GenAI.PROVIDER_NAME: request.provider,
        **request.response.attributes,
        **usage.to_attributes(),
        **{key: value for key, value in cost.attributes().items() if value is not None},
    }
    if request.custom_id is not None:
        attributes[CUSTOM_ID] = request.custom_id
    if compat is not None:
        attributes.update(compat.attributes(attributes))
    metric_attributes = instruments.metric_attributes(attributes)
    costing.settle(cost, usage, provider=request.provider, model=request.model, metric_attributes=metric_attributes)
    instruments.record_tokens(usage, metric_attributes)
    span = tracer.start_span(
        f"{request.operation} {request.model}",
        context=parent,
        kind=SpanKind.CLIENT,
        start_time=start,
        attributes=attributes,
    )
    span.end(end_time=start)


def _epoch_ns(at: datetime) -> int:
    """Exact nanoseconds since the epoch (a float of seconds would round the microseconds)."""
    return int(as_utc(at).timestamp()) * 1_000_000_000 + at.microsecond * 1_000
