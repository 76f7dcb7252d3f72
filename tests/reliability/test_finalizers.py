"""Issue 14, defect 1: a dropped stream's finalizer only hands the call over; it is finished later.

The garbage collector runs finalizers in whatever thread it interrupts, possibly one holding
``CostSpanProcessor``'s lock (a self-deadlock if the finalizer ended the span) or inside the
OpenTelemetry context machinery. So a finalizer takes no lock and ends no span: the call is
finished before the next instrumented call, by ``CostSpanProcessor.force_flush``/``shutdown``,
or at exit, with the usage its chunks had reported and the end time of the moment it was
dropped.
"""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anthropic
import pytest
from opentelemetry.context import Context
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, SynchronousMultiSpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.reliability.support.archive import Archive
from tests.reliability.support.harness import async_client, client, pricing_table
from tests.support.fake_anthropic import SCENARIOS, fake_anthropic_server
from tests.support.fake_http import FakeHTTPServer

from genai_cost import track_usage
from genai_cost.demo.fake_openai import SCENARIOS as OPENAI_SCENARIOS
from genai_cost.demo.fake_openai import FakeOpenAIServer
from genai_cost.instrumentation.anthropic import AnthropicInstrumentor
from genai_cost.instrumentation.openai import OpenAIInstrumentor
from genai_cost.processor import CostSpanProcessor
from genai_cost.semconv import GenAI, Ours, PricingStatus

ROOT = Path(__file__).resolve().parents[2]
ANTHROPIC_MODEL = "claude-haiku-4-5"
MESSAGES = [{"role": "user", "content": "hi"}]
CHAT: dict[str, Any] = {"model": "gpt-4o-mini", "messages": MESSAGES}


class Pipeline:
    """Spans through ``CostSpanProcessor`` into memory (and the session archive), metrics in memory."""

    def __init__(self, archive: Archive, *extra: SpanProcessor) -> None:
        self.spans = InMemorySpanExporter()
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        exporting = SynchronousMultiSpanProcessor()
        exporting.add_span_processor(SimpleSpanProcessor(self.spans))
        exporting.add_span_processor(SimpleSpanProcessor(archive.exporter()))
        self.processor = CostSpanProcessor(exporting, pricing_table(), self.meter_provider)
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(self.processor)
        for processor in extra:
            self.tracer_provider.add_span_processor(processor)

    def llm_spans(self) -> list[ReadableSpan]:
        return [span for span in self.spans.get_finished_spans() if GenAI.OPERATION_NAME in (span.attributes or {})]

    @contextmanager
    def instrumented(self, instrumentor: BaseInstrumentor) -> Iterator[None]:
        instrumentor.instrument(
            tracer_provider=self.tracer_provider, meter_provider=self.meter_provider, pricing=_pricing()
        )
        try:
            yield
        finally:
            instrumentor.uninstrument()


def _pricing() -> Any:
    from genai_cost.pricing import PricingTable

    entries = [
        {"id": "test:gpt-4o-mini", "provider": "openai", "match": {"exact": "gpt-4o-mini"},
         "input": "0.15", "output": "0.6"},
        {"id": "test:claude", "provider": "anthropic", "match": {"prefix": "claude-haiku-4-5"},
         "input": "1", "output": "5"},
    ]  # fmt: skip
    return PricingTable.load(entries=entries, include_bundled=False)


@pytest.fixture
def pipeline(archive: Archive) -> Iterator[Pipeline]:
    gc.collect()
    pipeline = Pipeline(archive)
    pipeline.processor.force_flush()  # nothing abandoned by other tests is left over
    yield pipeline


@pytest.fixture(scope="module")
def fake_anthropic() -> Iterator[FakeHTTPServer]:
    with fake_anthropic_server() as server:
        yield server


def _openai_stream_with_usage(fake: FakeOpenAIServer) -> Iterator[Any]:
    """An OpenAI stream read up to (and including) its usage chunk, not to its end."""
    stream = client(fake.base_url).chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )  # type: ignore[call-overload]
    for chunk in stream:
        if chunk.usage is not None:
            break
    return stream


def _anthropic_stream_started(fake_anthropic: FakeHTTPServer) -> Iterator[Any]:
    """An Anthropic stream read up to ``message_start`` (input usage and a first output count)."""
    sdk = anthropic.Anthropic(base_url=fake_anthropic.origin, api_key="sk-ant-test", max_retries=0)
    stream = sdk.messages.create(model=ANTHROPIC_MODEL, max_tokens=64, messages=MESSAGES, stream=True)  # type: ignore[arg-type]
    assert next(stream).type == "message_start"
    return stream


def _drop_in_cycle(holder: dict[str, Any]) -> None:
    holder["me"] = holder  # only the cyclic collector can free it, whenever and wherever it runs


def _drop_while_holding_the_processor_lock(pipeline: Pipeline, holder: dict[str, Any]) -> int:
    """Free the stream inside ``CostSpanProcessor``'s lock in this thread; returns the spans
    ended meanwhile. A finalizer that ends the span blocks forever on that lock."""
    ended: list[int] = []

    def drop() -> None:
        with pipeline.processor._lock:
            holder.clear()
            gc.collect()
            ended.append(len(pipeline.spans.get_finished_spans()))

    thread = threading.Thread(target=drop, daemon=True)
    thread.start()
    thread.join(timeout=20)
    assert ended, "the stream's finalizer blocked on CostSpanProcessor's lock (self-deadlock)"
    return ended[0]


def test_dropped_openai_stream_under_the_processor_lock_is_finished_later_with_its_usage(
    pipeline: Pipeline, fake: FakeOpenAIServer
) -> None:
    with pipeline.instrumented(OpenAIInstrumentor()), track_usage() as usage:
        holder = {"stream": _openai_stream_with_usage(fake)}
        _drop_in_cycle(holder)
        assert _drop_while_holding_the_processor_lock(pipeline, holder) == 0  # no span ended in the finalizer
        assert pipeline.llm_spans() == []
        client(fake.base_url).embeddings.create(model="text-embedding-3-small", input="next call")

    abandoned, following = sorted(pipeline.llm_spans(), key=lambda span: span.start_time or 0)
    attributes = abandoned.attributes or {}
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == OPENAI_SCENARIOS["default"].prompt_tokens
    assert attributes[Ours.PRICING_STATUS] == PricingStatus.PRICED
    assert (abandoned.end_time or 0) <= (following.start_time or 0)  # ended when dropped, not when finished
    assert usage.successful_requests == 2
    assert usage.prompt_tokens >= OPENAI_SCENARIOS["default"].prompt_tokens


def test_dropped_async_openai_stream_under_the_processor_lock_is_finished_later_with_its_usage(
    pipeline: Pipeline, fake: FakeOpenAIServer
) -> None:
    async def main() -> None:
        async with async_client(fake.base_url) as sdk:
            stream = await sdk.chat.completions.create(stream=True, stream_options={"include_usage": True}, **CHAT)
            while (await stream.__anext__()).usage is None:
                pass
            holder = {"stream": stream}
            del stream
            _drop_in_cycle(holder)
            assert _drop_while_holding_the_processor_lock(pipeline, holder) == 0
            assert pipeline.llm_spans() == []
            await sdk.embeddings.create(model="text-embedding-3-small", input="next call")

    with pipeline.instrumented(OpenAIInstrumentor()):
        asyncio.run(main())

    abandoned, _following = sorted(pipeline.llm_spans(), key=lambda span: span.start_time or 0)
    assert (abandoned.attributes or {})[GenAI.USAGE_INPUT_TOKENS] == OPENAI_SCENARIOS["default"].prompt_tokens


def test_dropped_anthropic_stream_under_the_processor_lock_is_finished_by_a_flush(
    pipeline: Pipeline, fake_anthropic: FakeHTTPServer
) -> None:
    with pipeline.instrumented(AnthropicInstrumentor()), track_usage() as usage:
        holder = {"stream": _anthropic_stream_started(fake_anthropic)}
        _drop_in_cycle(holder)
        assert _drop_while_holding_the_processor_lock(pipeline, holder) == 0
        assert usage.successful_requests == 0  # the finalizer took no track_usage lock either
        assert pipeline.tracer_provider.force_flush()

    (span,) = pipeline.llm_spans()
    attributes = span.attributes or {}
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == SCENARIOS["default"].input_tokens
    assert attributes[GenAI.USAGE_OUTPUT_TOKENS] == 1  # what message_start had reported
    assert usage.successful_requests == 1
    assert usage.prompt_tokens == SCENARIOS["default"].input_tokens


class _CollectOnStart(SpanProcessor):
    """Runs the cyclic collector while the SDK starts a span (after CostSpanProcessor's on_start)."""

    def __init__(self) -> None:
        self.armed = False
        self.ended_inside: list[int] = []
        self.pipeline: Pipeline | None = None

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if self.armed and self.pipeline is not None:
            self.armed = False
            before = len(self.pipeline.spans.get_finished_spans())
            gc.collect()
            self.ended_inside.append(len(self.pipeline.spans.get_finished_spans()) - before)


def test_collector_run_inside_span_start_ends_no_span(archive: Archive, fake: FakeOpenAIServer) -> None:
    probe = _CollectOnStart()
    pipeline = probe.pipeline = Pipeline(archive, probe)
    tracer = pipeline.tracer_provider.get_tracer("app")
    with pipeline.instrumented(OpenAIInstrumentor()):
        holder = {"stream": _openai_stream_with_usage(fake)}
        _drop_in_cycle(holder)
        del holder
        probe.armed = True
        with tracer.start_as_current_span("request"):
            pass
        assert probe.ended_inside == [0]
        assert pipeline.llm_spans() == []
        pipeline.processor.shutdown()

    (span,) = pipeline.llm_spans()
    assert (span.attributes or {})[Ours.PRICING_STATUS] == PricingStatus.PRICED


class _FlushesOnEnd(SpanProcessor):
    """Flushes ``CostSpanProcessor`` from inside the span pipeline: a drain nested in a drain."""

    def __init__(self) -> None:
        self.processor: CostSpanProcessor | None = None

    def on_end(self, span: ReadableSpan) -> None:
        if self.processor is not None:
            self.processor.force_flush()


@pytest.mark.parametrize("threads", [1, 4], ids=["nested", "concurrent"])
def test_each_abandoned_call_is_finished_exactly_once(archive: Archive, fake: FakeOpenAIServer, threads: int) -> None:
    nested = _FlushesOnEnd()
    pipeline = Pipeline(archive, nested)
    nested.processor = pipeline.processor
    with pipeline.instrumented(OpenAIInstrumentor()):
        streams = [_openai_stream_with_usage(fake) for _ in range(12)]
        del streams  # twelve calls abandoned at once
        assert pipeline.llm_spans() == []
        drainers = [threading.Thread(target=pipeline.processor.force_flush) for _ in range(threads)]
        for drainer in drainers:
            drainer.start()
        for drainer in drainers:
            drainer.join()

    spans = pipeline.llm_spans()
    assert len(spans) == 12
    assert len({span.context.span_id for span in spans if span.context}) == 12
    assert all((span.attributes or {})[Ours.PRICING_STATUS] == PricingStatus.PRICED for span in spans)


_AT_EXIT = """
import anthropic
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from tests.support.fake_anthropic import fake_anthropic_server
from genai_cost.instrumentation.anthropic import AnthropicInstrumentor

class Printer(SpanExporter):
    def export(self, spans):
        for span in spans:
            print("exported", span.name, span.attributes.get("gen_ai.usage.input_tokens"), flush=True)
        return SpanExportResult.SUCCESS

provider = TracerProvider()  # shut down (and flushed) at exit
provider.add_span_processor(BatchSpanProcessor(Printer()))
AnthropicInstrumentor().instrument(tracer_provider=provider)
server = fake_anthropic_server().__enter__()
sdk = anthropic.Anthropic(base_url=server.origin, api_key="sk-ant-test", max_retries=0)
def open_stream():
    stream = sdk.messages.create(model="claude-haiku-4-5", max_tokens=64, stream=True,
                                 messages=[{"role": "user", "content": "hi"}])
    next(stream)
    return stream

dropped = open_stream()
del dropped  # abandoned
cycle = {"stream": open_stream()}
cycle["me"] = cycle
del cycle  # abandoned once the cyclic collector runs
print("dropped", flush=True)  # and no other call follows
"""


def test_abandoned_call_is_not_lost_at_exit() -> None:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_AT_EXIT)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    exported = f"exported chat {ANTHROPIC_MODEL} {SCENARIOS['default'].input_tokens}"
    assert sorted(lines) == ["dropped", exported, exported], done.stderr  # batches are exported whenever
    assert "Exception ignored" not in done.stderr


@pytest.mark.slow
@pytest.mark.parametrize("provider", ["openai-sync", "openai-async", "anthropic"])
def test_streams_abandoned_in_cycles_while_another_thread_makes_spans(provider: str) -> None:
    """The issue's scenario for a few seconds, in a subprocess with a watchdog (see
    ``benchmarks/finalizer_stress.py`` for the 5 x 60 s runs)."""
    from benchmarks.finalizer_stress import run

    outcome, counts, detail = run(provider, seconds=4)
    assert outcome == "ok", (counts, detail)
    assert counts is not None
    assert counts["calls"] == counts["llm_spans"] > 0
    if provider == "anthropic":  # message_start reports usage: no span lost it
        assert counts["llm_spans_with_usage"] == counts["llm_spans"]


_FORKED = """
import os
import anthropic
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from tests.support.fake_anthropic import fake_anthropic_server
from genai_cost import CostSpanProcessor
from genai_cost.instrumentation.anthropic import AnthropicInstrumentor

class Printer(SpanExporter):
    def export(self, spans):
        for span in spans:
            print(os.getpid() == parent and "parent" or "child", span.name, flush=True)
        return SpanExportResult.SUCCESS

parent = os.getpid()
provider = TracerProvider()
processor = CostSpanProcessor(SimpleSpanProcessor(Printer()))
provider.add_span_processor(processor)
AnthropicInstrumentor().instrument(tracer_provider=provider)
server = fake_anthropic_server().__enter__()
sdk = anthropic.Anthropic(base_url=server.origin, api_key="sk-ant-test", max_retries=0)
stream = sdk.messages.create(model="claude-haiku-4-5", max_tokens=64, stream=True,
                             messages=[{"role": "user", "content": "hi"}])
next(stream)
del stream  # abandoned before the fork
child = os.fork()
processor.force_flush()
if child == 0:
    os._exit(0)
os.waitpid(child, 0)
"""


def test_a_forked_child_does_not_finish_its_parents_abandoned_calls() -> None:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_FORKED)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"parent chat {ANTHROPIC_MODEL}"], done.stderr
