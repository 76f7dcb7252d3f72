"""Pricing at the gateway: spans sent as a non-Python service sends them (raw OTLP protobuf over
HTTP and gRPC) -> rotel started by ``genai-cost gateway rotel``'s command line -> a local OTLP
receiver. Each GenAI span arrives priced as ``genai-cost cost`` and genai-prices price its
usage, the other spans arrive as sent, and ancestors carry the cost of the batch's spans below.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status
from tests.e2e.otlp import OtlpHttpReceiver, attributes, clean_env
from tests.grafana.live import free_port, wait_for
from tests.support.price_oracle import oracle_cost
from tests.support.price_server import price_document

from genai_cost.cli import main as genai_cost_cli

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SRC = Path(__file__).resolve().parents[2] / "src"


def _unavailable(reason: str) -> None:
    """Skip with ``reason``; under CI the gateway is required, so fail instead."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI is set: rotel with genai-cost's processor is required)", pytrace=False)
    pytest.skip(reason)


# --- spans as another language's SDK exports them -------------------------------------------


def _any(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, list):
        return AnyValue(array_value=ArrayValue(values=[_any(item) for item in value]))
    return AnyValue(string_value=value)


def _pairs(values: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=key, value=_any(value)) for key, value in values.items()]


@dataclass
class Sent:
    request: trace_service_pb2.ExportTraceServiceRequest
    trace_id: bytes
    spans: dict[str, Span]
    """By role: ``agent`` (the root), ``semconv``, ``legacy``, ``openinference``, ``priced``,
    ``plain``, ``malformed``, ``partly_malformed``, ``framework`` and ``sdk`` (under it)."""


SEMCONV = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.response.model": "gpt-4o-2024-08-06",
    "gen_ai.usage.input_tokens": 1200,
    "gen_ai.usage.output_tokens": 300,
    "gen_ai.usage.cache_read.input_tokens": 200,
    "gen_ai.response.finish_reasons": ["tool_calls", "stop", "length"],
}
LEGACY = {  # the names of semconv <= 1.26 that many instrumentations still write
    "gen_ai.system": "anthropic",
    "gen_ai.request.model": "claude-3-5-haiku-20241022",
    "gen_ai.usage.prompt_tokens": 900,
    "gen_ai.usage.completion_tokens": 120,
}
OPENINFERENCE = {
    "openinference.span.kind": "LLM",
    "llm.provider": "openai",
    "llm.model_name": "gpt-4o-mini",
    "llm.token_count.prompt": 800,
    "llm.token_count.completion": 50,
    "llm.token_count.total": 850,
}
PRICED = {  # priced where it was emitted (a provider-reported cost): never priced again
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.usage.input_tokens": 10,
    "gen_ai.usage.output_tokens": 5,
    "gen_ai.usage.cost.amount": 0.5,
    "gen_ai.usage.cost.currency": "USD",
    "gen_ai.usage.cost.source": "provider",
    "genai_cost.pricing.status": "provider",
}
PLAIN = {"http.request.method": "GET", "url.path": "/search", "http.response.status_code": 200, "tags": ["b", "a", "c"]}
MALFORMED = {  # no count a reader accepts: not GenAI usage
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.usage.input_tokens": "lots",
    "gen_ai.usage.output_tokens": -3,
}
PARTLY_MALFORMED = {  # the output count is not a count: priced on the input alone
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.usage.input_tokens": 4000,
    "gen_ai.usage.output_tokens": 1.5e300,
}
FRAMEWORK = {  # an OpenInference LLM span around the SDK span of the same call
    "openinference.span.kind": "LLM",
    "llm.provider": "openai",
    "llm.model_name": "gpt-4o",
    "llm.token_count.prompt": 100,
    "llm.token_count.completion": 20,
}
SDK = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.usage.input_tokens": 100,
    "gen_ai.usage.output_tokens": 20,
}


def _batch(seed: int) -> Sent:
    trace_id = seed.to_bytes(16, "big")
    now = time.time_ns()
    spans: dict[str, Span] = {}

    def span(role: str, number: int, parent: int | None, values: dict[str, Any], **extra: Any) -> Span:
        spans[role] = Span(
            trace_id=trace_id,
            span_id=number.to_bytes(8, "big"),
            parent_span_id=b"" if parent is None else parent.to_bytes(8, "big"),
            name=role,
            kind=Span.SPAN_KIND_CLIENT,
            start_time_unix_nano=now - 2_000_000_000,
            end_time_unix_nano=now - 1_000_000_000,
            attributes=_pairs(values),
            **extra,
        )
        return spans[role]

    agent = span("agent", 1, None, {"gen_ai.agent.name": "researcher"}, status=Status(code=Status.STATUS_CODE_OK))
    children = [
        span(
            "semconv",
            2,
            1,
            SEMCONV,
            events=[Span.Event(time_unix_nano=now, name="gen_ai.choice", attributes=_pairs({"index": [1, 0]}))],
        ),
        span("legacy", 3, 1, LEGACY),
        span("openinference", 4, 1, OPENINFERENCE),
        span("priced", 5, 1, PRICED),
        span(
            "plain",
            6,
            1,
            PLAIN,
            events=[Span.Event(time_unix_nano=now, name="retry", attributes=_pairs({"codes": [503, 502]}))],
            links=[Span.Link(trace_id=b"\x01" * 16, span_id=b"\x02" * 8, attributes=_pairs({"why": ["x", "y"]}))],
        ),
        span("malformed", 7, 1, MALFORMED),
        span("partly_malformed", 8, 1, PARTLY_MALFORMED, status=Status(code=Status.STATUS_CODE_ERROR)),
        span("framework", 9, 1, FRAMEWORK),
        span("sdk", 10, 9, SDK),
    ]
    # Children first, as an SDK exports them (they end first); the rollup does not depend on it.
    scope = InstrumentationScope(name="com.example.llm", version="1.0", attributes=_pairs({"langs": ["java", "go"]}))
    resource = Resource(attributes=_pairs({"service.name": "checkout-java", "hosts": ["h1", "h2"]}))
    scope_spans = ScopeSpans(scope=scope, spans=[*children, agent])
    request = trace_service_pb2.ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(resource=resource, scope_spans=[scope_spans])]
    )
    return Sent(request, trace_id, spans)


# --- rotel with the processor, as `genai-cost gateway rotel` starts it ----------------------


@dataclass
class Gateway:
    http: str
    grpc: str
    receiver: OtlpHttpReceiver
    launch: dict[str, Any]

    def received(self, trace_id: bytes, count: int) -> dict[str, Span]:
        def arrived() -> dict[str, Span] | None:
            spans = {span.name: span for span in self.receiver.received.spans() if span.trace_id == trace_id}
            return spans if len(spans) >= count else None

        return wait_for(arrived, f"{count} spans of trace {trace_id.hex()} at the receiver", timeout=30)


def _launch(http_port: int, grpc_port: int, exporter: str, settings: dict[str, str]) -> dict[str, Any]:
    """``genai-cost gateway rotel --json`` run as a user runs it (the worktree's package)."""
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("genai-cost")),
            "gateway",
            "rotel",
            f"--http-endpoint=127.0.0.1:{http_port}",
            f"--grpc-endpoint=127.0.0.1:{grpc_port}",
            f"--exporter-endpoint={exporter}",
            "--exporter-protocol=http",
            "--json",
        ],
        env=clean_env(PYTHONPATH=str(SRC), **settings),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    launch: dict[str, Any] = json.loads(result.stdout)
    return launch


@contextlib.contextmanager
def _running(tmp: Path, receiver: OtlpHttpReceiver, **settings: str) -> Iterator[Gateway]:
    """rotel started with ``genai-cost gateway rotel``'s command, run with ``settings`` set."""
    http_port, grpc_port = free_port(), free_port()
    launch = _launch(http_port, grpc_port, receiver.endpoint, settings)
    _require_rotel(launch)
    output = tmp / "rotel.out"
    with output.open("wb") as log:
        process = subprocess.Popen(
            [*launch["argv"], f"--pid-file={tmp / 'rotel.pid'}"],
            env=clean_env(**launch["env"]),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        ready = Gateway(f"http://127.0.0.1:{http_port}", f"127.0.0.1:{grpc_port}", receiver, launch)
        _check_loaded(ready, process, output)
        yield ready
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    with OtlpHttpReceiver() as receiver, _running(tmp_path_factory.mktemp("gateway"), receiver) as ready:
        yield ready


def _require_rotel(launch: dict[str, Any]) -> None:
    """rotel is installed and its binary runs (it links the libpython its processors run on)."""
    agent = launch["argv"][0]
    if not Path(agent).is_file():
        _unavailable(f"rotel-agent not found (pip install rotel==0.0.1a15): {agent}")
    ran = subprocess.run([agent, "--version"], capture_output=True, text=True, timeout=30, check=False)
    if ran.returncode != 0:
        python = launch["embedded_python"]
        _unavailable(f"rotel-agent does not run (is libpython{python} installed?): {ran.stderr.strip()[-500:]}")


def _check_loaded(gateway: Gateway, process: subprocess.Popen[bytes], output: Path) -> None:
    """A span comes back through the processor; rotel exiting instead means genai-cost's
    processor did not load (rotel itself runs, so that is genai-cost's failure)."""
    probe = Span(
        trace_id=b"\xff" * 16,
        span_id=b"\xff" * 8,
        name="probe",
        start_time_unix_nano=time.time_ns(),
        end_time_unix_nano=time.time_ns(),
        attributes=_pairs(SDK),
    )
    request = trace_service_pb2.ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=[probe])])]
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            _post(gateway.http, request)
        except OSError:
            time.sleep(0.2)
            continue
        gateway.received(probe.trace_id, 1)
        return
    pytest.fail(f"rotel with genai-cost's processor did not run: {output.read_text(errors='replace')[-2000:]}")


def _post(endpoint: str, request: trace_service_pb2.ExportTraceServiceRequest) -> None:
    body = request.SerializeToString()
    sent = urllib.request.Request(
        f"{endpoint}/v1/traces", data=body, headers={"content-type": "application/x-protobuf"}, method="POST"
    )
    with urllib.request.urlopen(sent, timeout=10) as answer:
        assert answer.status == 200


def _export_grpc(target: str, request: trace_service_pb2.ExportTraceServiceRequest) -> None:
    with grpc.insecure_channel(target) as channel:
        trace_service_pb2_grpc.TraceServiceStub(channel).Export(request, timeout=10)


SENDERS = {"http": lambda gateway, request: _post(gateway.http, request)}
SENDERS["grpc"] = lambda gateway, request: _export_grpc(gateway.grpc, request)


@pytest.fixture(params=sorted(SENDERS), scope="module")
def through_gateway(request: pytest.FixtureRequest, gateway: Gateway) -> tuple[Sent, dict[str, Span]]:
    """The batch sent over one transport, and its spans as the receiver got them (by role)."""
    sent = _batch(seed=1000 + sorted(SENDERS).index(request.param))
    SENDERS[request.param](gateway, sent.request)
    return sent, gateway.received(sent.trace_id, len(sent.spans))


# --- oracles --------------------------------------------------------------------------------


def _cli_cost(model: str, provider: str, input_tokens: int, output_tokens: int, *extra: str) -> float:
    """``genai-cost cost --json`` on the same usage."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = genai_cost_cli(
            [
                "cost",
                f"--model={model}",
                f"--provider={provider}",
                f"--input-tokens={input_tokens}",
                f"--output-tokens={output_tokens}",
                *extra,
                "--json",
            ]
        )
    assert code == 0, out.getvalue()
    return float(json.loads(out.getvalue())["total"])


EXPECTED = {  # role -> (cli arguments, genai-prices model, provider id, genai-prices usage)
    "semconv": (
        ("gpt-4o-2024-08-06", "openai", 1200, 300, "--cache-read-tokens=200"),
        ("gpt-4o-2024-08-06", "openai", {"input_tokens": 1200, "output_tokens": 300, "cache_read_tokens": 200}),
    ),
    "legacy": (
        ("claude-3-5-haiku-20241022", "anthropic", 900, 120),
        ("claude-3-5-haiku-20241022", "anthropic", {"input_tokens": 900, "output_tokens": 120}),
    ),
    "openinference": (
        ("gpt-4o-mini", "openai", 800, 50),
        ("gpt-4o-mini", "openai", {"input_tokens": 800, "output_tokens": 50}),
    ),
    "partly_malformed": (
        ("gpt-4o-mini", "openai", 4000, 0),
        ("gpt-4o-mini", "openai", {"input_tokens": 4000}),
    ),
    "sdk": (
        ("gpt-4o", "openai", 100, 20),
        ("gpt-4o", "openai", {"input_tokens": 100, "output_tokens": 20}),
    ),
}


# --- tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_each_genai_span_is_priced_as_genai_cost_cost_prices_its_usage(
    through_gateway: tuple[Sent, dict[str, Span]], role: str
) -> None:
    sent, received = through_gateway
    cli, (model, provider, usage) = EXPECTED[role]
    got = attributes(received[role])
    assert got["gen_ai.usage.cost.amount"] == pytest.approx(_cli_cost(*cli), rel=1e-12)
    assert got["gen_ai.usage.cost.amount"] == pytest.approx(oracle_cost(model, provider, **usage), rel=1e-9)
    assert got["gen_ai.usage.cost.currency"] == "USD"
    assert got["gen_ai.usage.cost.source"] == "local"
    assert got["genai_cost.pricing.status"] == "priced"
    # What the service sent is all there, unchanged and in order (cost attributes come after it).
    assert list(got.items())[: len(sent.spans[role].attributes)] == list(attributes(sent.spans[role]).items())
    assert received[role].events == sent.spans[role].events


@pytest.mark.parametrize("role", ["plain", "malformed", "priced"])
def test_spans_without_usage_to_price_arrive_as_sent(through_gateway: tuple[Sent, dict[str, Span]], role: str) -> None:
    sent, received = through_gateway
    assert received[role] == sent.spans[role]


def test_a_framework_span_around_the_sdk_span_of_its_call_is_not_priced_twice(
    through_gateway: tuple[Sent, dict[str, Span]],
) -> None:
    _sent, received = through_gateway
    framework, sdk = attributes(received["framework"]), attributes(received["sdk"])
    assert "gen_ai.usage.cost.amount" not in framework
    assert framework["genai_cost.subtree.cost.amount"] == sdk["gen_ai.usage.cost.amount"]
    assert framework["genai_cost.subtree.calls"] == 1


def test_ancestors_carry_the_cost_and_tokens_of_the_spans_below_them_in_the_batch(
    through_gateway: tuple[Sent, dict[str, Span]],
) -> None:
    sent, received = through_gateway
    calls = ["semconv", "legacy", "openinference", "priced", "partly_malformed", "sdk"]
    costs = [attributes(received[role])["gen_ai.usage.cost.amount"] for role in calls]
    agent = attributes(received["agent"])
    assert agent["genai_cost.subtree.cost.amount"] == pytest.approx(sum(costs), rel=1e-12)
    assert agent["genai_cost.subtree.calls"] == len(calls)
    assert agent["genai_cost.subtree.input_tokens"] == 1200 + 900 + 800 + 10 + 4000 + 100
    assert agent["genai_cost.subtree.output_tokens"] == 300 + 120 + 50 + 5 + 0 + 20
    # Nothing else of the root changed.
    sent_agent = attributes(sent.spans["agent"])
    assert {k: v for k, v in agent.items() if not k.startswith("genai_cost.subtree.")} == sent_agent
    assert received["agent"].status == sent.spans["agent"].status


def test_resource_and_scope_arrive_as_sent(gateway: Gateway, through_gateway: tuple[Sent, dict[str, Span]]) -> None:
    sent, _received = through_gateway
    expected = sent.request.resource_spans[0]
    for request in list(gateway.receiver.received.traces):
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                if any(span.trace_id == sent.trace_id for span in scope_spans.spans):
                    assert resource_spans.resource == expected.resource
                    assert scope_spans.scope == expected.scope_spans[0].scope
                    return
    raise AssertionError("the batch's scope was not received")


def _one_call(seed: int, model: str) -> Sent:
    now = time.time_ns()
    trace_id = seed.to_bytes(16, "big")
    span = Span(
        trace_id=trace_id,
        span_id=(1).to_bytes(8, "big"),
        name="call",
        start_time_unix_nano=now,
        end_time_unix_nano=now,
        attributes=_pairs({**SDK, "gen_ai.request.model": model}),
    )
    request = trace_service_pb2.ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=[span])])]
    )
    return Sent(request, trace_id, {"call": span})


def _cost_at(gateway: Gateway, seed: int, model: str) -> float:
    sent = _one_call(seed, model)
    _post(gateway.http, sent.request)
    amount: float = attributes(gateway.received(sent.trace_id, 1)["call"])["gen_ai.usage.cost.amount"]
    return amount


def test_the_pricing_file_and_runtime_refresh_settings_reach_the_processor(tmp_path: Path) -> None:
    house = tmp_path / "house.json"  # GENAI_COST_PRICING_FILE: a model only this file prices
    house.write_text(json.dumps(price_document({"house-model": (3.0, 7.0)})))
    served = tmp_path / "served.json"  # GENAI_COST_PRICING_URL, checked every second
    served.write_text(json.dumps(price_document({"fresh-model": (1.0, 2.0)}, generated_at="2026-12-01T00:00:00Z")))
    settings = {"GENAI_COST_PRICING_FILE": str(house), "GENAI_COST_PRICING_URL": str(served)}
    with OtlpHttpReceiver() as receiver, _running(tmp_path, receiver, GENAI_COST_PRICING_REFRESH="1", **settings) as gw:
        assert _cost_at(gw, 1, "house-model") == pytest.approx(
            _cli_cost("house-model", "openai", 100, 20, f"--pricing={house}")
        )
        assert _cost_at(gw, 2, "fresh-model") == pytest.approx(
            _cli_cost("fresh-model", "openai", 100, 20, f"--pricing={served}")
        )
        served.write_text(json.dumps(price_document({"fresh-model": (5.0, 2.0)}, generated_at="2026-12-03T00:00:00Z")))
        refreshed = _cli_cost("fresh-model", "openai", 100, 20, f"--pricing={served}")
        seeds = iter(range(3, 1000))
        wait_for(lambda: _cost_at(gw, next(seeds), "fresh-model") == pytest.approx(refreshed), "the refreshed price")
