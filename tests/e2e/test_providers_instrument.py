"""``opentelemetry-instrument`` with the Anthropic, Google GenAI and Mistral SDKs: real OTLP bytes,
priced once.

The Anthropic SDK 2.x adds its own ``anthropic.messages.create`` span (with usage) under ours
when a global tracer provider is set, and mistralai 2.x+ its own ``chat`` span with usage when its
tracing is on (``MISTRAL_SDK_TELEMETRY=global``); the cost must still be counted once per call,
in the spans' rollup and in the cost metric.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import anthropic
import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from tests.e2e.otlp import OtlpHttpReceiver, attributes, clean_env, run
from tests.integration.anthropic import helpers as anthropic_calls
from tests.integration.google_genai.helpers import FLASH
from tests.integration.google_genai.helpers import expected_cost as google_cost
from tests.support.fake_anthropic import fake_anthropic_server
from tests.support.fake_google_genai import fake_google_genai_server
from tests.support.fake_http import FakeHTTPServer
from tests.support.fake_mistral import SCENARIOS as MISTRAL_SCENARIOS
from tests.support.fake_mistral import fake_mistral_server
from tests.support.price_oracle import oracle_cost

from genai_cost.semconv import GenAI, Metrics, Ours, Provider

pytestmark = pytest.mark.e2e

APP = Path(__file__).with_name("app_providers.py")


MISTRAL_MODEL = "mistral-small-2603"


@pytest.fixture(scope="module")
def fakes() -> Iterator[tuple[FakeHTTPServer, FakeHTTPServer, FakeHTTPServer]]:
    with fake_anthropic_server() as claude, fake_google_genai_server() as gemini, fake_mistral_server() as mistral:
        yield claude, gemini, mistral


def _mistral_cost() -> Decimal:
    raw = MISTRAL_SCENARIOS["cached"]
    cost = oracle_cost(
        MISTRAL_MODEL, "mistral", input_tokens=raw.prompt_tokens, output_tokens=raw.completion_tokens,
        cache_read_tokens=raw.cached_tokens,
    )  # fmt: skip
    return Decimal(repr(cost))


def test_each_call_is_priced_once(fakes: tuple[FakeHTTPServer, FakeHTTPServer, FakeHTTPServer]) -> None:
    claude, gemini, mistral = fakes
    with OtlpHttpReceiver() as receiver:
        env = clean_env(
            ANTHROPIC_BASE_URL=claude.origin,
            FAKE_GEMINI_URL=gemini.origin,
            FAKE_MISTRAL_URL=mistral.origin,
            MISTRAL_SDK_TELEMETRY="global",
            OTEL_SERVICE_NAME="e2e-providers",
            OTEL_PYTHON_CONFIGURATOR="genai_cost",
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
        )
        plain = run(APP, env, instrumented=False)
        instrumented = run(APP, env)

    assert instrumented.returncode == plain.returncode == 0, instrumented.stderr
    assert instrumented.stdout == plain.stdout
    spans = receiver.received.spans()
    (parent,) = [span for span in spans if span.name == "handle-request"]
    ours = [
        attributes(s) for s in spans if s.kind == Span.SPAN_KIND_CLIENT and GenAI.USAGE_COST_AMOUNT in attributes(s)
    ]
    assert sorted(a[GenAI.PROVIDER_NAME] for a in ours) == sorted(
        [Provider.ANTHROPIC, Provider.ANTHROPIC, Provider.GCP_GEMINI, Provider.MISTRAL]
    )
    expected = (
        anthropic_calls.expected_cost("cached")
        + anthropic_calls.expected_cost("cache_write")
        + google_cost("thinking", FLASH, Provider.GCP_GEMINI)
        + _mistral_cost()
    )
    assert Decimal(repr(sum(a[GenAI.USAGE_COST_AMOUNT] for a in ours))) == pytest.approx(expected, rel=Decimal("1e-12"))
    native = [attributes(s) for s in spans if s.name == "anthropic.messages.create"]
    assert len(native) == (2 if int(anthropic.__version__.split(".")[0]) >= 2 else 0)
    assert all(GenAI.USAGE_COST_AMOUNT not in a and GenAI.USAGE_OUTPUT_TOKENS in a for a in native)
    # mistralai's span of the call has its usage and, inside ours, no cost.
    mistral_calls = [attributes(s) for s in spans if attributes(s).get(GenAI.REQUEST_MODEL) == MISTRAL_MODEL]
    assert len(mistral_calls) == 2, mistral_calls
    assert all(a[GenAI.USAGE_INPUT_TOKENS] == MISTRAL_SCENARIOS["cached"].prompt_tokens for a in mistral_calls)
    assert sum(GenAI.USAGE_COST_AMOUNT in a for a in mistral_calls) == 1
    rollup = attributes(parent)
    assert rollup[Ours.SUBTREE_CALLS] == 4
    assert rollup[Ours.SUBTREE_COST_AMOUNT] == pytest.approx(float(expected), rel=1e-12)
    cost_metric = receiver.received.metric(Metrics.OPERATION_COST)
    assert cost_metric is not None
    assert sum(point.count for point in cost_metric.histogram.data_points) == 4
    assert sum(point.sum for point in cost_metric.histogram.data_points) == pytest.approx(float(expected), rel=1e-9)
