"""``opentelemetry-instrument python app.py`` end to end: real OTLP bytes to a local receiver.

The app (``app.py``) uses only the openai SDK against the local fake server and the OTel API
for a parent span. ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=openai`` switches off other OpenAI
instrumentations the environment may have (the ``peers`` extra: opentelemetry-instrumentation-openai-v2
and OpenInference both register under ``openai``), leaving ``genai_cost_openai``.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from tests.e2e.otlp import (
    APP,
    OtlpGrpcReceiver,
    OtlpHttpReceiver,
    Received,
    attributes,
    clean_env,
    closed_port,
    lines,
    run,
)

from genai_cost.demo.fake_openai import SCENARIOS, FakeOpenAIServer
from genai_cost.pricing import PricingTable
from genai_cost.semconv import GenAI, Metrics, Ours, PricingStatus

pytestmark = pytest.mark.e2e

MILLION = Decimal(1_000_000)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture(scope="module")
def uninstrumented_stdout(fake: FakeOpenAIServer) -> str:
    plain = run(APP, app_env(fake), instrumented=False)
    assert plain.returncode == 0, plain.stderr
    return plain.stdout


def app_env(fake: FakeOpenAIServer, **env: str) -> dict[str, str]:
    return clean_env(
        OPENAI_BASE_URL=fake.base_url,
        OPENAI_API_KEY="sk-test",
        OTEL_SERVICE_NAME="e2e-app",
        OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="openai",
        # opentelemetry-distro is installed here too: name our configurator (see test_configuration.py).
        OTEL_PYTHON_CONFIGURATOR="genai_cost",
        **env,
    )


def expected_cost(attrs: dict[str, Any]) -> float:
    """Tokens on the span times the rates of the bundled entry for its model."""
    model = attrs.get(GenAI.RESPONSE_MODEL) or attrs[GenAI.REQUEST_MODEL]
    entry = PricingTable.default().match(model, "openai")
    assert entry is not None, model
    rates = entry.rates
    assert rates.input is not None
    cost = attrs[GenAI.USAGE_INPUT_TOKENS] * rates.input
    if GenAI.USAGE_OUTPUT_TOKENS in attrs:
        assert rates.output is not None
        cost += attrs[GenAI.USAGE_OUTPUT_TOKENS] * rates.output
    return float(cost / MILLION)


def check_received(received: Received) -> list[dict[str, Any]]:
    """Assert on what the app exported; returns the priced spans' attributes."""
    spans = received.spans()
    (parent,) = [s for s in spans if s.name == "handle-request"]
    calls = [s for s in spans if s.kind == Span.SPAN_KIND_CLIENT]
    assert len(calls) == 4
    assert {s.parent_span_id for s in calls} == {parent.span_id}
    priced = [attributes(s) for s in calls if GenAI.USAGE_COST_AMOUNT in attributes(s)]
    assert sorted(a[GenAI.OPERATION_NAME] for a in priced) == ["chat", "chat", "embeddings"]
    for attrs in priced:
        assert attrs[Ours.PRICING_STATUS] == PricingStatus.PRICED
        assert attrs[GenAI.USAGE_COST_AMOUNT] == pytest.approx(expected_cost(attrs), rel=1e-12)
        assert attrs[GenAI.USAGE_COST_CURRENCY] == "USD"
    default = SCENARIOS["default"]
    for attrs in (a for a in priced if a[GenAI.OPERATION_NAME] == "chat"):
        assert attrs[GenAI.USAGE_INPUT_TOKENS] == default.prompt_tokens
        assert attrs[GenAI.USAGE_OUTPUT_TOKENS] == default.completion_tokens
    (failed,) = [attributes(s) for s in calls if GenAI.ERROR_TYPE in attributes(s)]
    assert failed[GenAI.ERROR_TYPE] == "openai.RateLimitError"
    assert GenAI.USAGE_COST_AMOUNT not in failed

    total = sum(a[GenAI.USAGE_COST_AMOUNT] for a in priced)
    rollup = attributes(parent)
    assert rollup[Ours.SUBTREE_COST_AMOUNT] == pytest.approx(total, rel=1e-12)
    assert rollup[Ours.SUBTREE_INPUT_TOKENS] == sum(a[GenAI.USAGE_INPUT_TOKENS] for a in priced)
    assert rollup[Ours.SUBTREE_OUTPUT_TOKENS] == sum(a.get(GenAI.USAGE_OUTPUT_TOKENS, 0) for a in priced)
    assert rollup[Ours.SUBTREE_CALLS] == 3

    cost_metric = received.metric(Metrics.OPERATION_COST)
    assert cost_metric is not None
    points = cost_metric.histogram.data_points
    assert sum(p.count for p in points) == 3
    assert sum(p.sum for p in points) == pytest.approx(total, rel=1e-9)
    assert received.metric(Metrics.TOKEN_USAGE) is not None
    return priced


def test_otlp_http_receives_priced_spans_rollup_and_cost_metric(fake: FakeOpenAIServer) -> None:
    with OtlpHttpReceiver() as receiver:
        result = run(APP, app_env(fake, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint))

    assert result.returncode == 0, result.stderr
    check_received(receiver.received)
    (resource_spans, *_) = receiver.received.traces[0].resource_spans
    service = {a.key: value for a in resource_spans.resource.attributes for value in [a.value.string_value]}
    assert service["service.name"] == "e2e-app"


def test_otlp_grpc_receives_priced_spans_rollup_and_cost_metric(fake: FakeOpenAIServer) -> None:
    with OtlpGrpcReceiver() as receiver:
        env = app_env(fake, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL="grpc")
        result = run(APP, env)

    assert result.returncode == 0, result.stderr
    check_received(receiver.received)


@pytest.mark.parametrize("args", [pytest.param((), id="handled-error"), pytest.param(("--raise",), id="uncaught")])
def test_app_behaves_identically_with_and_without_instrumentation(
    fake: FakeOpenAIServer, args: tuple[str, ...]
) -> None:
    with OtlpHttpReceiver() as receiver:
        env = app_env(fake, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint)
        plain = run(APP, env, instrumented=False, args=args)
        instrumented = run(APP, env, args=args)

    assert receiver.received.spans(), instrumented.stderr
    assert instrumented.returncode == plain.returncode == (1 if args else 0)
    assert instrumented.stdout == plain.stdout
    assert "chat: The quick brown fox" in plain.stdout
    # The same exception (type and message) ends both runs, and nothing else raised.
    assert instrumented.stderr.count("Traceback") == plain.stderr.count("Traceback")
    assert app_lines(instrumented.stderr)[-1:] == app_lines(plain.stderr)[-1:]


def app_lines(stderr: str) -> list[str]:
    """stderr without opentelemetry-instrument's own startup notes.

    With opentelemetry-distro installed too, the loader says once which configurator it
    skipped ("Configuration of configurator not loaded, genai_cost already loaded").
    """
    return [line for line in lines(stderr) if not line.startswith("Configuration of ")]


def test_receiver_down_the_app_finishes_normally(fake: FakeOpenAIServer) -> None:
    env = app_env(fake, OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{closed_port()}", OTEL_EXPORTER_OTLP_TIMEOUT="2")
    plain = run(APP, env, instrumented=False)
    instrumented = run(APP, env)

    assert instrumented.returncode == 0, instrumented.stderr
    assert instrumented.stdout == plain.stdout
    assert "Traceback" not in instrumented.stderr


def test_slow_receiver_the_app_finishes_normally(fake: FakeOpenAIServer, uninstrumented_stdout: str) -> None:
    with OtlpHttpReceiver(delay=2.0) as receiver:
        env = app_env(fake, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint, OTEL_EXPORTER_OTLP_TIMEOUT="1")
        instrumented = run(APP, env)

    assert instrumented.returncode == 0, instrumented.stderr
    assert instrumented.stdout == uninstrumented_stdout
    assert "Traceback" not in instrumented.stderr
