"""Stress: streams abandoned inside reference cycles while another thread makes spans.

Issue 14, defect 1. Thread A makes streamed LLM calls against a local fake server, reads one
chunk and drops the stream inside a reference cycle (``h = {}; h["me"] = h; h["s"] = stream``),
so the cyclic garbage collector frees it at an arbitrary moment in an arbitrary thread.
Thread B makes ordinary ``request``/``db`` spans through ``CostSpanProcessor``. A finalizer
that ends a span (or takes a lock, or touches the OpenTelemetry context) deadlocks thread B
inside the processor's lock or crashes the interpreter.

Each run is a subprocess with a watchdog: a hang is a timeout, a crash a negative return
code. At the end of a run the worker flushes the pipeline and checks that every call made
ended exactly one span::

    python -m benchmarks.finalizer_stress --provider openai-sync --seconds 60 --runs 5
    python -m benchmarks.finalizer_stress --provider anthropic --seconds 10 --runs 1

Run from the repository root (the Anthropic fake server lives in ``tests/support``).
"""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

from genai_cost import CostSpanProcessor, PricingTable
from genai_cost.semconv import GenAI

__all__ = ["PROVIDERS", "run"]

PROVIDERS = ("openai-sync", "openai-async", "anthropic")
_GRACE_SECONDS = 30.0
"""How long a run may take beyond its stress time (start-up, flush) before it counts as hung."""
_MESSAGES = [{"role": "user", "content": "hi"}]


class _CountingExporter(SpanExporter):
    """Counts LLM spans (and those with token usage) and other spans, then drops them."""

    def __init__(self) -> None:
        self.llm_spans = 0
        self.with_usage = 0
        self.other_spans = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        for span in spans:
            attributes = span.attributes or {}
            if GenAI.OPERATION_NAME in attributes:
                self.llm_spans += 1
                self.with_usage += GenAI.USAGE_INPUT_TOKENS in attributes
            else:
                self.other_spans += 1
        return SpanExportResult.SUCCESS


def _openai_sync(base_url: str) -> Callable[[], None]:
    import openai

    client = openai.OpenAI(base_url=base_url, api_key="sk-stress", max_retries=0)

    def abandon_one() -> None:
        h: dict[str, Any] = {}
        h["me"] = h
        h["s"] = client.chat.completions.create(model="gpt-4o-mini", messages=_MESSAGES, stream=True)  # type: ignore[arg-type]
        next(h["s"])
        del h

    return abandon_one


def _openai_async(base_url: str) -> Callable[[], None]:
    import openai

    client = openai.AsyncOpenAI(base_url=base_url, api_key="sk-stress", max_retries=0)
    loop = asyncio.new_event_loop()

    async def abandon_one() -> None:
        h: dict[str, Any] = {}
        h["me"] = h
        h["s"] = await client.chat.completions.create(model="gpt-4o-mini", messages=_MESSAGES, stream=True)  # type: ignore[arg-type]
        await h["s"].__anext__()
        del h

    return lambda: loop.run_until_complete(abandon_one())


def _anthropic(base_url: str) -> Callable[[], None]:
    import anthropic

    client = anthropic.Anthropic(base_url=base_url, api_key="sk-ant-stress", max_retries=0)

    def abandon_one() -> None:
        h: dict[str, Any] = {}
        h["me"] = h
        h["s"] = client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=64,
            messages=_MESSAGES,
            stream=True,  # type: ignore[arg-type]
        )
        next(h["s"])
        del h

    return abandon_one


def _worker(provider: str, seconds: float) -> dict[str, Any]:
    """One stress run in this process; returns its counts."""
    exporter = _CountingExporter()
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    tracer_provider = TracerProvider()
    pricing = PricingTable.load(include_bundled=True)
    tracer_provider.add_span_processor(CostSpanProcessor(SimpleSpanProcessor(exporter), pricing, meter_provider))
    tracer = tracer_provider.get_tracer("stress")

    if provider == "anthropic":
        from tests.support.fake_anthropic import fake_anthropic_server

        from genai_cost.instrumentation.anthropic import AnthropicInstrumentor

        server: Any = fake_anthropic_server().__enter__()
        instrumentor: Any = AnthropicInstrumentor()
        abandon_one = _anthropic(server.origin)
    else:
        from genai_cost.demo.fake_openai import FakeOpenAIServer
        from genai_cost.instrumentation.openai import OpenAIInstrumentor

        server = FakeOpenAIServer().start()
        instrumentor = OpenAIInstrumentor()
        abandon_one = (_openai_async if provider == "openai-async" else _openai_sync)(server.base_url)
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, pricing=pricing)

    deadline = time.monotonic() + seconds
    calls = [0]
    spans = [0]

    def thread_a() -> None:
        while time.monotonic() < deadline:
            abandon_one()
            calls[0] += 1
            if calls[0] % 500 == 0:
                server.requests.clear()  # the fake server keeps every request

    def thread_b() -> None:
        while time.monotonic() < deadline:
            with tracer.start_as_current_span("request"), tracer.start_as_current_span("db"):
                spans[0] += 2

    threads = [threading.Thread(target=thread_a, name="A"), threading.Thread(target=thread_b, name="B")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    import gc

    gc.collect()
    tracer_provider.force_flush()  # CostSpanProcessor finishes the abandoned calls still queued
    return {
        "calls": calls[0],
        "llm_spans": exporter.llm_spans,
        "llm_spans_with_usage": exporter.with_usage,
        "other_spans": exporter.other_spans,
        "other_spans_made": spans[0],
    }


def run(provider: str, seconds: float) -> tuple[str, dict[str, Any] | None, str]:
    """One run in a subprocess: ``("ok" | "hang" | "crash" | "error" | "miscount", counts, detail)``."""
    command = [sys.executable, "-m", "benchmarks.finalizer_stress", "--worker", provider, "--seconds", str(seconds)]
    worker = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = worker.communicate(timeout=seconds + _GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        worker.kill()
        stdout, stderr = worker.communicate()  # with the stacks faulthandler dumped before the kill
        return "hang", None, stderr[-6000:]
    if worker.returncode < 0:
        return "crash", None, f"signal {-worker.returncode}\n{stderr[-3000:]}"
    if worker.returncode != 0:
        return "error", None, stderr[-3000:]
    counts: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    exact = counts["calls"] == counts["llm_spans"] and counts["other_spans"] == counts["other_spans_made"]
    return ("ok" if exact else "miscount"), counts, ""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--provider", choices=PROVIDERS, default="openai-sync")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--worker", choices=PROVIDERS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        # On a hang, the watchdog's timeout comes with every thread's stack on stderr.
        faulthandler.dump_traceback_later(args.seconds + _GRACE_SECONDS - 5, exit=False)
        print(json.dumps(_worker(args.worker, args.seconds)), flush=True)
        return 0
    outcomes: dict[str, int] = {}
    for index in range(1, args.runs + 1):
        outcome, counts, detail = run(args.provider, args.seconds)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        print(f"{args.provider} run {index}/{args.runs}: {outcome} {json.dumps(counts) if counts else ''}", flush=True)
        if detail:
            print("  " + detail.strip().replace("\n", "\n  "), flush=True)
    summary = ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items()))
    print(f"{args.provider}: {args.runs} runs x {args.seconds:g} s: {summary}", flush=True)
    return 0 if outcomes.get("ok", 0) == args.runs else 1


if __name__ == "__main__":
    sys.exit(main())
