"""The OTLP export path through a real collector process: app -> rotel -> OTLP/HTTP receiver.

No otelcol binary or Docker here; rotel (an OpenTelemetry collector from PyPI) receives the
app's OTLP/HTTP spans and forwards them over OTLP/HTTP to a receiver this test runs. The
spans must arrive with their cost and usage attributes intact.
"""

from __future__ import annotations

import gzip
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from tests.grafana.live import free_port, run_app, wait_for

from genai_cost.semconv import GenAI, Ours

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

rotel = pytest.importorskip("rotel")
ROTEL_AGENT = Path(rotel.__file__).with_name("rotel-agent")
SERVICE = "genai-cost-rotel"


class _Receiver(ThreadingHTTPServer):
    daemon_threads = True
    requests: list[ExportTraceServiceRequest]


class _Handler(BaseHTTPRequestHandler):
    server: _Receiver

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        if self.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        assert self.path == "/v1/traces", self.path
        self.server.requests.append(ExportTraceServiceRequest.FromString(body))
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    server = _Receiver(("127.0.0.1", 0), _Handler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def rotel_endpoint(tmp_path: Path, receiver: _Receiver) -> Iterator[str]:
    """A running rotel: OTLP in on 127.0.0.1, OTLP/HTTP out to ``receiver``."""
    http_port, grpc_port = free_port(), free_port()
    log = (tmp_path / "rotel.out").open("wb")
    process = subprocess.Popen(
        [
            str(ROTEL_AGENT),
            "start",
            f"--otlp-http-endpoint=127.0.0.1:{http_port}",
            f"--otlp-grpc-endpoint=127.0.0.1:{grpc_port}",
            "--exporter=otlp",
            f"--otlp-exporter-endpoint=http://127.0.0.1:{receiver.server_address[1]}",
            "--otlp-exporter-protocol=http",
            f"--pid-file={tmp_path / 'rotel.pid'}",
            f"--log-file={tmp_path / 'rotel.log'}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: b"Starting Rotel" in (tmp_path / "rotel.out").read_bytes(), "rotel")
        yield f"http://127.0.0.1:{http_port}"
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(item) for item in value.array_value.values]
    return getattr(value, kind)


def _received(receiver: _Receiver) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """span id -> (resource attributes, span attributes) of everything received."""
    spans = {}
    for request in list(receiver.requests):
        for resource_spans in request.resource_spans:
            resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    attributes = {a.key: _value(a.value) for a in span.attributes}
                    spans[span.span_id.hex()] = (resource, attributes)
    return spans


def test_spans_with_cost_arrive_intact_through_rotel(tmp_path: Path, receiver: _Receiver, rotel_endpoint: str) -> None:
    with run_app(tmp_path, "--service", SERVICE, "--metrics", "none", "--otlp-endpoint", rotel_endpoint) as (
        app,
        _ready,
    ):
        sent = app.run_round()
        ids = {span["span_id"] for span in sent}

        def arrived() -> dict[str, tuple[dict[str, Any], dict[str, Any]]] | None:
            spans = _received(receiver)
            return spans if ids <= spans.keys() else None

        received = wait_for(arrived, "the round's spans at the receiver")
    priced = 0
    for span in sent:
        resource, attributes = received[span["span_id"]]
        assert resource["service.name"] == SERVICE
        assert attributes == span["attributes"]
        priced += GenAI.USAGE_COST_AMOUNT in attributes
    statuses = {received[s["span_id"]][1].get(Ours.PRICING_STATUS) for s in sent}
    assert priced >= 4 and "unknown_model" in statuses
