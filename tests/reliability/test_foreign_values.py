"""One validation rule for token counts and cost amounts, whoever reads them.

``CostSpanProcessor`` reads other instrumentations' spans: a token count that is negative,
a bool, NaN, infinite, ``1e300`` or wider than int64 is not a count (a float is truncated), and a pre-set
cost amount that is NaN, infinite or negative is not an amount (the span is priced here
instead). Nothing of them reaches the exported attributes, the cost metric, the parent's
``genai_cost.subtree.*`` totals or ``track_usage``. Subtree token sums stop at the int64
limit, and the OTLP encoder keeps them. The same values sent by a server reach the processor
through openai-v2's spans, and our own instrumentor's extractors, over the real SDK; counts our
extractors sum from reported parts (Anthropic's uncached input + cache, Gemini's prompt + tool
use) saturate at int64 too.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import anthropic
import httpx2
import pytest
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from tests.integration.google_genai.helpers import client as gemini_client
from tests.reliability.support import wire
from tests.reliability.support.checks import assert_valid_attributes
from tests.reliability.support.fault_server import FaultServer
from tests.reliability.support.harness import client, pricing_table, stated_cost
from tests.support.telemetry import metric_points
from tests.support.venvs import import_peer

from genai_cost import track_usage
from genai_cost import usage as rules
from genai_cost.instrumentation.anthropic import AnthropicInstrumentor
from genai_cost.instrumentation.google_genai import GoogleGenAIInstrumentor
from genai_cost.instrumentation.openai import OpenAIInstrumentor
from genai_cost.processor import CostSpanProcessor
from genai_cost.semconv import CostSource, GenAI, Legacy, Metrics, OpenInference, Ours
from genai_cost.tracking import UsageTotals

INT64_MAX = 2**63 - 1
LLM_SPAN = "chat gpt-4o-mini"
CALL = {GenAI.PROVIDER_NAME: "openai", GenAI.REQUEST_MODEL: "gpt-4o-mini"}


class Pipeline:
    """A plain tracer (standing for another instrumentation) through ``CostSpanProcessor``."""

    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader], shutdown_on_exit=False)
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(
            CostSpanProcessor(SimpleSpanProcessor(self.spans), pricing_table(), self.meter_provider)
        )
        self.tracer = self.tracer_provider.get_tracer("other-instrumentation")

    def calls_under_a_request(self, *calls: dict[str, Any]) -> UsageTotals:
        """One ``request`` span with one LLM span per attribute set below it, inside ``track_usage``."""
        with track_usage() as usage, self.tracer.start_as_current_span("request"):
            for attributes in calls:
                self.tracer.start_span(LLM_SPAN, kind=SpanKind.CLIENT, attributes={**CALL, **attributes}).end()
        return usage

    def span(self, name: str) -> ReadableSpan:
        [span] = [span for span in self.spans.get_finished_spans() if span.name == name]
        return span

    def cost_points(self) -> list[float]:
        return [point.sum for point in metric_points(self.reader, Metrics.OPERATION_COST)]


@pytest.fixture
def pipeline() -> Pipeline:
    return Pipeline()


def _encoded_attributes(span: ReadableSpan) -> dict[str, Any]:
    """The span's attributes as the OTLP encoder writes them (what a collector receives)."""
    [resource_spans] = encode_spans([span]).resource_spans
    [scope_spans] = resource_spans.scope_spans
    [encoded] = scope_spans.spans
    return {item.key: getattr(item.value, item.value.WhichOneof("value")) for item in encoded.attributes}


NOT_COUNTS = [
    pytest.param(-1_000_000, id="negative"),
    pytest.param(math.nan, id="nan"),
    pytest.param(math.inf, id="inf"),
    pytest.param(1e300, id="float-1e300"),
    pytest.param(True, id="bool"),
    pytest.param(2**63, id="beyond-int64"),
    pytest.param(-1.0, id="negative-float"),
]
INPUT_NAMES = [
    pytest.param((GenAI.USAGE_INPUT_TOKENS, GenAI.USAGE_OUTPUT_TOKENS), id="semconv"),
    pytest.param((Legacy.USAGE_PROMPT_TOKENS, Legacy.USAGE_COMPLETION_TOKENS), id="legacy"),
    pytest.param((OpenInference.TOKEN_COUNT_PROMPT, OpenInference.TOKEN_COUNT_COMPLETION), id="openinference"),
]


@pytest.mark.parametrize("names", INPUT_NAMES)
@pytest.mark.parametrize("value", NOT_COUNTS)
def test_a_value_that_is_not_a_count_is_ignored(pipeline: Pipeline, names: tuple[str, str], value: Any) -> None:
    input_name, output_name = names
    usage = pipeline.calls_under_a_request({input_name: value, output_name: 10})

    expected = stated_cost(input_tokens=0, cached=0, output_tokens=10)
    llm, request = pipeline.span(LLM_SPAN), pipeline.span("request")
    assert (llm.attributes or {})[GenAI.USAGE_COST_AMOUNT] == float(expected)
    assert pipeline.cost_points() == [float(expected)]
    subtree = request.attributes or {}
    assert (subtree[Ours.SUBTREE_INPUT_TOKENS], subtree[Ours.SUBTREE_OUTPUT_TOKENS]) == (0, 10)
    assert subtree[Ours.SUBTREE_COST_AMOUNT] == float(expected)
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_cost) == (0, 10, expected)
    assert_valid_attributes(request)


def test_a_float_count_from_loose_json_is_truncated(pipeline: Pipeline) -> None:
    usage = pipeline.calls_under_a_request({GenAI.USAGE_INPUT_TOKENS: 120.0, GenAI.USAGE_OUTPUT_TOKENS: 10.7})

    assert (usage.prompt_tokens, usage.completion_tokens) == (120, 10)
    assert usage.total_cost == stated_cost(input_tokens=120, cached=0, output_tokens=10)


NOT_AMOUNTS = [
    pytest.param(math.nan, id="nan"),
    pytest.param(math.inf, id="inf"),
    pytest.param(-5.0, id="negative"),
    pytest.param(-5, id="negative-int"),
    pytest.param(True, id="bool"),
]


@pytest.mark.parametrize("amount", NOT_AMOUNTS)
def test_a_preset_amount_that_is_not_an_amount_is_priced_here(pipeline: Pipeline, amount: Any) -> None:
    tokens = {GenAI.USAGE_INPUT_TOKENS: 120, GenAI.USAGE_OUTPUT_TOKENS: 10}
    usage = pipeline.calls_under_a_request({**tokens, GenAI.USAGE_COST_AMOUNT: amount})

    expected = stated_cost(input_tokens=120, cached=0, output_tokens=10)
    llm = pipeline.span(LLM_SPAN).attributes or {}
    assert (llm[GenAI.USAGE_COST_AMOUNT], llm[GenAI.USAGE_COST_SOURCE]) == (float(expected), CostSource.LOCAL)
    assert (pipeline.span("request").attributes or {})[Ours.SUBTREE_COST_AMOUNT] == float(expected)
    assert pipeline.cost_points() == [float(expected)]
    assert usage.total_cost == expected


def test_a_valid_preset_amount_is_kept_and_rolled_up(pipeline: Pipeline) -> None:
    tokens = {GenAI.USAGE_INPUT_TOKENS: 120, GenAI.USAGE_OUTPUT_TOKENS: 10}
    usage = pipeline.calls_under_a_request({**tokens, GenAI.USAGE_COST_AMOUNT: 0.25})

    assert (pipeline.span(LLM_SPAN).attributes or {})[GenAI.USAGE_COST_AMOUNT] == 0.25
    assert (pipeline.span("request").attributes or {})[Ours.SUBTREE_COST_AMOUNT] == 0.25
    assert pipeline.cost_points() == []  # whoever priced it recorded it
    assert usage.total_cost == Decimal(0)


def test_subtree_token_sums_saturate_at_int64_and_are_encoded(
    pipeline: Pipeline, caplog: pytest.LogCaptureFixture
) -> None:
    huge = {GenAI.USAGE_INPUT_TOKENS: INT64_MAX, GenAI.USAGE_OUTPUT_TOKENS: INT64_MAX}
    pipeline.calls_under_a_request(huge, huge, {GenAI.USAGE_INPUT_TOKENS: 5, GenAI.USAGE_OUTPUT_TOKENS: 5})

    request = pipeline.span("request")
    subtree = request.attributes or {}
    assert (subtree[Ours.SUBTREE_INPUT_TOKENS], subtree[Ours.SUBTREE_OUTPUT_TOKENS]) == (INT64_MAX, INT64_MAX)
    assert subtree[Ours.SUBTREE_CALLS] == 3
    assert math.isfinite(subtree[Ours.SUBTREE_COST_AMOUNT])
    encoded = _encoded_attributes(request)
    assert (encoded[Ours.SUBTREE_INPUT_TOKENS], encoded[Ours.SUBTREE_OUTPUT_TOKENS]) == (INT64_MAX, INT64_MAX)
    assert encoded[Ours.SUBTREE_CALLS] == 3

    pipeline.calls_under_a_request(huge, huge)  # saturates again: logged once per processor
    assert [record.getMessage() for record in caplog.records if "int64" in record.getMessage()] == [
        f"genai-cost: a subtree token sum reached the int64 limit ({INT64_MAX}); it is reported at that limit"
    ]


HOSTILE_USAGE = [
    pytest.param({"prompt_tokens": -1_000_000, "completion_tokens": 10}, id="negative"),
    pytest.param({"prompt_tokens": 1e300, "completion_tokens": 10}, id="float-1e300"),
    pytest.param({"prompt_tokens": 2**64, "completion_tokens": 10}, id="beyond-int64"),
]


@pytest.fixture
def openai_v2(pipeline: Pipeline) -> Iterator[None]:
    instrumentor = import_peer("opentelemetry.instrumentation.openai_v2").OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider)
    yield
    instrumentor.uninstrument()


def _chat(faults: FaultServer, usage: dict[str, Any]) -> None:
    client(faults.base_url).chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Hello"}],
        extra_headers=faults.headers(wire.json_reply(wire.chat_completion(usage=usage))),
    )


@pytest.mark.usefixtures("openai_v2")
@pytest.mark.parametrize("server_usage", HOSTILE_USAGE)
def test_hostile_usage_through_openai_v2_spans(
    pipeline: Pipeline, faults: FaultServer, server_usage: dict[str, Any]
) -> None:
    with track_usage() as usage:
        _chat(faults, server_usage)

    expected = stated_cost(input_tokens=0, cached=0, output_tokens=10)
    assert (pipeline.span(LLM_SPAN).attributes or {})[GenAI.USAGE_COST_AMOUNT] == float(expected)
    assert pipeline.cost_points() == [float(expected)]
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_cost) == (0, 10, expected)


@pytest.mark.parametrize("server_usage", HOSTILE_USAGE)
def test_hostile_usage_through_our_extractors(
    pipeline: Pipeline, faults: FaultServer, server_usage: dict[str, Any]
) -> None:
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(
        tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider, pricing=pricing_table()
    )
    try:
        with track_usage() as usage:
            _chat(faults, server_usage)
    finally:
        instrumentor.uninstrument()

    expected = stated_cost(input_tokens=0, cached=0, output_tokens=10)
    span = pipeline.span(LLM_SPAN)
    assert_valid_attributes(span)
    attributes = span.attributes or {}
    assert GenAI.USAGE_INPUT_TOKENS not in attributes
    assert attributes[GenAI.USAGE_COST_AMOUNT] == float(expected)
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_cost) == (0, 10, expected)


def _anthropic_message(usage: dict[str, Any]) -> dict[str, Any]:
    return {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
            "content": [{"type": "text", "text": "Hi."}], "stop_reason": "end_turn", "stop_sequence": None,
            "usage": usage}  # fmt: skip


def _gemini_response(usage: dict[str, Any]) -> dict[str, Any]:
    candidate = {"content": {"parts": [{"text": "Hi."}], "role": "model"}, "finishReason": "STOP", "index": 0}
    return {"candidates": [candidate], "usageMetadata": usage, "modelVersion": "gemini-2.5-flash"}


def _call_anthropic(faults: FaultServer) -> None:
    usage = {"input_tokens": INT64_MAX, "cache_read_input_tokens": 10, "output_tokens": 5}
    sdk = anthropic.Anthropic(base_url=faults.root_url, api_key="sk-ant-test", max_retries=0)
    sdk.messages.create(
        model="claude-haiku-4-5",
        max_tokens=16,
        messages=[{"role": "user", "content": "Hello"}],
        extra_headers=faults.headers(wire.json_reply(_anthropic_message(usage))),
    )


def _call_gemini(faults: FaultServer) -> None:
    usage = {"promptTokenCount": INT64_MAX, "toolUsePromptTokenCount": 5, "cachedContentTokenCount": 10,
             "candidatesTokenCount": INT64_MAX, "thoughtsTokenCount": 5}  # fmt: skip
    with httpx2.Client() as http:
        gemini = gemini_client(faults.root_url, "gemini", http=http)
        config = {"http_options": {"headers": faults.headers(wire.json_reply(_gemini_response(usage)))}}
        gemini.models.generate_content(model="gemini-2.5-flash", contents="Hello", config=config)


@pytest.mark.parametrize(
    ("instrumentor", "call"),
    [
        pytest.param(AnthropicInstrumentor, _call_anthropic, id="anthropic-uncached-plus-cache"),
        pytest.param(GoogleGenAIInstrumentor, _call_gemini, id="gemini-prompt-plus-tool-use"),
    ],
)
def test_extractor_sums_saturate_at_int64(
    pipeline: Pipeline, faults: FaultServer, instrumentor: type[Any], call: Callable[[FaultServer], None]
) -> None:
    """Our extractors' siblings: a semconv count that is a sum of reported parts stays within int64."""
    instance = instrumentor()
    instance.instrument(
        tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider, pricing=pricing_table()
    )
    try:
        call(faults)
    finally:
        instance.uninstrument()

    [span] = pipeline.spans.get_finished_spans()
    assert_valid_attributes(span)
    attributes = span.attributes or {}
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == INT64_MAX
    assert attributes[GenAI.USAGE_CACHE_READ_INPUT_TOKENS] == 10
    assert _encoded_attributes(span)[GenAI.USAGE_INPUT_TOKENS] == INT64_MAX


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(0, 0, id="zero"),
        pytest.param(INT64_MAX, INT64_MAX, id="int64-max"),
        pytest.param(12.9, 12, id="float-truncated"),
        pytest.param(2**63, None, id="int64-max-plus-one"),
        pytest.param(float(2**63), None, id="float-int64-max-plus-one"),
        pytest.param(-1, None, id="negative"),
        pytest.param(math.nan, None, id="nan"),
        pytest.param(-math.inf, None, id="minus-inf"),
        pytest.param(False, None, id="bool"),
        pytest.param("12", None, id="string"),
        pytest.param(Decimal(12), None, id="decimal"),
    ],
)
def test_token_count_rule(value: Any, expected: int | None) -> None:
    assert rules.token_count(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(0.1, Decimal("0.1"), id="float-by-repr"),
        pytest.param(0, Decimal(0), id="zero"),
        pytest.param("0.002", Decimal("0.002"), id="numeric-string"),
        pytest.param(Decimal("1.5"), Decimal("1.5"), id="decimal"),
        pytest.param(-0.01, None, id="negative"),
        pytest.param(math.inf, None, id="inf"),
        pytest.param(math.nan, None, id="nan"),
        pytest.param("NaN", None, id="nan-string"),
        pytest.param("sNaN", None, id="signalling-nan-string"),
        pytest.param("1e400", None, id="beyond-float"),
        pytest.param("cheap", None, id="not-a-number"),
        pytest.param(True, None, id="bool"),
        pytest.param(None, None, id="none"),
    ],
)
def test_cost_amount_rule(value: Any, expected: Decimal | None) -> None:
    assert rules.cost_amount(value) == expected


def test_token_detail_totals_saturate_and_the_metrics_encode(pipeline: Pipeline, faults: FaultServer) -> None:
    """The metric sibling of the rollup: a running total wider than int64 failed the whole OTLP export."""
    huge = {"prompt_tokens": INT64_MAX, "completion_tokens": 10, "prompt_tokens_details": {"cached_tokens": INT64_MAX}}
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(
        tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider, pricing=pricing_table()
    )
    try:
        _chat(faults, huge)
        _chat(faults, huge)
    finally:
        instrumentor.uninstrument()

    [cache_read] = metric_points(pipeline.reader, Metrics.TOKEN_DETAIL)
    assert cache_read.value == INT64_MAX
    encode_metrics(pipeline.reader.get_metrics_data()).SerializeToString()
