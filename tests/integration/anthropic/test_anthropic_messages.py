"""Anthropic Messages through the real SDK: one span per call, normalized usage, exact cost, metrics."""

from __future__ import annotations

import functools
import gc
import inspect
from typing import Any

import anthropic
import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from tests.integration.anthropic.helpers import (
    API_KEY,
    MODEL,
    SHAPES,
    call,
    expected_cost,
    expected_usage,
    request,
)
from tests.support import fake_bedrock
from tests.support.fake_http import FakeHTTPServer
from tests.support.pricing_math import MILLION, rates
from tests.support.telemetry import metric_points

from genai_cost import track_usage
from genai_cost.instrumentation.anthropic import AnthropicInstrumentor
from genai_cost.instrumentation.anthropic import messages as messages_module
from genai_cost.pricing import PricingTable
from genai_cost.semconv import GenAI, Metrics, Ours, PricingStatus, Provider

SCENARIO_NAMES = ("default", "cached", "cache_write", "thinking", "delta_input")


def only_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    spans = exporter.get_finished_spans()
    assert len(spans) == 1, [span.name for span in spans]
    return spans[0]


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("scenario", SCENARIO_NAMES)
def test_one_span_with_normalized_usage_and_exact_cost(
    instrumented: AnthropicInstrumentor,
    fake_anthropic: FakeHTTPServer,
    span_exporter: InMemorySpanExporter,
    scenario: str,
    shape: str,
    is_async: bool,
) -> None:
    call(fake_anthropic.origin, shape, request(scenario, stop_sequences=["END"]), is_async=is_async)

    span = only_span(span_exporter)
    attributes = span.attributes or {}
    usage = expected_usage(scenario)
    assert span.name == f"chat {MODEL}"
    assert span.kind is SpanKind.CLIENT
    assert attributes[GenAI.OPERATION_NAME] == "chat"
    assert attributes[GenAI.PROVIDER_NAME] == Provider.ANTHROPIC
    assert attributes[GenAI.REQUEST_MODEL] == MODEL
    assert attributes[GenAI.RESPONSE_MODEL] == MODEL
    assert attributes[GenAI.REQUEST_MAX_TOKENS] == 256
    assert attributes[GenAI.REQUEST_STOP_SEQUENCES] == ("END",)
    assert attributes[GenAI.RESPONSE_ID] == "msg_01FakeXy7bq3kNtH1dW2vQpa"
    assert attributes[GenAI.RESPONSE_FINISH_REASONS] == ("end_turn",)
    assert attributes[GenAI.SERVER_ADDRESS] == "127.0.0.1"
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == usage["input"]
    assert attributes[GenAI.USAGE_OUTPUT_TOKENS] == usage["output"]
    assert attributes.get(GenAI.USAGE_CACHE_READ_INPUT_TOKENS) == usage["cache_read"]
    assert attributes.get(GenAI.USAGE_CACHE_CREATION_INPUT_TOKENS) == usage["cache_creation"]
    assert attributes.get(GenAI.USAGE_CACHE_WRITE_INPUT_TOKENS) == usage["cache_creation"]  # the newer name
    assert attributes.get(GenAI.USAGE_REASONING_OUTPUT_TOKENS) == usage["reasoning"]
    assert attributes[Ours.PRICING_STATUS] == PricingStatus.PRICED
    assert attributes[GenAI.USAGE_COST_AMOUNT] == float(expected_cost(scenario))
    assert (GenAI.RESPONSE_TIME_TO_FIRST_CHUNK in attributes) == ("stream" in shape)
    assert span.status.status_code is StatusCode.UNSET


def test_cache_write_ttls_are_priced_at_their_own_rates(
    instrumented: AnthropicInstrumentor, fake_anthropic: FakeHTTPServer, span_exporter: InMemorySpanExporter
) -> None:
    call(fake_anthropic.origin, "create", request("cache_write"), is_async=False)

    attributes = only_span(span_exporter).attributes or {}
    # 2000 one-hour writes at the 1h price, 1000 five-minute writes at the (5-minute) write price.
    assert attributes[Ours.COST_PREFIX + "cache_creation_1h"] == pytest.approx(2000 * 2 / 1e6)
    assert attributes[Ours.COST_PREFIX + "cache_creation"] == pytest.approx(1000 * 1.25 / 1e6)
    assert attributes[GenAI.USAGE_COST_AMOUNT] == float(expected_cost("cache_write"))


def test_stream_helper_text_and_final_message_are_unchanged(
    fake_anthropic: FakeHTTPServer, span_exporter: InMemorySpanExporter, tracer_provider: Any, meter_provider: Any
) -> None:
    def read(client: anthropic.Anthropic) -> tuple[str, Any]:
        with client.messages.stream(**request("cached")) as stream:
            text = "".join(stream.text_stream)
            return text, stream.get_final_message().to_dict()

    with anthropic.Anthropic(api_key=API_KEY, base_url=fake_anthropic.origin, max_retries=0) as client:
        plain = read(client)
        instrumentor = AnthropicInstrumentor()
        instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        try:
            traced = read(client)
        finally:
            instrumentor.uninstrument()

    assert traced == plain
    assert only_span(span_exporter).attributes[GenAI.USAGE_INPUT_TOKENS] == expected_usage("cached")["input"]


def test_stream_helper_left_early_ends_the_span_once(
    instrumented: AnthropicInstrumentor, fake_anthropic: FakeHTTPServer, span_exporter: InMemorySpanExporter
) -> None:
    with anthropic.Anthropic(api_key=API_KEY, base_url=fake_anthropic.origin, max_retries=0) as client:
        with client.messages.stream(**request(extra_headers={"x-fake-chunks": "8"})) as stream:
            first = next(iter(stream))
        gc.collect()

    assert first.type == "message_start"
    attributes = only_span(span_exporter).attributes or {}
    # Only message_start was read: its input count and initial output count are what was reported.
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == 25
    assert attributes[GenAI.USAGE_OUTPUT_TOKENS] == 1


def test_stream_helper_never_entered_records_nothing(
    instrumented: AnthropicInstrumentor, fake_anthropic: FakeHTTPServer, span_exporter: InMemorySpanExporter
) -> None:
    sent = len(fake_anthropic.requests)
    with anthropic.Anthropic(api_key=API_KEY, base_url=fake_anthropic.origin, max_retries=0) as client:
        client.messages.stream(**request())
        gc.collect()

    assert len(fake_anthropic.requests) == sent
    assert span_exporter.get_finished_spans() == ()  # no request sent: no call


def test_app_error_inside_stream_helper_block_before_the_end_marks_the_span(
    instrumented: AnthropicInstrumentor, client: anthropic.Anthropic, span_exporter: InMemorySpanExporter
) -> None:
    with pytest.raises(KeyError), client.messages.stream(**request()) as stream:
        next(iter(stream))
        raise KeyError("app bug")

    span = only_span(span_exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})[GenAI.ERROR_TYPE] == "KeyError"


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_raw_response_span_ends_when_parsed(
    instrumented: AnthropicInstrumentor,
    fake_anthropic: FakeHTTPServer,
    span_exporter: InMemorySpanExporter,
    is_async: bool,
) -> None:
    import asyncio

    async def async_raw() -> Any:
        async with anthropic.AsyncAnthropic(api_key=API_KEY, base_url=fake_anthropic.origin, max_retries=0) as client:
            raw = await client.messages.with_raw_response.create(**request("cached"))
            assert span_exporter.get_finished_spans() == ()
            parsed = raw.parse()  # a coroutine in SDK 2.x, the message itself in 0.x
            return raw.headers["request-id"], await parsed if inspect.isawaitable(parsed) else parsed

    if is_async:
        request_id, message = asyncio.run(async_raw())
    else:
        with anthropic.Anthropic(api_key=API_KEY, base_url=fake_anthropic.origin, max_retries=0) as client:
            raw = client.messages.with_raw_response.create(**request("cached"))
            assert span_exporter.get_finished_spans() == ()
            request_id, message = raw.headers["request-id"], raw.parse()

    assert request_id == "req_01FakeAnthropic"
    assert isinstance(message, anthropic.types.Message)
    assert only_span(span_exporter).attributes[GenAI.USAGE_COST_AMOUNT] == float(expected_cost("cached"))


def test_streaming_response_with_stream_true(
    instrumented: AnthropicInstrumentor, client: anthropic.Anthropic, span_exporter: InMemorySpanExporter
) -> None:
    with client.messages.with_streaming_response.create(stream=True, **request("cache_write")) as response:
        events = [event.type for event in response.parse()]

    assert events[0] == "message_start" and events[-1] == "message_stop"
    assert only_span(span_exporter).attributes[GenAI.USAGE_COST_AMOUNT] == float(expected_cost("cache_write"))


CLOUD_CLIENTS = [
    pytest.param(
        anthropic.AnthropicVertex,
        anthropic.AsyncAnthropicVertex,
        {"region": "us-east5", "project_id": "demo-project", "access_token": "ya29.fake"},
        "/v1",
        "claude-haiku-4-5@20251001",
        Provider.GCP_VERTEX_AI,
        ":rawPredict",
        id="vertex",
    ),
    pytest.param(
        anthropic.AnthropicBedrock,
        anthropic.AsyncAnthropicBedrock,
        {"aws_access_key": "AKIAFAKE", "aws_secret_key": "fake-secret", "aws_region": "us-east-1"},
        "",
        "global.anthropic.claude-haiku-4-5-20251001-v1:0",
        Provider.AWS_BEDROCK,
        "/invoke",
        id="bedrock",
    ),
]


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize(("sync_type", "async_type", "options", "path", "model", "provider", "suffix"), CLOUD_CLIENTS)
def test_cloud_clients_report_their_provider_and_price(
    instrumented: AnthropicInstrumentor,
    fake_anthropic: FakeHTTPServer,
    span_exporter: InMemorySpanExporter,
    sync_type: Any,
    async_type: Any,
    options: dict[str, Any],
    path: str,
    model: str,
    provider: str,
    suffix: str,
    is_async: bool,
) -> None:
    client_type = functools.partial(async_type if is_async else sync_type, **options)
    origin = fake_anthropic.origin + path
    call(origin, "create", request("cached", model=model), is_async=is_async, client_type=client_type)

    assert fake_anthropic.requests[-1].path.endswith(suffix)
    attributes = only_span(span_exporter).attributes or {}
    assert attributes[GenAI.PROVIDER_NAME] == provider
    assert attributes[GenAI.REQUEST_MODEL] == model
    # The response names the vendor's model; the requested id (region, profile) sets the price.
    assert attributes[GenAI.RESPONSE_MODEL] == "claude-haiku-4-5-20251001"
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == expected_usage("cached")["input"]
    assert attributes[GenAI.USAGE_COST_AMOUNT] == float(expected_cost("cached", model=model, provider=provider))


def test_vertex_stream_helper(
    instrumented: AnthropicInstrumentor, fake_anthropic: FakeHTTPServer, span_exporter: InMemorySpanExporter
) -> None:
    model = "claude-haiku-4-5@20251001"
    client_type = functools.partial(
        anthropic.AnthropicVertex, region="us-east5", project_id="demo-project", access_token="ya29.fake"
    )
    call(fake_anthropic.origin + "/v1", "stream_helper", request("cache_write", model=model), is_async=False,
         client_type=client_type)  # fmt: skip

    assert fake_anthropic.requests[-1].path.endswith(":streamRawPredict")
    attributes = only_span(span_exporter).attributes or {}
    assert attributes[GenAI.PROVIDER_NAME] == Provider.GCP_VERTEX_AI
    expected = expected_cost("cache_write", model=model, provider=Provider.GCP_VERTEX_AI)
    assert attributes[GenAI.USAGE_COST_AMOUNT] == float(expected)


def test_metrics_tokens_duration_cost_and_track_usage(
    instrumented: AnthropicInstrumentor,
    fake_anthropic: FakeHTTPServer,
    metric_reader: InMemoryMetricReader,
) -> None:
    with track_usage() as totals:
        call(fake_anthropic.origin, "create", request("cache_write"), is_async=False)
        call(fake_anthropic.origin, "stream_helper", request("cached"), is_async=True)

    tokens = {
        (point.attributes[GenAI.TOKEN_TYPE], point.attributes[GenAI.PROVIDER_NAME]): point.sum
        for point in metric_points(metric_reader, Metrics.TOKEN_USAGE)
    }
    input_total = expected_usage("cache_write")["input"] + expected_usage("cached")["input"]  # type: ignore[operator]
    output_total = expected_usage("cache_write")["output"] + expected_usage("cached")["output"]  # type: ignore[operator]
    assert tokens == {("input", "anthropic"): input_total, ("output", "anthropic"): output_total}
    (cost,) = metric_points(metric_reader, Metrics.OPERATION_COST)
    expected = expected_cost("cache_write") + expected_cost("cached")
    assert cost.count == 2
    assert cost.sum == pytest.approx(float(expected))
    (duration,) = metric_points(metric_reader, Metrics.OPERATION_DURATION)
    assert duration.count == 2
    assert totals.successful_requests == 2
    assert totals.total_cost == expected


def test_a_failing_extractor_still_returns_the_sdk_result(
    instrumented: AnthropicInstrumentor,
    fake_anthropic: FakeHTTPServer,
    span_exporter: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(usage: Any) -> None:
        raise RuntimeError("extractor bug")

    monkeypatch.setattr(messages_module, "usage_from_anthropic", broken)
    message = call(fake_anthropic.origin, "create", request(), is_async=False)

    assert message.usage.input_tokens == 25
    span = only_span(span_exporter)
    assert GenAI.USAGE_INPUT_TOKENS not in (span.attributes or {})
    assert span.status.status_code is StatusCode.UNSET


def test_uninstrument_stops_spans(
    instrumented: AnthropicInstrumentor, fake_anthropic: FakeHTTPServer, span_exporter: InMemorySpanExporter
) -> None:
    instrumented.uninstrument()
    for shape in SHAPES:
        call(fake_anthropic.origin, shape, request(), is_async=False)

    assert span_exporter.get_finished_spans() == ()


@pytest.mark.parametrize("shape", ["create_stream", "stream_helper"])
def test_bedrock_client_streams_over_aws_event_stream(
    instrumented: AnthropicInstrumentor, span_exporter: InMemorySpanExporter, shape: str
) -> None:
    model = "anthropic.claude-haiku-4-5-20251001-v1:0"
    client_type = functools.partial(
        anthropic.AnthropicBedrock, aws_access_key="AKIAFAKE", aws_secret_key="fake-secret", aws_region="us-east-1"
    )
    with fake_bedrock.server() as bedrock:
        call(bedrock.origin, shape, request("cached", model=model), is_async=False, client_type=client_type)
        assert bedrock.requests[-1].path.endswith("/invoke-with-response-stream")

    attributes = only_span(span_exporter).attributes or {}
    tokens = fake_bedrock.CACHED  # uncached input, cache reads, 5-minute cache writes, output
    total_input = tokens.input + tokens.cache_read + tokens.cache_write
    price = rates(PricingTable.default().match(model, provider=Provider.AWS_BEDROCK), input_tokens=total_input)
    write = price.get("input.cache_creation_5m", price.get("input.cache_creation", price["input"]))
    expected = (
        tokens.input * price["input"]
        + tokens.cache_read * price.get("input.cache_read", price["input"])
        + tokens.cache_write * write
        + tokens.output * price["output"]
    ) / MILLION
    assert attributes[GenAI.PROVIDER_NAME] == Provider.AWS_BEDROCK
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == total_input
    assert attributes[GenAI.USAGE_CACHE_CREATION_INPUT_TOKENS] == tokens.cache_write
    assert attributes[GenAI.USAGE_OUTPUT_TOKENS] == tokens.output
    assert attributes[GenAI.USAGE_COST_AMOUNT] == float(expected)
