"""Spans per second through rotel, with and without genai-cost's trace processor.

Run: ``python -m benchmarks.gateway [--spans 40000] [--batch 500]``. Starts rotel as
``genai-cost gateway rotel`` prints it (and once more without ``--otlp-with-trace-processor``),
posts OTLP/HTTP requests of ``--batch`` spans (traces of 10: a root, 6 LLM calls with semconv
usage, 3 plain spans) from two threads, and waits until a local OTLP/HTTP receiver has all of
them. Prints a Markdown table: wall-clock spans/s and rotel's CPU time per span (user + system,
from ``/proc``; what load on a shared machine moves least), and the ratio of the two runs.
"""

from __future__ import annotations

import argparse
import gzip
import os
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from genai_cost.gateway.launch import rotel_launch

__all__ = ["main"]

_LLM = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
    "gen_ai.usage.input_tokens": 1200,
    "gen_ai.usage.output_tokens": 300,
    "gen_ai.usage.cache_read.input_tokens": 200,
    "server.address": "api.openai.com",
}
_PLAIN = {"http.request.method": "GET", "url.path": "/search", "http.response.status_code": 200}


def _pairs(values: dict[str, Any]) -> list[KeyValue]:
    return [
        KeyValue(key=k, value=AnyValue(int_value=v) if isinstance(v, int) else AnyValue(string_value=v))
        for k, v in values.items()
    ]


def _request(first_trace: int, spans: int) -> bytes:
    now = time.time_ns()
    batch = []
    for number in range(spans):
        trace, position = divmod(number, 10)
        values = {} if position == 0 else _LLM if position <= 6 else _PLAIN
        batch.append(
            Span(
                trace_id=(first_trace + trace).to_bytes(16, "big"),
                span_id=(position + 1).to_bytes(8, "big"),
                parent_span_id=b"" if position == 0 else (1).to_bytes(8, "big"),
                name="span",
                start_time_unix_nano=now,
                end_time_unix_nano=now + 1_000_000,
                attributes=_pairs(values),
            )
        )
    resource = Resource(attributes=_pairs({"service.name": "bench"}))
    request = ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(resource=resource, scope_spans=[ScopeSpans(spans=batch)])]
    )
    return request.SerializeToString()


class _Counter(ThreadingHTTPServer):
    daemon_threads = True
    spans = 0
    lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    server: _Counter

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        if self.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        request = ExportTraceServiceRequest.FromString(body)
        count = sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)
        with self.server.lock:
            self.server.spans += count
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _run(with_processor: bool, bodies: list[bytes], spans: int) -> tuple[float, float]:
    """Wall-clock spans/s and rotel's CPU microseconds per span."""
    receiver = _Counter(("127.0.0.1", 0), _Handler)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    http_port = _free_port()
    launch = rotel_launch(
        environ=os.environ,
        http_endpoint=f"127.0.0.1:{http_port}",
        grpc_endpoint=f"127.0.0.1:{_free_port()}",
        exporter_endpoint=f"http://127.0.0.1:{receiver.server_address[1]}",
        exporter_protocol="http",
    )
    argv = [arg for arg in launch.argv if with_processor or not arg.startswith("--otlp-with-trace-processor")]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(argv, env={**os.environ, **launch.env}, stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{http_port}/v1/traces"
            _wait_ready(url, process)
            while receiver.spans < 1:  # the warm-up span (and the processor's first batch)
                time.sleep(0.05)
            receiver.spans = 0
            cpu = _cpu_seconds(process.pid)
            start = time.perf_counter()
            with ThreadPoolExecutor(2) as senders:
                list(senders.map(lambda body: _post(url, body), bodies))
            while receiver.spans < spans:
                if process.poll() is not None:
                    raise RuntimeError(f"rotel exited: {log.seek(0) or log.read().decode(errors='replace')[-2000:]}")
                time.sleep(0.01)
            elapsed = time.perf_counter() - start
            cpu = _cpu_seconds(process.pid) - cpu
        finally:
            process.terminate()
            process.wait(timeout=20)
            receiver.shutdown()
    return spans / elapsed, cpu / spans * 1e6


def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    warm_up = _request(10**12, 1)
    while True:
        try:
            _post(url, warm_up)
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("rotel did not start") from None
            time.sleep(0.1)


def _post(url: str, body: bytes) -> None:
    sent = urllib.request.Request(url, data=body, headers={"content-type": "application/x-protobuf"}, method="POST")
    with urllib.request.urlopen(sent, timeout=30) as answer:
        answer.read()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gateway", description=__doc__)
    parser.add_argument("--spans", type=int, default=40_000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args(argv)
    requests = max(1, args.spans // args.batch)
    bodies = [_request(1 + n * args.batch, args.batch) for n in range(requests)]
    spans = requests * args.batch
    plain_rate, plain_cpu = _run(False, bodies, spans)
    priced_rate, priced_cpu = _run(True, bodies, spans)
    print(f"{spans} spans in {requests} OTLP/HTTP requests of {args.batch} (60% of them LLM spans)")
    print()
    print("| rotel | spans/s | rotel CPU µs/span |")
    print("|---|---:|---:|")
    print(f"| without processor | {plain_rate:,.0f} | {plain_cpu:.1f} |")
    print(f"| with genai-cost's processor | {priced_rate:,.0f} | {priced_cpu:.1f} |")
    print(f"| ratio | {priced_rate / plain_rate:.2f}x | {priced_cpu / plain_cpu:.1f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
