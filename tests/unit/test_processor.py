"""CostSpanProcessor on spans made with the OpenTelemetry API: pricing, pass-through, rollup, caps."""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanLimits, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanContext, SpanKind, StatusCode, Tracer, set_span_in_context, use_span
from tests.support.telemetry import metric_points

from genai_cost import track_usage
from genai_cost.pricing import PricingTable
from genai_cost.processor import CostSpanProcessor
from genai_cost.semconv import CostSource, GenAI, Legacy, Metrics, OpenInference, Ours, PricingStatus

# Stated prices per 1M tokens: input $2, cache read $1, output $3 (DESIGN's worked example).
INPUT, CACHE_READ, OUTPUT = Decimal(2), Decimal(1), Decimal(3)
TABLE = PricingTable.load(
    entries=[
        {
            "id": "test:model-a",
            "provider": "openai",
            "match": {"exact": "model-a"},
            "input": float(INPUT),
            "output": float(OUTPUT),
            "input_breakdown": {"cache_read": float(CACHE_READ)},
        }
    ],
    include_bundled=False,
)


def stated_cost(input_tokens: int, output_tokens: int, cache_read: int = 0) -> float:
    total = (input_tokens - cache_read) * INPUT + cache_read * CACHE_READ + output_tokens * OUTPUT
    return float(total / Decimal(1_000_000))


class Recorder(SpanProcessor):
    """The next processor: remembers what it was given."""

    def __init__(self) -> None:
        self.started: list[Span] = []
        self.ended: list[ReadableSpan] = []
        self.calls: list[str] = []

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self.started.append(span)

    def on_end(self, span: ReadableSpan) -> None:
        self.ended.append(span)

    def shutdown(self) -> None:
        self.calls.append("shutdown")

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        self.calls.append(f"force_flush {timeout_millis}")
        return True


class Pipeline:
    def __init__(self, **options: Any) -> None:
        self.exporter = InMemorySpanExporter()
        self.reader = InMemoryMetricReader()
        self.processor = CostSpanProcessor(
            SimpleSpanProcessor(self.exporter),
            pricing=TABLE,
            meter_provider=MeterProvider(metric_readers=[self.reader]),
            **options,
        )
        provider = TracerProvider()
        provider.add_span_processor(self.processor)
        self.tracer: Tracer = provider.get_tracer("test")

    def span(self, name: str) -> ReadableSpan:
        (span,) = [s for s in self.exporter.get_finished_spans() if s.name == name]
        return span

    def cost_points(self) -> list[Any]:
        return metric_points(self.reader, Metrics.OPERATION_COST)


@pytest.fixture
def pipeline() -> Iterator[Pipeline]:
    yield Pipeline()


SEMCONV = {
    GenAI.PROVIDER_NAME: "openai",
    GenAI.REQUEST_MODEL: "model-a",
    GenAI.USAGE_INPUT_TOKENS: 20,
    GenAI.USAGE_CACHE_READ_INPUT_TOKENS: 5,
    GenAI.USAGE_OUTPUT_TOKENS: 10,
}
LEGACY = {
    Legacy.SYSTEM: "openai",
    GenAI.RESPONSE_MODEL: "model-a",
    Legacy.USAGE_PROMPT_TOKENS: 20,
    Legacy.USAGE_COMPLETION_TOKENS: 10,
}
OPENINFERENCE = {
    OpenInference.PROVIDER: "openai",
    OpenInference.MODEL_NAME: "model-a",
    OpenInference.TOKEN_COUNT_PROMPT: 20,
    OpenInference.TOKEN_COUNT_PROMPT_CACHE_READ: 5,
    OpenInference.TOKEN_COUNT_COMPLETION: 10,
    OpenInference.TOKEN_COUNT_TOTAL: 30,
}


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        pytest.param(SEMCONV, stated_cost(20, 10, cache_read=5), id="semconv"),
        pytest.param(LEGACY, stated_cost(20, 10), id="legacy-prompt-completion"),
        pytest.param(OPENINFERENCE, stated_cost(20, 10, cache_read=5), id="openinference"),
    ],
)
def test_prices_spans_with_usage_but_no_cost(pipeline: Pipeline, attributes: dict[str, Any], expected: float) -> None:
    with track_usage() as usage, pipeline.tracer.start_as_current_span("llm", attributes=attributes):
        pass

    span = pipeline.span("llm")
    assert span.attributes[GenAI.USAGE_COST_AMOUNT] == pytest.approx(expected)
    assert span.attributes[GenAI.USAGE_COST_CURRENCY] == "USD"
    assert span.attributes[GenAI.USAGE_COST_SOURCE] == CostSource.LOCAL
    assert span.attributes[Ours.PRICING_STATUS] == PricingStatus.PRICED
    assert span.attributes[Ours.PRICING_ENTRY] == "test:model-a"
    assert {k: v for k, v in span.attributes.items() if k in attributes} == attributes
    (point,) = pipeline.cost_points()
    assert point.count == 1
    assert point.sum == pytest.approx(expected)
    assert float(usage.total_cost) == pytest.approx(expected)
    assert usage.successful_requests == 1


def test_forwards_a_copy_and_leaves_the_original_untouched() -> None:
    recorder = Recorder()
    processor = CostSpanProcessor(recorder, pricing=TABLE, meter_provider=MeterProvider())
    original = ReadableSpan("llm", attributes=dict(SEMCONV), start_time=1, end_time=2)

    processor.on_end(original)

    (forwarded,) = recorder.ended
    assert forwarded is not original
    assert dict(original.attributes) == SEMCONV
    assert GenAI.USAGE_COST_AMOUNT in forwarded.attributes
    assert (forwarded.name, forwarded.start_time, forwarded.end_time) == ("llm", 1, 2)


def test_the_forwarded_copy_exports_like_the_original_plus_the_cost() -> None:
    recorder = Recorder()
    processor = CostSpanProcessor(recorder, pricing=TABLE, meter_provider=MeterProvider())
    provider = TracerProvider(
        resource=Resource.create({"service.name": "svc"}), span_limits=SpanLimits(max_span_attributes=6)
    )
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("peer.instrumentation", "1.2")
    link = SpanContext(7, 8, is_remote=True)
    with tracer.start_as_current_span("app"):
        span = tracer.start_span("llm", kind=SpanKind.CLIENT, links=[Link(link, {"why": "retry"})])
        span.set_attributes({"dropped.first": 1, "kept": 2, **SEMCONV})  # one over the limit: the oldest is dropped
        span.add_event("chunk", {"index": 0})
        span.set_status(StatusCode.ERROR, "boom")
        span.end()
    original, forwarded = span, recorder.ended[0]
    assert forwarded is not original
    added = {key for key in forwarded.attributes if key not in original.attributes}
    assert GenAI.USAGE_COST_AMOUNT in added

    def without_added(encoded: dict[str, Any]) -> dict[str, Any]:
        encoded["attributes"] = {k: v for k, v in encoded["attributes"].items() if k not in added}
        return encoded

    assert without_added(json.loads(forwarded.to_json())) == json.loads(original.to_json())  # ConsoleSpanExporter
    (otlp_forwarded, otlp_original) = (encode_spans([s]).resource_spans[0] for s in (forwarded, original))
    otlp_span = otlp_forwarded.scope_spans[0].spans[0]
    kept = [kv for kv in otlp_span.attributes if kv.key not in added]
    del otlp_span.attributes[:]
    otlp_span.attributes.extend(kept)
    assert otlp_forwarded == otlp_original
    assert otlp_span.dropped_attributes_count == 1


def test_token_counts_that_are_not_finite_are_ignored(pipeline: Pipeline, caplog: pytest.LogCaptureFixture) -> None:
    attributes = {**SEMCONV, GenAI.USAGE_INPUT_TOKENS: math.nan, GenAI.USAGE_CACHE_READ_INPUT_TOKENS: math.inf}
    with pipeline.tracer.start_as_current_span("llm", attributes=attributes):
        pass

    assert pipeline.span("llm").attributes[GenAI.USAGE_COST_AMOUNT] == pytest.approx(stated_cost(0, 10))
    assert [record for record in caplog.records if record.levelno >= logging.WARNING] == []


@pytest.mark.parametrize(
    "attributes",
    [
        pytest.param({**SEMCONV, GenAI.USAGE_COST_AMOUNT: 0.5}, id="priced-by-an-instrumentor"),
        pytest.param({**SEMCONV, Ours.PRICING_STATUS: PricingStatus.UNKNOWN_MODEL}, id="already-tried"),
        pytest.param({GenAI.REQUEST_MODEL: "model-a"}, id="no-usage"),
        pytest.param({}, id="plain-span"),
    ],
)
def test_passes_other_spans_through_untouched(attributes: dict[str, Any]) -> None:
    recorder = Recorder()
    reader = InMemoryMetricReader()
    processor = CostSpanProcessor(recorder, pricing=TABLE, meter_provider=MeterProvider(metric_readers=[reader]))
    span = ReadableSpan("span", attributes=attributes, start_time=1, end_time=2)

    with track_usage() as usage:
        processor.on_end(span)

    assert recorder.ended == [span]
    assert metric_points(reader, Metrics.OPERATION_COST) == []
    assert metric_points(reader, Metrics.UNPRICED_CALLS) == []
    assert usage.successful_requests == 0


def test_unknown_model_is_marked_and_counted_not_priced(pipeline: Pipeline) -> None:
    attributes = {**SEMCONV, GenAI.REQUEST_MODEL: "no-such-model"}
    with pipeline.tracer.start_as_current_span("llm", attributes=attributes):
        pass

    span = pipeline.span("llm")
    assert span.attributes[Ours.PRICING_STATUS] == PricingStatus.UNKNOWN_MODEL
    assert GenAI.USAGE_COST_AMOUNT not in span.attributes
    (point,) = metric_points(pipeline.reader, Metrics.UNPRICED_CALLS)
    assert point.value == 1
    assert point.attributes[Ours.UNPRICED_REASON] == PricingStatus.UNKNOWN_MODEL


def test_failed_span_with_usage_is_priced_as_failed(pipeline: Pipeline) -> None:
    with track_usage() as usage:
        span = pipeline.tracer.start_span("llm", attributes=SEMCONV)
        span.set_status(StatusCode.ERROR)
        span.end()

    assert pipeline.span("llm").attributes[GenAI.USAGE_COST_AMOUNT] == pytest.approx(stated_cost(20, 10, 5))
    assert usage.failed_requests == 1


def llm(pipeline: Pipeline, name: str, input_tokens: int, output_tokens: int, **extra: Any) -> None:
    attributes = {
        GenAI.PROVIDER_NAME: "openai",
        GenAI.REQUEST_MODEL: "model-a",
        GenAI.USAGE_INPUT_TOKENS: input_tokens,
        GenAI.USAGE_OUTPUT_TOKENS: output_tokens,
        **extra,
    }
    with pipeline.tracer.start_as_current_span(name, attributes=attributes):
        pass


def test_rolls_cost_and_tokens_up_to_every_open_ancestor(pipeline: Pipeline) -> None:
    with pipeline.tracer.start_as_current_span("request"):
        with pipeline.tracer.start_as_current_span("agent"):
            llm(pipeline, "llm-1", 100, 20)
            # Priced by its instrumentor already: its own amount is what rolls up.
            llm(pipeline, "llm-2", 40, 4, **{GenAI.USAGE_COST_AMOUNT: 0.25})
            with pipeline.tracer.start_as_current_span("tool"):
                pass
        llm(pipeline, "llm-3", 10, 1)

    agent_cost = stated_cost(100, 20) + 0.25
    request_cost = agent_cost + stated_cost(10, 1)
    agent = pipeline.span("agent").attributes
    request = pipeline.span("request").attributes
    assert agent[Ours.SUBTREE_COST_AMOUNT] == pytest.approx(agent_cost)
    assert (agent[Ours.SUBTREE_INPUT_TOKENS], agent[Ours.SUBTREE_OUTPUT_TOKENS]) == (140, 24)
    assert agent[Ours.SUBTREE_CALLS] == 2
    assert request[Ours.SUBTREE_COST_AMOUNT] == pytest.approx(request_cost)
    assert (request[Ours.SUBTREE_INPUT_TOKENS], request[Ours.SUBTREE_OUTPUT_TOKENS]) == (150, 25)
    assert request[Ours.SUBTREE_CALLS] == 3
    for name in ("tool", "llm-1", "llm-2", "llm-3"):
        assert Ours.SUBTREE_CALLS not in pipeline.span(name).attributes
    assert pipeline.processor.tracked_traces == 0


def test_unpriced_calls_add_tokens_but_no_cost(pipeline: Pipeline) -> None:
    with pipeline.tracer.start_as_current_span("request"):
        llm(pipeline, "llm", 7, 3, **{GenAI.REQUEST_MODEL: "no-such-model"})

    request = pipeline.span("request").attributes
    assert request[Ours.SUBTREE_COST_AMOUNT] == 0.0
    assert (request[Ours.SUBTREE_INPUT_TOKENS], request[Ours.SUBTREE_CALLS]) == (7, 1)


def test_a_call_ending_after_its_ancestor_is_not_rolled_up(pipeline: Pipeline) -> None:
    root = pipeline.tracer.start_span("request")
    with pipeline.tracer.start_as_current_span("child", context=set_span_in_context(root)):
        root.end()
        llm(pipeline, "late", 10, 1)

    assert Ours.SUBTREE_CALLS not in pipeline.span("request").attributes
    assert pipeline.span("child").attributes[Ours.SUBTREE_CALLS] == 1
    assert pipeline.processor.tracked_traces == 0


def test_a_call_whose_parent_ended_first_reaches_the_ancestors_still_open(pipeline: Pipeline) -> None:
    # LlamaIndex's chat engine span ends when it returns a stream; the call that reads the stream
    # runs under another span of the engine's, after that.
    with pipeline.tracer.start_as_current_span("request"):
        engine = pipeline.tracer.start_span("engine")
        writer = pipeline.tracer.start_span("writer", set_span_in_context(engine))
        engine.end()
        with use_span(writer, end_on_exit=True):
            llm(pipeline, "llm", 10, 1)

    assert Ours.SUBTREE_CALLS not in pipeline.span("engine").attributes
    assert pipeline.span("writer").attributes[Ours.SUBTREE_CALLS] == 1
    request = pipeline.span("request").attributes
    assert (request[Ours.SUBTREE_CALLS], request[Ours.SUBTREE_COST_AMOUNT]) == (1, pytest.approx(stated_cost(10, 1)))
    assert pipeline.processor.tracked_traces == 0


def test_oldest_trace_is_evicted_beyond_max_traces() -> None:
    pipeline = Pipeline(max_traces=2)
    roots = [pipeline.tracer.start_span(f"root-{i}") for i in range(3)]

    assert pipeline.processor.evicted_traces == 1
    assert pipeline.processor.tracked_traces == 2
    for root in reversed(roots):  # newest first: restarting an evicted trace would evict another
        with pipeline.tracer.start_as_current_span("llm", context=set_span_in_context(root), attributes=SEMCONV):
            pass
        root.end()

    # root-0 was evicted before its call ended: it is forwarded without a subtree.
    assert Ours.SUBTREE_CALLS not in pipeline.span("root-0").attributes
    assert pipeline.span("root-1").attributes[Ours.SUBTREE_CALLS] == 1
    assert pipeline.span("root-2").attributes[Ours.SUBTREE_CALLS] == 1
    assert pipeline.processor.tracked_traces == 0


def test_spans_beyond_the_per_trace_cap_are_not_tracked() -> None:
    pipeline = Pipeline(max_spans_per_trace=2)
    with pipeline.tracer.start_as_current_span("request"), pipeline.tracer.start_as_current_span("agent"):
        with pipeline.tracer.start_as_current_span("untracked"):
            llm(pipeline, "deep", 1, 1)
        llm(pipeline, "direct", 2, 2)

    assert pipeline.processor.untracked_spans == 3  # "untracked", "deep" and "direct"
    # "direct" is untracked itself but its parent is tracked: it still counts.
    assert pipeline.span("agent").attributes[Ours.SUBTREE_CALLS] == 1
    assert pipeline.span("request").attributes[Ours.SUBTREE_INPUT_TOKENS] == 2
    assert Ours.SUBTREE_CALLS not in pipeline.span("untracked").attributes


def test_bogus_parent_cycle_does_not_hang() -> None:
    recorder = Recorder()
    processor = CostSpanProcessor(recorder, pricing=TABLE, meter_provider=MeterProvider())
    a = SpanContext(trace_id=1, span_id=2, is_remote=False)
    b = SpanContext(trace_id=1, span_id=3, is_remote=False)
    leaf = SpanContext(trace_id=1, span_id=4, is_remote=False)
    for context, parent in ((a, b), (b, a)):
        processor.on_start(_StartedSpan(context, parent))

    processor.on_end(ReadableSpan("llm", context=leaf, parent=a, attributes=SEMCONV, start_time=1, end_time=2))

    assert len(recorder.ended) == 1


class _StartedSpan(Span):
    def __init__(self, context: SpanContext, parent: SpanContext) -> None:
        super().__init__("started", context=context, parent=parent)


def test_shutdown_and_force_flush_are_forwarded() -> None:
    recorder = Recorder()
    processor = CostSpanProcessor(recorder, pricing=TABLE, meter_provider=MeterProvider())

    assert processor.force_flush(1234) is True
    processor.shutdown()

    assert recorder.calls == ["force_flush 1234", "shutdown"]


def test_concurrent_traces_roll_up_independently(pipeline: Pipeline) -> None:
    def run(worker: int) -> None:
        for trace in range(20):
            with pipeline.tracer.start_as_current_span(f"root-{worker}-{trace}"):
                for call in range(3):
                    llm(pipeline, f"llm-{worker}-{trace}-{call}", 10, 2)

    threads = [threading.Thread(target=run, args=(worker,)) for worker in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    roots = [s for s in pipeline.exporter.get_finished_spans() if s.name.startswith("root-")]
    assert len(roots) == 120
    for root in roots:
        assert root.attributes[Ours.SUBTREE_CALLS] == 3
        assert root.attributes[Ours.SUBTREE_COST_AMOUNT] == pytest.approx(3 * stated_cost(10, 2))
    assert pipeline.processor.tracked_traces == 0
    assert sum(p.count for p in pipeline.cost_points()) == 360


def test_a_foreign_span_inside_our_llm_span_is_not_counted_again(pipeline: Pipeline) -> None:
    # e.g. the Anthropic SDK's native span, or OpenInference's, under genai-cost's span of the same call.
    provider = TracerProvider()
    provider.add_span_processor(pipeline.processor)
    ours = provider.get_tracer("genai_cost.instrumentation.openai")
    sdk = provider.get_tracer("anthropic")
    priced_by_us = {**SEMCONV, GenAI.USAGE_COST_AMOUNT: 0.25}
    with (
        track_usage() as usage,
        pipeline.tracer.start_as_current_span("request"),
        ours.start_as_current_span("chat model-a", attributes=priced_by_us),
        sdk.start_as_current_span("sdk span", attributes=SEMCONV),
    ):
        pass

    assert dict(pipeline.span("sdk span").attributes) == SEMCONV
    assert pipeline.cost_points() == []
    assert usage.successful_requests == 0
    request = pipeline.span("request").attributes
    assert (request[Ours.SUBTREE_CALLS], request[Ours.SUBTREE_COST_AMOUNT]) == (1, 0.25)


def test_an_outer_span_whose_calls_are_already_counted_is_not_priced(pipeline: Pipeline) -> None:
    # e.g. a framework's LLM span with usage around the SDK instrumentation's span of the same call.
    with (
        pipeline.tracer.start_as_current_span("request"),
        pipeline.tracer.start_as_current_span("framework llm", attributes=LEGACY),
    ):
        llm(pipeline, "sdk llm", 20, 10)

    outer = pipeline.span("framework llm").attributes
    assert GenAI.USAGE_COST_AMOUNT not in outer
    assert outer[Ours.SUBTREE_CALLS] == 1
    assert pipeline.span("request").attributes[Ours.SUBTREE_CALLS] == 1
    (point,) = pipeline.cost_points()
    assert point.count == 1


def test_app_spans_from_a_genai_cost_tracer_are_not_mistaken_for_llm_spans(pipeline: Pipeline) -> None:
    provider = TracerProvider()
    provider.add_span_processor(pipeline.processor)
    with provider.get_tracer("genai_cost.demo").start_as_current_span("demo request"):
        llm(pipeline, "llm", 10, 2)

    assert pipeline.span("demo request").attributes[Ours.SUBTREE_CALLS] == 1
    assert len(pipeline.cost_points()) == 1


def test_a_foreign_span_in_another_trace_around_our_span_of_the_call_is_not_priced_again(pipeline: Pipeline) -> None:
    # OpenInference's LangChain tracer does not make its spans current: the SDK span of the same
    # call starts a trace of its own, inside the framework span's lifetime.
    provider = TracerProvider()
    provider.add_span_processor(pipeline.processor)
    ours = provider.get_tracer("genai_cost.instrumentation.openai")
    with (
        track_usage() as usage,
        pipeline.tracer.start_as_current_span("chain"),
        pipeline.tracer.start_as_current_span("framework llm", attributes=OPENINFERENCE),
        ours.start_as_current_span(
            "chat model-a", context=Context(), attributes={**SEMCONV, GenAI.USAGE_COST_AMOUNT: 0.25}
        ),
    ):
        pass

    assert dict(pipeline.span("framework llm").attributes) == OPENINFERENCE
    assert pipeline.cost_points() == []  # our instrumentor records its own call's metrics
    assert usage.successful_requests == 0
    chain = pipeline.span("chain").attributes
    assert (chain[Ours.SUBTREE_CALLS], chain[Ours.SUBTREE_COST_AMOUNT], chain[Ours.SUBTREE_INPUT_TOKENS]) == (
        1,
        0.25,
        20,
    )


def test_our_span_matches_one_foreign_span_that_it_ran_within(pipeline: Pipeline) -> None:
    provider = TracerProvider()
    provider.add_span_processor(pipeline.processor)
    ours = provider.get_tracer("genai_cost.instrumentation.openai")
    priced_by_us = {**SEMCONV, GenAI.USAGE_COST_AMOUNT: 0.25}
    with ours.start_as_current_span("earlier call", attributes=priced_by_us):
        pass
    # Same tokens, but the call ended before this span started: another call, priced here.
    with pipeline.tracer.start_as_current_span("later llm", attributes=OPENINFERENCE):
        pass
    with (
        pipeline.tracer.start_as_current_span("outer llm", attributes=OPENINFERENCE),
        pipeline.tracer.start_as_current_span("inner llm", context=Context(), attributes=OPENINFERENCE),
        ours.start_as_current_span("chat model-a", context=Context(), attributes=priced_by_us),
    ):
        pass

    assert GenAI.USAGE_COST_AMOUNT in pipeline.span("later llm").attributes
    assert GenAI.USAGE_COST_AMOUNT not in pipeline.span("inner llm").attributes  # ends first: the match
    assert GenAI.USAGE_COST_AMOUNT in pipeline.span("outer llm").attributes
    assert sum(point.count for point in pipeline.cost_points()) == 2


def test_an_ancestor_of_both_spans_of_the_call_counts_it_once(pipeline: Pipeline) -> None:
    # The app's request span is current around the chain: LangChain's spans and genai-cost's span
    # of the call (a sibling of the chain, not its child) are both below it.
    provider = TracerProvider()
    provider.add_span_processor(pipeline.processor)
    ours = provider.get_tracer("genai_cost.instrumentation.openai")
    with pipeline.tracer.start_as_current_span("request"):
        chain = pipeline.tracer.start_span("chain")
        framework = pipeline.tracer.start_span("framework llm", set_span_in_context(chain), attributes=OPENINFERENCE)
        ours.start_span("chat model-a", attributes={**SEMCONV, GenAI.USAGE_COST_AMOUNT: 0.25}).end()
        framework.end()
        chain.end()

    assert GenAI.USAGE_COST_AMOUNT not in pipeline.span("framework llm").attributes
    for name in ("chain", "request"):
        rollup = pipeline.span(name).attributes
        assert (rollup[Ours.SUBTREE_CALLS], rollup[Ours.SUBTREE_COST_AMOUNT]) == (1, 0.25), name


def test_a_framework_span_that_ends_before_our_streamed_span_of_the_call_is_not_priced(pipeline: Pipeline) -> None:
    # google-adk ends its LLM span with the stream's last chunk read; the SDK's stream, and so our
    # span of the call below it, is closed afterwards.
    provider = TracerProvider()
    provider.add_span_processor(pipeline.processor)
    ours = provider.get_tracer("genai_cost.instrumentation.openai")
    with (
        track_usage() as usage,
        pipeline.tracer.start_as_current_span("request"),
        pipeline.tracer.start_as_current_span("agent"),
    ):
        framework = pipeline.tracer.start_span("framework llm", attributes=SEMCONV)
        call = ours.start_span("chat model-a", set_span_in_context(framework))
        framework.end()
        call.set_attributes({**SEMCONV, GenAI.USAGE_COST_AMOUNT: 0.25})
        call.end()

    assert dict(pipeline.span("framework llm").attributes) == SEMCONV
    assert pipeline.cost_points() == []  # our instrumentor records its own call's metrics
    assert usage.successful_requests == 0
    for name in ("agent", "request"):
        rollup = pipeline.span(name).attributes
        assert (rollup[Ours.SUBTREE_CALLS], rollup[Ours.SUBTREE_COST_AMOUNT]) == (1, 0.25), name
    assert pipeline.processor.tracked_traces == 0


def test_a_foreign_span_that_saw_part_of_the_usage_of_our_call_is_not_priced_again(pipeline: Pipeline) -> None:
    # OpenInference's LangChain span of a ChatAnthropic stream: the output tokens, and 0 input
    # (LangChain's input count is on another chunk); our span of the call is in a trace of its own.
    provider = TracerProvider()
    provider.add_span_processor(pipeline.processor)
    ours = provider.get_tracer("genai_cost.instrumentation.anthropic")
    output_only = {
        OpenInference.PROVIDER: "anthropic",
        OpenInference.MODEL_NAME: "model-a",
        OpenInference.TOKEN_COUNT_PROMPT: 0,
        OpenInference.TOKEN_COUNT_COMPLETION: 10,
        OpenInference.TOKEN_COUNT_TOTAL: 10,
    }
    with (
        track_usage() as usage,
        pipeline.tracer.start_as_current_span("chain"),
        pipeline.tracer.start_as_current_span("framework llm", attributes=output_only),
        ours.start_as_current_span(
            "chat model-a", context=Context(), attributes={**SEMCONV, GenAI.USAGE_COST_AMOUNT: 0.25}
        ),
    ):
        pass

    assert GenAI.USAGE_COST_AMOUNT not in pipeline.span("framework llm").attributes
    assert (pipeline.cost_points(), usage.successful_requests) == ([], 0)
    chain = pipeline.span("chain").attributes
    rollup = chain[Ours.SUBTREE_CALLS], chain[Ours.SUBTREE_COST_AMOUNT], chain[Ours.SUBTREE_INPUT_TOKENS]
    assert rollup == (1, 0.25, 20)


@pytest.mark.parametrize(
    ("input_tokens", "output_tokens"),
    [pytest.param(0, 0, id="nothing"), pytest.param(20, 9, id="other-output"), pytest.param(0, 9, id="other-part")],
)
def test_a_foreign_span_of_other_counts_around_our_call_is_priced(
    pipeline: Pipeline, input_tokens: int, output_tokens: int
) -> None:
    provider = TracerProvider()
    provider.add_span_processor(pipeline.processor)
    ours = provider.get_tracer("genai_cost.instrumentation.anthropic")
    counts = {OpenInference.TOKEN_COUNT_PROMPT: input_tokens, OpenInference.TOKEN_COUNT_COMPLETION: output_tokens}
    with (
        pipeline.tracer.start_as_current_span("framework llm", attributes={**OPENINFERENCE, **counts}),
        ours.start_as_current_span(
            "chat model-a", context=Context(), attributes={**SEMCONV, GenAI.USAGE_COST_AMOUNT: 0.25}
        ),
    ):
        pass

    assert GenAI.USAGE_COST_AMOUNT in pipeline.span("framework llm").attributes


def test_a_foreign_span_ended_late_with_an_earlier_end_time_is_not_priced_again(pipeline: Pipeline) -> None:
    # OpenInference's llama-index span of a streamed chat: its end time is when the LLM returned
    # the stream, but it is ended once the stream is read, after our span of the call (in a
    # trace of its own) ended.
    provider = TracerProvider()
    provider.add_span_processor(pipeline.processor)
    ours = provider.get_tracer("genai_cost.instrumentation.openai")
    returned = time.time_ns() - 10_000_000
    with track_usage() as usage:
        framework = pipeline.tracer.start_span("framework llm", attributes=OPENINFERENCE, start_time=returned - 1_000)
        call = ours.start_span("chat model-a", context=Context(), start_time=returned + 1_000)
        call.set_attributes({**SEMCONV, GenAI.USAGE_COST_AMOUNT: 0.25})
        call.end(end_time=returned + 2_000)
        framework.end(end_time=returned)

    assert GenAI.USAGE_COST_AMOUNT not in pipeline.span("framework llm").attributes
    assert (pipeline.cost_points(), usage.successful_requests) == ([], 0)
