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
from pathlib import Path
from typing import Any

import grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from tests.support.fake_http import FakeHTTPServer, Reply, Request

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


class _Collector(trace_service_pb2_grpc.TraceServiceServicer, metrics_service_pb2_grpc.MetricsServiceServicer):  # type: ignore[misc]
    """Keeps what it is sent; serves OTLP/HTTP bodies and the gRPC Trace and Metrics services."""

    def __init__(self, received: Received, delay: float = 0.0) -> None:
        self._received = received
        self._delay = delay

    def Export(self, request: Any, context: Any = None) -> Any:
        time.sleep(self._delay)
        with self._received.lock:
            if isinstance(request, trace_service_pb2.ExportTraceServiceRequest):
                self._received.traces.append(request)
                return trace_service_pb2.ExportTraceServiceResponse()
            self._received.metrics.append(request)
            return metrics_service_pb2.ExportMetricsServiceResponse()

    def answer(self, request: Request) -> Reply:
        """``POST /v1/traces`` and ``POST /v1/metrics`` with protobuf bodies, gzip or not."""
        message_type = _HTTP_PATHS.get(request.path)
        if message_type is None:
            return Reply(404, b"")
        body = gzip.decompress(request.body) if request.headers.get("content-encoding") == "gzip" else request.body
        reply = self.Export(message_type.FromString(body))
        return Reply(200, reply.SerializeToString(), headers={"content-type": "application/x-protobuf"})


_HTTP_PATHS = {
    "/v1/traces": trace_service_pb2.ExportTraceServiceRequest,
    "/v1/metrics": metrics_service_pb2.ExportMetricsServiceRequest,
}


class OtlpHttpReceiver:
    """OTLP over HTTP with protobuf bodies; ``delay`` seconds before each answer."""

    def __init__(self, *, delay: float = 0.0) -> None:
        self.received = Received()
        self._server = FakeHTTPServer(_Collector(self.received, delay).answer)

    @property
    def endpoint(self) -> str:
        return self._server.origin

    def __enter__(self) -> OtlpHttpReceiver:
        self._server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.__exit__(*exc)


class OtlpGrpcReceiver:
    """OTLP over gRPC: the collector's TraceService and MetricsService."""

    def __init__(self) -> None:
        self.received = Received()
        collector = _Collector(self.received)
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(collector, self._server)
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(collector, self._server)
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
