"""The trace processor rotel runs: ``rotel-agent start --otlp-with-trace-processor`` with
:data:`genai_cost.gateway.ROTEL_PROCESSOR` (``genai-cost gateway rotel`` prints the whole command).

rotel calls :func:`process_spans` with each ``ResourceSpans`` it receives and exports what the
function leaves in it. This module runs inside rotel's embedded Python, which imports
``rotel_sdk`` from rotel itself and genai-cost from ``PYTHONPATH``.

Safety: rotel 0.0.1a15 stops the whole collector when the processor raises, so nothing
escapes :func:`process_spans`: a failure is logged once and the batch goes on as it is. A
span that cannot be read is passed on unchanged. Nothing is kept between batches (memory is
bounded by the batch), apart from the process-wide pricing table, built once when rotel
loads the processor (``GENAI_COST_PRICING_FILE``, ``GENAI_COST_PRICING_URL`` and the other
settings are read from rotel's environment, as in an app).
"""

from __future__ import annotations

import logging
from typing import Any

from rotel_sdk.open_telemetry.common.v1 import AnyValue, ArrayValue, KeyValue, KeyValueList

from genai_cost.config import get_settings
from genai_cost.costing import Costing
from genai_cost.gateway.batch import BatchPricer, FinishedSpan
from genai_cost.metrics import Instruments
from genai_cost.span_cost import SpanCosting, is_own_call

__all__ = ["process_spans"]

logger = logging.getLogger(__name__)

_STATUS_ERROR = 2
"""OTLP ``STATUS_CODE_ERROR``."""


def _build() -> BatchPricer:
    settings = get_settings()
    instruments = Instruments.from_settings(None, settings)
    # Loads the process-wide table now (a bad pricing file shows when rotel starts), once.
    costing = Costing(instruments, version_on_span=True)
    return BatchPricer(SpanCosting(costing, instruments, settings))


_pricer = _build()
_failure_logged = False


def process_spans(resource_spans: Any) -> None:
    """Price the GenAI spans of one ``ResourceSpans`` in place; never raises."""
    try:
        _process(resource_spans)
    except Exception:
        _log_failure()


def _process(resource_spans: Any) -> None:
    resource = resource_spans.resource
    if resource is not None:
        _keep_arrays(resource.attributes)
    spans: list[Any] = []
    records: list[FinishedSpan] = []
    positions: list[dict[str, int]] = []
    for scope_spans in resource_spans.scope_spans:
        for span in scope_spans.spans:
            read = _read(span, scope_spans.scope)
            if read is not None:
                spans.append(span)
                records.append(read[0])
                positions.append(read[1])
    for span, index_of, update in zip(spans, positions, _pricer.price(records), strict=True):
        if update:
            _write(span.attributes, index_of, update)


def _read(span: Any, scope: Any) -> tuple[FinishedSpan, dict[str, int]] | None:
    """The span as pricing reads it and where each attribute sits; ``None`` when unreadable."""
    try:
        attributes = span.attributes
        values: dict[str, Any] = {}
        index_of: dict[str, int] = {}
        for index, pair in enumerate(attributes):
            value = pair.value
            raw = None if value is None else value.value
            if isinstance(raw, (ArrayValue, KeyValueList)):  # see _keep_arrays
                attributes[index] = KeyValue(pair.key, _mirrored(value))
            elif raw is not None:
                values.setdefault(pair.key, raw)
            index_of.setdefault(pair.key, index)
        status = span.status
        record = FinishedSpan(
            trace_id=bytes(span.trace_id),
            span_id=bytes(span.span_id),
            parent_span_id=bytes(span.parent_span_id),
            attributes=values,
            started_ns=span.start_time_unix_nano or None,
            succeeded=status is None or status.code != _STATUS_ERROR,
            ours=is_own_call(scope, values),
        )
    except Exception:
        _log_failure()
        return None
    return record, index_of


def _keep_arrays(attributes: Any) -> None:
    """Store every array of ``attributes`` mirrored.

    rotel 0.0.1a15 writes the arrays of the resource's attributes, and of any span's attributes
    a processor reads, back in reverse order; stored mirrored, an array leaves as it came."""
    for index, pair in enumerate(attributes):
        value = pair.value
        if value is not None and isinstance(value.value, (ArrayValue, KeyValueList)):
            attributes[index] = KeyValue(pair.key, _mirrored(value))


def _mirrored(value: Any) -> Any:
    """``value`` with every array in it, at any depth, in reverse order."""
    raw = value.value
    if isinstance(raw, ArrayValue):
        mirrored = ArrayValue()
        for index in reversed(range(len(raw))):
            mirrored.append(_mirrored(raw[index]))
        return AnyValue(mirrored)
    if isinstance(raw, KeyValueList):
        pairs = KeyValueList()
        for index in range(len(raw)):
            pair = raw[index]
            pairs.append(KeyValue(pair.key, _mirrored(pair.value)))
        return AnyValue(pairs)
    return value


def _write(attributes: Any, index_of: dict[str, int], update: dict[str, Any]) -> None:
    for key, value in update.items():
        pair = _key_value(key, value)
        index = index_of.get(key)
        if index is None:
            attributes.append(pair)
        else:
            attributes[index] = pair


def _key_value(key: str, value: Any) -> Any:
    if isinstance(value, bool):
        return KeyValue.new_bool_value(key, value)
    if isinstance(value, int):
        return KeyValue.new_int_value(key, value)
    if isinstance(value, float):
        return KeyValue.new_double_value(key, value)
    return KeyValue.new_string_value(key, str(value))


def _log_failure() -> None:
    """Inside ``except``: the traceback once, then debug lines."""
    global _failure_logged
    first = not _failure_logged
    _failure_logged = True
    logger.log(
        logging.WARNING if first else logging.DEBUG,
        "genai-cost: pricing a batch at the gateway failed; its spans pass on as they are",
        exc_info=True,
    )
