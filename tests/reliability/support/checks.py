"""Assertions shared by the reliability tests: valid attribute types, failure and cost records."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

from genai_cost.semconv import GenAI, Ours, PricingStatus

__all__ = ["assert_answered", "assert_failed", "assert_valid_attributes", "cost_attributes", "error_type_of"]

_INT64 = range(-(2**63), 2**63)
_SCALARS = (str, bool, int, float)


def _valid_value(value: Any) -> bool:
    if isinstance(value, (bool, str, float)):
        return True
    if isinstance(value, int):
        return value in _INT64
    if isinstance(value, (list, tuple)):
        kinds = {type(item) for item in value}
        return len(kinds) <= 1 and all(isinstance(item, _SCALARS) and _valid_value(item) for item in value)
    return False


def assert_valid_attributes(span: ReadableSpan) -> None:
    """Every attribute has an OTel type, fits OTLP (int64), tokens are >= 0, cost >= 0; encodes."""
    attributes: Mapping[str, Any] = span.attributes or {}
    bad = {name: value for name, value in attributes.items() if not _valid_value(value)}
    assert not bad, f"attributes with invalid OTel values: {bad!r}"
    for name, value in attributes.items():
        if name.startswith("gen_ai.usage.") and name.endswith("tokens"):
            assert isinstance(value, int) and not isinstance(value, bool) and value >= 0, (name, value)
        if name == GenAI.USAGE_COST_AMOUNT or name.startswith(Ours.COST_PREFIX):
            assert isinstance(value, float) and value >= 0, (name, value)
    encode_spans([span]).SerializeToString()


def error_type_of(error_class: type) -> str:
    """The ``error.type`` value of an exception class (qualified unless builtin)."""
    module = error_class.__module__
    return error_class.__qualname__ if module == "builtins" else f"{module}.{error_class.__qualname__}"


def cost_attributes(span: ReadableSpan) -> dict[str, Any]:
    attributes = span.attributes or {}
    return {
        name: value
        for name, value in attributes.items()
        if name.startswith(("gen_ai.usage.cost", Ours.COST_PREFIX)) or name == Ours.PRICING_ENTRY
    }


def assert_failed(span: ReadableSpan, error_class: type) -> None:
    """The span records the SDK's exception by type only, and carries no cost."""
    attributes = span.attributes or {}
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == error_class.__name__
    assert attributes[GenAI.ERROR_TYPE] == error_type_of(error_class)
    assert not cost_attributes(span)
    assert_valid_attributes(span)


def assert_answered(span: ReadableSpan, error: tuple[Any, ...] | None) -> None:
    """A call whose response had odd values: recorded as the app saw it, with valid attributes.

    ``error`` is the app's outcome: when the SDK itself rejected the payload the span records
    that failure; otherwise the span is OK, carries a pricing status and no invalid count.
    """
    if error is not None:
        assert_failed(span, error[0])
        return
    assert_valid_attributes(span)
    assert span.status.is_unset
    status = (span.attributes or {})[Ours.PRICING_STATUS]
    assert status in (PricingStatus.NO_USAGE, PricingStatus.PRICED, PricingStatus.UNKNOWN_MODEL)
