"""Errors: HTTP errors and mid-stream exception events reach the app unchanged; spans record them."""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError, EventStreamError
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from tests.support.fake_bedrock import scenario
from tests.support.telemetry import metric_points

from genai_cost.semconv import GenAI, Metrics

from .helpers import BODY, DROPPED_SOCKET, MESSAGES, SONNET, comparable, only_span

CALLS: dict[str, Callable[[Any], Any]] = {
    "converse": lambda c: c.converse(modelId=SONNET, messages=MESSAGES),
    "converse_stream": lambda c: list(c.converse_stream(modelId=SONNET, messages=MESSAGES)["stream"]),
    "invoke_model": lambda c: c.invoke_model(modelId=SONNET, body=BODY),
    "invoke_model_with_response_stream": lambda c: list(
        c.invoke_model_with_response_stream(modelId=SONNET, body=BODY)["body"]
    ),
}


def _raised(bedrock: Any, name: str, call: Callable[[Any], Any], expected: type[Exception]) -> Any:
    with scenario(bedrock, name), pytest.raises(expected) as raised:
        call(bedrock)
    return raised.value


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [("throttled", 429, "ThrottlingException"), ("invalid", 400, "ValidationException"),
     ("denied", 403, "AccessDeniedException")],
)  # fmt: skip
@pytest.mark.parametrize("operation", list(CALLS))
def test_http_errors_are_reraised_unchanged(
    instrument: Callable[..., Any],
    new_client: Callable[[], Any],
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
    operation: str,
    name: str,
    status: int,
    code: str,
) -> None:
    plain = _raised(new_client(), name, CALLS[operation], ClientError)
    instrument()
    traced = _raised(new_client(), name, CALLS[operation], ClientError)

    assert type(traced) is type(plain)
    assert type(traced).__name__ == code
    assert str(traced) == str(plain)
    assert comparable(traced.response) == comparable(plain.response)
    assert traced.response["ResponseMetadata"]["HTTPStatusCode"] == status
    span = only_span(span_exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == code
    attributes = span.attributes or {}
    assert attributes[GenAI.ERROR_TYPE] == f"botocore.errorfactory.{code}"
    assert GenAI.USAGE_INPUT_TOKENS not in attributes
    assert GenAI.USAGE_COST_AMOUNT not in attributes
    (duration,) = metric_points(metric_reader, Metrics.OPERATION_DURATION)
    assert duration.attributes[GenAI.ERROR_TYPE] == f"botocore.errorfactory.{code}"
    assert metric_points(metric_reader, Metrics.OPERATION_COST) == []


@DROPPED_SOCKET
@pytest.mark.parametrize("operation", ["converse_stream", "invoke_model_with_response_stream"])
def test_exception_event_mid_stream(
    instrument: Callable[..., Any],
    new_client: Callable[[], Any],
    span_exporter: InMemorySpanExporter,
    operation: str,
) -> None:
    plain = _raised(new_client(), "stream_error", CALLS[operation], EventStreamError)
    instrument()
    traced = _raised(new_client(), "stream_error", CALLS[operation], EventStreamError)

    assert str(traced) == str(plain)
    assert traced.response == plain.response
    span = only_span(span_exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})[GenAI.ERROR_TYPE] == "botocore.exceptions.EventStreamError"
    del plain, traced
    gc.collect()  # streams left unread after the exception event


@DROPPED_SOCKET
@pytest.mark.parametrize("operation", ["converse_stream", "invoke_model_with_response_stream"])
def test_connection_reset_mid_stream(
    instrument: Callable[..., Any],
    new_client: Callable[[], Any],
    span_exporter: InMemorySpanExporter,
    operation: str,
) -> None:
    plain = _raised(new_client(), "reset", CALLS[operation], Exception)
    instrument()
    traced = _raised(new_client(), "reset", CALLS[operation], Exception)

    assert type(traced) is type(plain)
    assert str(traced) == str(plain)
    span = only_span(span_exporter)
    assert span.status.status_code is StatusCode.ERROR
    error_type = type(traced)
    assert (span.attributes or {})[GenAI.ERROR_TYPE] == f"{error_type.__module__}.{error_type.__qualname__}"
    del plain, traced
    gc.collect()  # the broken connections' sockets, while their warning is ignored
