"""Load: 16 threads and 500 concurrent asyncio tasks of mixed plain/stream calls.

Every call has exactly one span under its request's parent span; ``track_usage`` totals and
the ``CostSpanProcessor`` rollup on every parent are exact (compared with the stated prices
times the served usage, in Decimal).
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind
from tests.reliability.support import wire
from tests.reliability.support.archive import Archive
from tests.reliability.support.fault_server import FaultServer
from tests.reliability.support.harness import Telemetry, async_client, client, stated_cost

from genai_cost.semconv import GenAI, Metrics, Ours
from genai_cost.tracking import UsageTotals, track_usage

THREADS = 16
CALLS_PER_THREAD = 12
TASKS = 500
UNIT_COST = stated_cost(
    input_tokens=wire.USAGE["prompt_tokens"],
    cached=wire.USAGE["prompt_tokens_details"]["cached_tokens"],
    output_tokens=wire.USAGE["completion_tokens"],
)


@pytest.fixture
def rollup_telemetry(archive: Archive) -> Iterator[Telemetry]:
    pipeline = Telemetry(archive, cost_processor=True)
    yield pipeline
    pipeline.collect()


def _headers(faults: FaultServer) -> dict[bool, dict[str, str]]:
    """Per stream flag, the headers of a call served with the reference usage."""
    return {
        False: faults.headers(wire.json_reply(wire.chat_completion())),
        True: faults.headers(wire.sse_reply(wire.chat_chunks())),
    }


def _check(telemetry: Telemetry, totals: UsageTotals, *, requests: int, calls_per_request: int) -> None:
    calls = requests * calls_per_request
    spans = telemetry.finished()
    llm = [span for span in spans if span.kind is SpanKind.CLIENT]
    parents = {span.context.span_id: span for span in spans if span.kind is SpanKind.SERVER}
    assert len(llm) == calls and len(parents) == requests
    assert len({span.context.span_id for span in llm}) == calls  # one span per call, none twice
    children = Counter(span.parent.span_id for span in llm if span.parent is not None)
    assert set(children) == set(parents) and set(children.values()) == {calls_per_request}

    assert (totals.successful_requests, totals.failed_requests) == (calls, 0)
    assert totals.prompt_tokens == calls * wire.USAGE["prompt_tokens"]
    assert totals.completion_tokens == calls * wire.USAGE["completion_tokens"]
    assert totals.total_cost == calls * UNIT_COST

    for parent in parents.values():
        rollup = parent.attributes or {}
        assert rollup[Ours.SUBTREE_CALLS] == calls_per_request
        assert rollup[Ours.SUBTREE_INPUT_TOKENS] == calls_per_request * wire.USAGE["prompt_tokens"]
        assert rollup[Ours.SUBTREE_COST_AMOUNT] == float(calls_per_request * UNIT_COST)
    (cost,) = telemetry.points(Metrics.OPERATION_COST)
    assert cost.count == calls


def _stream_flags(n: int) -> list[bool]:
    return [i % 2 == 1 for i in range(n)]


@pytest.mark.slow
def test_sixteen_threads_of_mixed_calls(rollup_telemetry: Telemetry, faults: FaultServer) -> None:
    sdk = client(faults.base_url)
    headers = _headers(faults)
    tracer = rollup_telemetry.tracer_provider.get_tracer("app")
    start = threading.Barrier(THREADS)

    def handle_request() -> None:
        start.wait()
        with tracer.start_as_current_span("request", kind=SpanKind.SERVER):
            for stream in _stream_flags(CALLS_PER_THREAD):
                result: Any = sdk.chat.completions.create(
                    model="gpt-4o-mini", messages=[], stream=stream, extra_headers=headers[stream]
                )
                if stream:
                    assert len(list(result)) == len(wire.chat_chunks())

    with rollup_telemetry.instrumented(), track_usage() as totals, ThreadPoolExecutor(THREADS) as pool:
        # Threads started inside track_usage count when the context is carried over.
        futures = [pool.submit(contextvars.copy_context().run, handle_request) for _ in range(THREADS)]
        for future in futures:
            future.result()

    _check(rollup_telemetry, totals, requests=THREADS, calls_per_request=CALLS_PER_THREAD)


@pytest.mark.slow
def test_five_hundred_concurrent_async_tasks(rollup_telemetry: Telemetry, faults: FaultServer) -> None:
    sdk = async_client(faults.base_url, timeout=60)
    headers = _headers(faults)
    tracer = rollup_telemetry.tracer_provider.get_tracer("app")

    async def handle_request(stream: bool) -> None:
        with tracer.start_as_current_span("request", kind=SpanKind.SERVER):
            result: Any = await sdk.chat.completions.create(
                model="gpt-4o-mini", messages=[], stream=stream, extra_headers=headers[stream]
            )
            if stream:
                assert len([chunk async for chunk in result]) == len(wire.chat_chunks())

    async def main() -> UsageTotals:
        async with track_usage() as totals:
            await asyncio.gather(*(handle_request(stream) for stream in _stream_flags(TASKS)))
        return totals

    with rollup_telemetry.instrumented():
        totals = asyncio.run(main())

    _check(rollup_telemetry, totals, requests=TASKS, calls_per_request=1)


def test_span_cost_attributes_match_the_unit_cost(telemetry: Telemetry, faults: FaultServer) -> None:
    """The figure every load assertion multiplies: one call's cost on its span."""
    sdk = client(faults.base_url)
    with telemetry.instrumented():
        sdk.chat.completions.create(model="gpt-4o-mini", messages=[], extra_headers=_headers(faults)[False])
    span: ReadableSpan = telemetry.only_span()
    assert span.attributes[GenAI.USAGE_COST_AMOUNT] == float(UNIT_COST)
    assert Decimal(0) < UNIT_COST
