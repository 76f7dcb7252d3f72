"""Bedrock instrumentation overhead: instrumented vs plain boto3 calls, in one run.

Run from the repository root: ``python benchmarks/bench_bedrock.py``. Prints CPU microseconds per
call for ``converse``, ``converse_stream`` (54 events: 50 deltas) and, as a control, S3
``list_buckets`` (other services must cost nothing), for a client created before instrumenting
(plain) and one created after (traced), interleaved repeat by repeat; then the overhead and
the ratio traced/plain, for the best and the median repeat (best is the steadier figure on a
shared machine).

No sockets: botocore's public ``before-send`` event answers every request with a prepared
``AWSResponse`` carrying the fake Bedrock runtime's exact bytes (JSON or binary event stream),
so everything else (parameter validation, serialization, SigV4 signing, response parsing,
event-stream decoding) runs as in production and the figures are not network noise.
Spans go through a ``BatchSpanProcessor`` to an exporter that drops them; metrics are
recorded into a ``MeterProvider`` with an in-memory reader.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse, HeadersDict
from botocore.config import Config
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.fake_bedrock import answer, wire_bytes

from genai_cost.instrumentation.bedrock import BedrockInstrumentor

MODEL = "us.anthropic.claude-3-5-sonnet-20241022-v2:0"
MESSAGES = [{"role": "user", "content": [{"text": "Say hello"}]}]
DELTAS = 50
CALLS = {"converse": 100, "converse_stream": 30, "s3 list_buckets": 100}
REPEATS = 15
_S3_BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?><ListAllMyBucketsResult><Owner><ID>fake</ID></Owner>'
    b"<Buckets></Buckets></ListAllMyBucketsResult>"
)


class _Raw:
    """The part of a urllib3 response botocore reads: ``stream()`` and ``close()``."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, *args: Any, **kwargs: Any) -> Iterator[bytes]:
        yield self._body

    def close(self) -> None:
        pass


class _DroppingExporter(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def _replies() -> dict[str, tuple[dict[str, str], bytes]]:
    replies = {}
    for operation in ("converse", "converse-stream"):
        reply = answer(operation, MODEL, {}, "cached", deltas=DELTAS)
        replies[operation] = ({"content-type": "application/json", **reply.headers}, wire_bytes(reply))
    replies["s3"] = ({"content-type": "application/xml"}, _S3_BODY)
    return replies


def _serve(replies: dict[str, tuple[dict[str, str], bytes]]) -> Callable[..., AWSResponse]:
    def before_send(request: Any, **kwargs: Any) -> AWSResponse:
        url = request.url
        key = "s3" if "/model/" not in url else url.rsplit("/", 1)[1]
        headers, body = replies[key]
        return AWSResponse(url, 200, HeadersDict(headers), _Raw(body))

    return before_send


def _clients(session: boto3.session.Session, before_send: Callable[..., AWSResponse]) -> tuple[Any, Any]:
    options = {
        "region_name": "us-east-1",
        "aws_access_key_id": "AKIDBENCHBENCHBENCH0",
        "aws_secret_access_key": "bench-secret",
        "config": Config(retries={"total_max_attempts": 1}),
    }
    runtime = session.client("bedrock-runtime", **options)
    s3 = session.client("s3", **options)
    for client in (runtime, s3):
        client.meta.events.register("before-send", before_send)
    return runtime, s3


def _workloads(runtime: Any, s3: Any) -> dict[str, Callable[[], None]]:
    def converse() -> None:
        runtime.converse(modelId=MODEL, messages=MESSAGES)

    def converse_stream() -> None:
        for _event in runtime.converse_stream(modelId=MODEL, messages=MESSAGES)["stream"]:
            pass

    return {"converse": converse, "converse_stream": converse_stream, "s3 list_buckets": s3.list_buckets}


def _per_call_us(run: Callable[[], None], count: int) -> float:
    # CPU time of this process (all its threads, the span exporter's included): on a shared
    # machine, wall-clock time mostly measures the other processes.
    started = time.process_time()
    for _ in range(count):
        run()
    return (time.process_time() - started) / count * 1e6


def main() -> None:
    replies = _replies()
    session = boto3.session.Session()
    plain = _workloads(*_clients(session, _serve(replies)))
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(_DroppingExporter()))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    BedrockInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    traced = _workloads(*_clients(session, _serve(replies)))

    timings: dict[str, dict[str, list[float]]] = {name: {"plain": [], "traced": []} for name in CALLS}
    for name, count in CALLS.items():  # warm up both paths (pricing cache, botocore caches)
        _per_call_us(plain[name], count // 10)
        _per_call_us(traced[name], count // 10)
    for _ in range(REPEATS):
        for name, count in CALLS.items():
            timings[name]["plain"].append(_per_call_us(plain[name], count))
            timings[name]["traced"].append(_per_call_us(traced[name], count))
    tracer_provider.shutdown()

    for label, pick in (("best", min), ("median", statistics.median)):
        print(f"{label + ' of ' + str(REPEATS):<18}{'plain us':>10}{'traced us':>11}{'overhead us':>13}{'ratio':>8}")
        for name, runs in timings.items():
            base, with_us = pick(runs["plain"]), pick(runs["traced"])
            print(f"{name:<18}{base:>10.1f}{with_us:>11.1f}{with_us - base:>13.1f}{with_us / base:>8.3f}")
    print(f"interleaved repeats, per-call means; converse_stream = {DELTAS + 4} events")


if __name__ == "__main__":
    main()
