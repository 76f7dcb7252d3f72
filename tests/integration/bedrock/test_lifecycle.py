"""Lifecycle: abandoned streams, which clients are wrapped, uninstrument, sampling, our own failures."""

from __future__ import annotations

import gc
import json
from collections.abc import Callable
from decimal import Decimal
from importlib.metadata import entry_points
from typing import Any

import pytest
import wrapt
from botocore.session import Session
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import StatusCode
from tests.support.fake_bedrock import DEFAULT
from tests.support.telemetry import metric_points

from genai_cost import track_usage
from genai_cost.instrumentation._core import finish_abandoned
from genai_cost.instrumentation.bedrock import BedrockInstrumentor
from genai_cost.pricing import PricingTable
from genai_cost.semconv import GenAI, Metrics, TokenType

from .helpers import BODY, DROPPED_SOCKET, MESSAGES, SONNET, expected_cost, only_span


def _first_event_then_drop(bedrock: Any, span_exporter: InMemorySpanExporter, *, close: bool) -> None:
    result = bedrock.converse_stream(modelId=SONNET, messages=MESSAGES)
    stream = result["stream"]
    assert "messageStart" in next(iter(stream))
    assert span_exporter.get_finished_spans() == ()
    if close:
        stream.close()
    else:
        del result, stream
        gc.collect()
        finish_abandoned()  # what the next call, a flush or the exit does


@DROPPED_SOCKET
@pytest.mark.parametrize("close", [True, False], ids=["closed", "abandoned"])
def test_stream_left_early_ends_the_span(bedrock: Any, span_exporter: InMemorySpanExporter, close: bool) -> None:
    _first_event_then_drop(bedrock, span_exporter, close=close)

    span = only_span(span_exporter)
    attributes = span.attributes or {}
    assert span.status.status_code is StatusCode.UNSET
    assert attributes[GenAI.RESPONSE_TIME_TO_FIRST_CHUNK] > 0
    assert GenAI.USAGE_INPUT_TOKENS not in attributes


@DROPPED_SOCKET
def test_abandoned_invoke_stream_ends_the_span(bedrock: Any, span_exporter: InMemorySpanExporter) -> None:
    result = bedrock.invoke_model_with_response_stream(modelId=SONNET, body=BODY)
    assert "chunk" in next(iter(result["body"]))
    del result
    gc.collect()
    finish_abandoned()

    assert only_span(span_exporter).end_time is not None


def test_metrics(bedrock: Any, metric_reader: InMemoryMetricReader, pricing: PricingTable) -> None:
    bedrock.converse(modelId=SONNET, messages=MESSAGES)

    tokens = {point.attributes[GenAI.TOKEN_TYPE]: point for point in metric_points(metric_reader, Metrics.TOKEN_USAGE)}
    assert tokens[TokenType.INPUT].sum == DEFAULT.input
    assert tokens[TokenType.OUTPUT].sum == DEFAULT.output
    (cost,) = metric_points(metric_reader, Metrics.OPERATION_COST)
    assert cost.sum == pytest.approx(expected_cost(pricing, SONNET, DEFAULT))
    (duration,) = metric_points(metric_reader, Metrics.OPERATION_DURATION)
    assert duration.count == 1
    assert duration.attributes[GenAI.PROVIDER_NAME] == "aws.bedrock"
    assert duration.attributes[GenAI.OPERATION_NAME] == "chat"
    assert duration.attributes[GenAI.REQUEST_MODEL] == SONNET
    assert GenAI.AWS_REQUEST_ID not in duration.attributes


def test_track_usage_totals(bedrock: Any, pricing: PricingTable) -> None:
    with track_usage() as usage:
        bedrock.converse(modelId=SONNET, messages=MESSAGES)
        bedrock.invoke_model(modelId=SONNET, body=BODY)["body"].read()

    assert usage.successful_requests == 2
    assert usage.prompt_tokens == 2 * DEFAULT.input
    assert usage.completion_tokens == 2 * DEFAULT.output
    one = Decimal(str(expected_cost(pricing, SONNET, DEFAULT)))
    assert usage.total_cost == 2 * one


def test_other_services_are_untouched(instrument: Callable[..., Any], boto_session: Any) -> None:
    instrument()
    s3 = boto_session.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    runtime = boto_session.client(
        "bedrock-runtime", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )

    assert not any(isinstance(value, wrapt.FunctionWrapper) for value in vars(s3).values())
    assert isinstance(vars(runtime)["converse"], wrapt.FunctionWrapper)


def test_uninstrument_restores_clients(
    instrument: Callable[..., Any], new_client: Callable[[], Any], span_exporter: InMemorySpanExporter
) -> None:
    instrumentor = instrument()
    bedrock = new_client()
    instrumentor.uninstrument()
    bedrock.converse(modelId=SONNET, messages=MESSAGES)
    new_client().converse(modelId=SONNET, messages=MESSAGES)

    assert span_exporter.get_finished_spans() == ()
    assert not isinstance(vars(Session)["create_client"], wrapt.FunctionWrapper)
    assert "converse" not in vars(bedrock)


def test_clients_created_before_instrument_are_not_traced(
    instrument: Callable[..., Any], new_client: Callable[[], Any], span_exporter: InMemorySpanExporter
) -> None:
    early = new_client()
    instrument()
    early.converse(modelId=SONNET, messages=MESSAGES)

    assert span_exporter.get_finished_spans() == ()


def test_suppressed_instrumentation(bedrock: Any, span_exporter: InMemorySpanExporter) -> None:
    with suppress_instrumentation():
        bedrock.converse(modelId=SONNET, messages=MESSAGES)

    assert span_exporter.get_finished_spans() == ()


def test_unsampled_calls_still_record_metrics(
    instrument: Callable[..., Any], new_client: Callable[[], Any], metric_reader: InMemoryMetricReader
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=ALWAYS_OFF)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrument(tracer_provider=provider)
    new_client().converse(modelId=SONNET, messages=MESSAGES)

    assert exporter.get_finished_spans() == ()
    assert len(metric_points(metric_reader, Metrics.OPERATION_COST)) == 1


def test_failing_extractor_keeps_the_result(
    bedrock: Any, span_exporter: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any) -> None:
        raise RuntimeError("extractor bug")

    monkeypatch.setattr("genai_cost.instrumentation.bedrock.converse.usage_from_converse", broken)
    monkeypatch.setattr("genai_cost.instrumentation.bedrock.invoke.usage_from_body", broken)
    converse = bedrock.converse(modelId=SONNET, messages=MESSAGES)
    body = bedrock.invoke_model(modelId=SONNET, body=BODY)["body"].read()

    assert converse["usage"]["inputTokens"] == DEFAULT.input
    assert json.loads(body)["usage"]["input_tokens"] == DEFAULT.input
    converse_span, invoke_span = span_exporter.get_finished_spans()
    assert GenAI.USAGE_INPUT_TOKENS not in (converse_span.attributes or {})
    # invoke_model falls back to the token-count headers.
    assert (invoke_span.attributes or {})[GenAI.USAGE_INPUT_TOKENS] == DEFAULT.input


def test_entry_point_loads_the_instrumentor() -> None:
    (entry_point,) = entry_points(group="opentelemetry_instrumentor", name="genai_cost_bedrock")
    assert entry_point.load() is BedrockInstrumentor


def test_instrumentor_reports_its_dependencies() -> None:
    assert list(BedrockInstrumentor().instrumentation_dependencies()) == ["botocore >= 1.31.57"]


def test_meter_provider_is_used(
    instrument: Callable[..., Any], new_client: Callable[[], Any], span_exporter: InMemorySpanExporter
) -> None:
    reader = InMemoryMetricReader()
    instrument(meter_provider=MeterProvider(metric_readers=[reader]))
    new_client().converse(modelId=SONNET, messages=MESSAGES)

    assert len(metric_points(reader, Metrics.OPERATION_DURATION)) == 1
    assert len(span_exporter.get_finished_spans()) == 1
