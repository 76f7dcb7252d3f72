"""A call is priced at the service tier (speed, processing) the provider served (issue 15).

The real openai and anthropic SDKs talk to the local fault server, which answers as the APIs
do: OpenAI ``service_tier`` in the completion, in every stream chunk, in the Responses object;
Anthropic ``usage.service_tier``/``speed``/``inference_geo`` in the message and the stream's
``message_start``. The expected
cost is genai-prices' own ``calc_price`` with that ``price_context`` on the same usage, at the
span's start time; nothing is hard-coded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import anthropic
import boto3
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from tests.reliability.support import wire
from tests.reliability.support.archive import API_KEY
from tests.reliability.support.fault_server import Connection, FaultServer, HttpRequest, Script
from tests.reliability.support.harness import client
from tests.support.fake_bedrock import encode_event

from genai_cost.instrumentation.anthropic import AnthropicInstrumentor
from genai_cost.instrumentation.bedrock import BedrockInstrumentor
from genai_cost.instrumentation.openai import OpenAIInstrumentor
from genai_cost.pricing import PricingTable
from genai_cost.processor import CostSpanProcessor
from genai_cost.semconv import GenAI, Ours

genai_prices = pytest.importorskip("genai_prices")

MODEL = "gpt-5"
TIER_ATTRIBUTE = Ours.PRICING_CONTEXT_PREFIX + "service_tier"
TIERS = [pytest.param(tier, id=tier) for tier in ("flex", "priority", "default")]


class Pipeline:
    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()], shutdown_on_exit=False)
        self.tracer_provider = TracerProvider()
        table = PricingTable.load()
        self.tracer_provider.add_span_processor(
            CostSpanProcessor(SimpleSpanProcessor(self.spans), table, self.meter_provider)
        )
        self.instrumentors = (OpenAIInstrumentor(), AnthropicInstrumentor(), BedrockInstrumentor())
        for instrumentor in self.instrumentors:
            instrumentor.instrument(
                tracer_provider=self.tracer_provider, meter_provider=self.meter_provider, pricing=table
            )

    def only_span(self) -> ReadableSpan:
        spans = self.spans.get_finished_spans()
        assert len(spans) == 1, [span.name for span in spans]
        return spans[0]


@pytest.fixture
def pipeline() -> Iterator[Pipeline]:
    pipeline = Pipeline()
    yield pipeline
    for instrumentor in pipeline.instrumentors:
        instrumentor.uninstrument()


def expected_cost(span: ReadableSpan, tier: str, *, input_tokens: int, cached: int, output_tokens: int) -> Decimal:
    assert span.start_time is not None
    return genai_prices.calc_price(
        genai_prices.Usage(input_tokens=input_tokens, cache_read_tokens=cached, output_tokens=output_tokens),
        MODEL,
        provider_id="openai",
        genai_request_timestamp=datetime.fromtimestamp(span.start_time / 1e9, timezone.utc),
        price_context={"service_tier": tier},
    ).total_price


def assert_priced_at(span: ReadableSpan, tier: str) -> None:
    attributes = span.attributes or {}
    usage = wire.USAGE
    expected = expected_cost(
        span,
        tier,
        input_tokens=usage["prompt_tokens"],
        cached=usage["prompt_tokens_details"]["cached_tokens"],
        output_tokens=usage["completion_tokens"],
    )
    assert attributes[GenAI.USAGE_COST_AMOUNT] == float(expected)
    assert attributes[GenAI.RESPONSE_SERVICE_TIER] == tier
    if tier == "default":
        assert TIER_ATTRIBUTE not in attributes
    else:
        assert attributes[TIER_ATTRIBUTE] == tier


def _named_context(attributes: Any) -> dict[str, Any]:
    """The pricing context a span names (``genai_cost.pricing.context.<key>``)."""
    return {
        key.removeprefix(Ours.PRICING_CONTEXT_PREFIX): value
        for key, value in attributes.items()
        if key.startswith(Ours.PRICING_CONTEXT_PREFIX)
    }


def test_the_tiers_have_their_own_prices() -> None:
    """Guards the tests below: flex, default and priority cost differently for this model."""
    usage = genai_prices.Usage(input_tokens=1000, output_tokens=1000)
    costs = {
        tier: genai_prices.calc_price(usage, MODEL, provider_id="openai", price_context={"service_tier": tier})
        for tier in ("flex", "default", "priority")
    }
    assert costs["flex"].total_price < costs["default"].total_price < costs["priority"].total_price


@pytest.mark.parametrize("tier", TIERS)
def test_chat_completion_is_priced_at_the_served_tier(pipeline: Pipeline, faults: FaultServer, tier: str) -> None:
    body = wire.chat_completion(MODEL, service_tier=tier)
    client(faults.base_url).chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Hello"}],
        service_tier="auto",  # what was asked does not matter; what was served does
        extra_headers=faults.headers(wire.json_reply(body)),
    )
    assert_priced_at(pipeline.only_span(), tier)


@pytest.mark.parametrize("tier", TIERS)
def test_chat_stream_is_priced_at_the_served_tier(pipeline: Pipeline, faults: FaultServer, tier: str) -> None:
    chunks = [{**chunk, "service_tier": tier} for chunk in wire.chat_chunks(MODEL)]
    stream = client(faults.base_url).chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Hello"}],
        stream=True,
        stream_options={"include_usage": True},
        extra_headers=faults.headers(wire.sse_reply(chunks)),
    )
    for _ in stream:
        pass
    assert_priced_at(pipeline.only_span(), tier)


def _responses_body(tier: str) -> dict[str, Any]:
    usage = wire.USAGE
    return {
        "id": "resp_tiers",
        "object": "response",
        "created_at": 1_763_000_000,
        "status": "completed",
        "error": None,
        "incomplete_details": None,
        "model": MODEL,
        "output": [
            {
                "type": "message",
                "id": "msg_tiers",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Hello there.", "annotations": []}],
            }
        ],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "service_tier": tier,
        "usage": {
            "input_tokens": usage["prompt_tokens"],
            "input_tokens_details": {"cached_tokens": usage["prompt_tokens_details"]["cached_tokens"]},
            "output_tokens": usage["completion_tokens"],
            "output_tokens_details": {"reasoning_tokens": 10},
            "total_tokens": usage["total_tokens"],
        },
    }


@pytest.mark.parametrize("tier", TIERS)
def test_responses_call_is_priced_at_the_served_tier(pipeline: Pipeline, faults: FaultServer, tier: str) -> None:
    client(faults.base_url).responses.create(
        model=MODEL, input="Hello", extra_headers=faults.headers(wire.json_reply(_responses_body(tier)))
    )
    assert_priced_at(pipeline.only_span(), tier)


@pytest.mark.parametrize("tier", TIERS)
def test_foreign_span_is_priced_at_its_service_tier(pipeline: Pipeline, tier: str) -> None:
    # An openai-v2 instrumentation's span: gen_ai usage and openai.response.service_tier, no cost.
    tracer = pipeline.tracer_provider.get_tracer("opentelemetry.instrumentation.openai_v2")
    tracer.start_span(
        f"chat {MODEL}",
        kind=SpanKind.CLIENT,
        attributes={
            GenAI.PROVIDER_NAME: "openai",
            GenAI.REQUEST_MODEL: MODEL,
            GenAI.RESPONSE_MODEL: MODEL,
            GenAI.USAGE_INPUT_TOKENS: 1200,
            GenAI.USAGE_OUTPUT_TOKENS: 300,
            GenAI.RESPONSE_SERVICE_TIER: tier,
        },
    ).end()
    span = pipeline.only_span()
    attributes = span.attributes or {}
    expected = expected_cost(span, tier, input_tokens=1200, cached=0, output_tokens=300)
    assert attributes[GenAI.USAGE_COST_AMOUNT] == float(expected)
    assert attributes.get(TIER_ATTRIBUTE) == (None if tier == "default" else tier)


# --- Anthropic: usage.service_tier, speed, inference_geo ------------------------------------

CLAUDE = "claude-opus-4-8"
CLAUDE_USAGE = {"input_tokens": 25, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 40,
                "output_tokens": 30}  # fmt: skip
SERVED = [
    pytest.param({"speed": "fast"}, {"speed": "fast"}, id="fast-mode"),
    pytest.param({"service_tier": "batch"}, {"processing": "batch"}, id="batch"),
    pytest.param({"service_tier": "priority"}, {"service_tier": "priority"}, id="priority"),
    pytest.param({"inference_geo": "us"}, {"inference_geo": "us"}, id="us-only-inference"),
    pytest.param({"service_tier": "standard", "speed": "standard", "inference_geo": "global"}, {}, id="standard"),
]


def _claude_message(served: dict[str, str]) -> dict[str, Any]:
    return {"id": "msg_served", "type": "message", "role": "assistant", "model": CLAUDE,
            "content": [{"type": "text", "text": "Hi."}], "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {**CLAUDE_USAGE, **served}}  # fmt: skip


def _claude_events(served: dict[str, str]) -> list[tuple[str, Any]]:
    start = {**_claude_message(served), "content": [], "stop_reason": None}
    start["usage"] = {**start["usage"], "output_tokens": 1}
    return [
        ("message_start", {"type": "message_start", "message": start}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "text_delta", "text": "Hi."}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                           "usage": {"output_tokens": CLAUDE_USAGE["output_tokens"]}}),
        ("message_stop", {"type": "message_stop"}),
    ]  # fmt: skip


def test_fast_mode_has_its_own_price() -> None:
    """Guards the tests below: fast mode and batch cost differently from standard for this model."""
    usage = genai_prices.Usage(input_tokens=1000, output_tokens=1000)

    def cost(context: dict[str, str]) -> Decimal:
        return genai_prices.calc_price(usage, CLAUDE, provider_id="anthropic", price_context=context).total_price

    assert cost({"processing": "batch"}) < cost({}) < cost({"speed": "fast"})


@pytest.mark.parametrize("stream", [pytest.param(False, id="message"), pytest.param(True, id="stream")])
@pytest.mark.parametrize(("served", "context"), SERVED)
def test_anthropic_call_is_priced_as_served(
    pipeline: Pipeline, faults: FaultServer, served: dict[str, str], context: dict[str, str], stream: bool
) -> None:
    script = wire.sse_reply(_claude_events(served)) if stream else wire.json_reply(_claude_message(served))
    sdk = anthropic.Anthropic(base_url=faults.root_url, api_key=API_KEY, max_retries=0)
    result = sdk.messages.create(
        model=CLAUDE,
        max_tokens=64,
        messages=[{"role": "user", "content": "Hello"}],
        stream=stream,
        extra_headers=faults.headers(script),
    )
    if stream:
        for _ in result:  # type: ignore[union-attr]
            pass
    span = pipeline.only_span()
    attributes = span.attributes or {}
    assert span.start_time is not None
    expected = genai_prices.calc_price(
        genai_prices.Usage(
            input_tokens=CLAUDE_USAGE["input_tokens"]
            + CLAUDE_USAGE["cache_read_input_tokens"]
            + CLAUDE_USAGE["cache_creation_input_tokens"],
            cache_read_tokens=CLAUDE_USAGE["cache_read_input_tokens"],
            cache_write_tokens=CLAUDE_USAGE["cache_creation_input_tokens"],
            output_tokens=CLAUDE_USAGE["output_tokens"],
        ),
        CLAUDE,
        provider_id="anthropic",
        genai_request_timestamp=datetime.fromtimestamp(span.start_time / 1e9, timezone.utc),
        price_context=context,
    ).total_price
    assert attributes[GenAI.USAGE_COST_AMOUNT] == float(expected)
    assert _named_context(attributes) == context


# --- time of day: DeepSeek peak and off-peak hours -----------------------------------------

PEAK = datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc)
OFF_PEAK = datetime(2026, 11, 2, 20, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("at", [pytest.param(PEAK, id="peak"), pytest.param(OFF_PEAK, id="off-peak")])
def test_deepseek_span_is_priced_at_the_hour_it_started(pipeline: Pipeline, at: datetime) -> None:
    # Another instrumentation's span of a DeepSeek call that started at ``at``: priced by the processor.
    tracer = pipeline.tracer_provider.get_tracer("other-instrumentation")
    start_ns = int(at.timestamp() * 1e9)
    tracer.start_span(
        "chat deepseek-chat",
        kind=SpanKind.CLIENT,
        start_time=start_ns,
        attributes={
            GenAI.PROVIDER_NAME: "deepseek",
            GenAI.REQUEST_MODEL: "deepseek-chat",
            GenAI.USAGE_INPUT_TOKENS: 1200,
            GenAI.USAGE_OUTPUT_TOKENS: 300,
        },
    ).end(end_time=start_ns + 1_000_000)
    expected = genai_prices.calc_price(
        genai_prices.Usage(input_tokens=1200, output_tokens=300),
        "deepseek-chat",
        provider_id="deepseek",
        genai_request_timestamp=at,
    ).total_price
    assert (pipeline.only_span().attributes or {})[GenAI.USAGE_COST_AMOUNT] == float(expected)


def test_deepseek_off_peak_is_cheaper() -> None:
    """Guards the test above: the two instants have different prices."""
    usage = genai_prices.Usage(input_tokens=1200, output_tokens=300)
    peak, off_peak = (
        genai_prices.calc_price(usage, "deepseek-chat", provider_id="deepseek", genai_request_timestamp=at).total_price
        for at in (PEAK, OFF_PEAK)
    )
    assert off_peak < peak


# --- Bedrock Converse: serviceTier, performanceConfig ---------------------------------------

BEDROCK_MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"
BEDROCK_USAGE = {"inputTokens": 1200, "outputTokens": 300, "totalTokens": 1500}


def _converse_stream(served: dict[str, Any]) -> Script:
    """A ConverseStream answer whose ``metadata`` event carries what was served."""
    events = [
        ("messageStart", {"role": "assistant"}),
        ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hi."}}),
        ("contentBlockStop", {"contentBlockIndex": 0}),
        ("messageStop", {"stopReason": "end_turn"}),
        ("metadata", {"usage": BEDROCK_USAGE, "metrics": {"latencyMs": 12}, **served}),
    ]
    payload = b"".join(
        encode_event({":event-type": kind, ":content-type": "application/json", ":message-type": "event"},
                     json.dumps(event).encode())
        for kind, event in events
    )  # fmt: skip

    def script(connection: Connection, request: HttpRequest) -> None:
        connection.respond(200, payload, content_type="application/vnd.amazon.eventstream")

    return script


@pytest.mark.parametrize("stream", [pytest.param(False, id="converse"), pytest.param(True, id="converse-stream")])
@pytest.mark.parametrize(
    ("served", "context"),
    [
        pytest.param({"serviceTier": {"type": "priority"}, "performanceConfig": {"latency": "optimized"}},
                     {"service_tier": "priority", "latency": "optimized"}, id="priority-optimized"),
        pytest.param({"serviceTier": {"type": "default"}, "performanceConfig": {"latency": "standard"}}, {},
                     id="standard"),
    ],
)  # fmt: skip
def test_bedrock_converse_names_what_it_served(
    pipeline: Pipeline, faults: FaultServer, served: dict[str, Any], context: dict[str, str], stream: bool
) -> None:
    body = {
        "output": {"message": {"role": "assistant", "content": [{"text": "Hi."}]}},
        "stopReason": "end_turn",
        "usage": BEDROCK_USAGE,
        "metrics": {"latencyMs": 12},
        **served,
    }
    headers = faults.headers(_converse_stream(served) if stream else wire.json_reply(body))
    client = boto3.session.Session().client(
        "bedrock-runtime", region_name="us-east-1", endpoint_url=faults.root_url,
        aws_access_key_id="AKIDSERVED", aws_secret_access_key="served-secret",
    )  # fmt: skip

    def add_fault(request: Any, **kwargs: Any) -> None:
        for name, value in headers.items():
            request.headers[name] = value

    client.meta.events.register("before-sign.bedrock-runtime", add_fault)
    messages = [{"role": "user", "content": [{"text": "Hello"}]}]
    if stream:
        for _ in client.converse_stream(modelId=BEDROCK_MODEL, messages=messages)["stream"]:
            pass
    else:
        client.converse(modelId=BEDROCK_MODEL, messages=messages)
    span = pipeline.only_span()
    attributes = span.attributes or {}
    assert span.start_time is not None
    # No Bedrock tier prices in genai-prices 0.2.3: both price at the standard rates, as theirs do.
    expected = genai_prices.calc_price(
        genai_prices.Usage(input_tokens=1200, output_tokens=300),
        BEDROCK_MODEL,
        provider_id="aws",
        genai_request_timestamp=datetime.fromtimestamp(span.start_time / 1e9, timezone.utc),
        price_context=context,
    ).total_price
    assert attributes[GenAI.USAGE_COST_AMOUNT] == float(expected)
    assert _named_context(attributes) == context
