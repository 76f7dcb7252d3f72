"""Local OTLP receivers (HTTP/protobuf and gRPC) that decode what an app exports, and a runner.

Both receivers bind to 127.0.0.1 on a random port and keep the decoded
``ExportTraceServiceRequest``/``ExportMetricsServiceRequest`` messages they received.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent import futures
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric
from opentelemetry.proto.trace.v1.trace_pb2 import Span

APP = Path(__file__).with_name("app.py")


@dataclass
class Received:
    """Everything one receiver was sent, decoded."""

    traces: list[trace_service_pb2.ExportTraceServiceRequest] = field(default_factory=list)
    metrics: list[metrics_service_pb2.ExportMetricsServiceRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def spans(self) -> list[Span]:
        with self.lock:
            return [
                span
                for request in self.traces
                for resource_spans in request.resource_spans
                for scope_spans in resource_spans.scope_spans
                for span in scope_spans.spans
            ]

    def metric(self, name: str) -> Metric | None:
        """The last export of metric ``name`` (cumulative: it holds the totals)."""
        with self.lock:
            found = [
                metric
                for request in self.metrics
                for resource_metrics in request.resource_metrics
                for scope_metrics in resource_metrics.scope_metrics
                for metric in scope_metrics.metrics
                if metric.name == name
            ]
        return found[-1] if found else None


def value(any_value: AnyValue) -> Any:
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return [value(item) for item in any_value.array_value.values]
    return getattr(any_value, kind) if kind else None


def attributes(span: Span) -> dict[str, Any]:
    return {item.key: value(item.value) for item in span.attributes}


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up on a slow answer is expected here, not an error."""


class OtlpHttpReceiver:
    """OTLP over HTTP with protobuf bodies: ``POST /v1/traces`` and ``POST /v1/metrics``."""

    def __init__(self, *, delay: float = 0.0) -> None:
        self.received = Received()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                time.sleep(delay)
                if self.path == "/v1/traces":
                    message: Any = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
                    reply: Any = trace_service_pb2.ExportTraceServiceResponse()
                    target: list[Any] = received.traces
                elif self.path == "/v1/metrics":
                    message = metrics_service_pb2.ExportMetricsServiceRequest.FromString(body)
                    reply = metrics_service_pb2.ExportMetricsServiceResponse()
                    target = received.metrics
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                with received.lock:
                    target.append(message)
                payload = reply.SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> OtlpHttpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class _TraceService(trace_service_pb2_grpc.TraceServiceServicer):  # type: ignore[misc]
    def __init__(self, received: Received) -> None:
        self._received = received

    def Export(self, request: Any, context: Any) -> Any:
        with self._received.lock:
            self._received.traces.append(request)
        return trace_service_pb2.ExportTraceServiceResponse()


class _MetricsService(metrics_service_pb2_grpc.MetricsServiceServicer):  # type: ignore[misc]
    def __init__(self, received: Received) -> None:
        self._received = received

    def Export(self, request: Any, context: Any) -> Any:
        with self._received.lock:
            self._received.metrics.append(request)
        return metrics_service_pb2.ExportMetricsServiceResponse()


class OtlpGrpcReceiver:
    """OTLP over gRPC: the collector's TraceService and MetricsService."""

    def __init__(self) -> None:
        self.received = Received()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_TraceService(self.received), self._server)
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(_MetricsService(self.received), self._server)
        self._port = self._server.add_insecure_port("127.0.0.1:0")

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def __enter__(self) -> OtlpGrpcReceiver:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop(grace=None)


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


_INHERITED_PREFIXES = ("OTEL_", "OPENAI_", "GENAI_COST_")


def clean_env(**env: str) -> dict[str, str]:
    """This process's environment without OTel/OpenAI/genai-cost settings, plus ``env``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(_INHERITED_PREFIXES)}
    base.pop("PYTHONPATH", None)
    return {**base, **env}


def opentelemetry_instrument() -> str:
    """The ``opentelemetry-instrument`` launcher installed next to this Python."""
    beside = Path(sys.executable).with_name("opentelemetry-instrument")
    found = str(beside) if beside.exists() else shutil.which("opentelemetry-instrument")
    assert found, "opentelemetry-instrument is not installed"
    return found


def run(
    script: Path, env: Mapping[str, str], *, instrumented: bool = True, args: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """Run ``[opentelemetry-instrument] python script args`` and wait for it."""
    command = [sys.executable, str(script), *args]
    if instrumented:
        command.insert(0, opentelemetry_instrument())
    return subprocess.run(command, env=dict(env), capture_output=True, text=True, timeout=120, check=False)


def lines(text: str) -> Iterator[str]:
    return (line for line in text.splitlines() if line.strip())
