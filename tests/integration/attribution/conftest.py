"""Attribution through the real openai SDK against the local fake server.

Settings are read once per process, so each test sets its environment (``configure``) and then
instruments; the default ``Telemetry`` fixture allowlists tenant and feature for metrics.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from decimal import Decimal

import genai_prices
import openai
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.support.telemetry import metric_points

from genai_cost.demo.fake_openai import SCENARIOS, FakeOpenAIServer
from genai_cost.instrumentation.openai import OpenAIInstrumentor
from genai_cost.semconv import GenAI, Metrics

MODEL = "gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Say something short."}]
# The names the contract promises (docs/attribution.md), spelled out.
PREFIX = "genai_cost.attribution."
TENANT = PREFIX + "tenant"
FEATURE = PREFIX + "feature"
USER = PREFIX + "user"
AGENT = PREFIX + "agent"
OTHER = "_other"
OVERFLOW = "genai_cost.client.attribution.overflow"
OVERFLOW_KEY = "genai_cost.overflow.key"


def one_call_cost(model: str = MODEL) -> Decimal:
    """What one default-scenario call costs, by genai-prices (the independent oracle)."""
    default = SCENARIOS["default"]
    usage = genai_prices.Usage(input_tokens=default.prompt_tokens, output_tokens=default.completion_tokens)
    price: Decimal = genai_prices.calc_price(usage, model, provider_id="openai").total_price
    return price


class Telemetry:
    """The exported spans and metric points of the test's calls."""

    def __init__(self, spans: InMemorySpanExporter, reader: InMemoryMetricReader) -> None:
        self.spans = spans
        self.reader = reader

    def llm_spans(self) -> list[ReadableSpan]:
        return [s for s in self.spans.get_finished_spans() if GenAI.REQUEST_MODEL in (s.attributes or {})]

    def points(self, metric: str = Metrics.OPERATION_COST) -> list[object]:
        return metric_points(self.reader, metric)

    def cost_by(self, attribute: str) -> dict[str | None, float]:
        """The cost histogram's sum per value of a metric attribute (``None``: points without it)."""
        totals: dict[str | None, float] = {}
        for point in self.points():
            value = point.attributes.get(attribute)  # type: ignore[attr-defined]
            totals[value] = totals.get(value, 0.0) + point.sum  # type: ignore[attr-defined]
        return totals

    def count_by(self, attribute: str, metric: str = Metrics.OPERATION_DURATION) -> dict[str | None, int]:
        totals: dict[str | None, int] = {}
        for point in self.points(metric):
            value = point.attributes.get(attribute)  # type: ignore[attr-defined]
            totals[value] = totals.get(value, 0) + point.count  # type: ignore[attr-defined]
        return totals


@pytest.fixture
def instrument(
    configure: Callable[..., None],
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> Iterator[Callable[..., Telemetry]]:
    """``instrument(**env)``: set the environment, then instrument openai (uninstrumented at teardown)."""
    instrumentor = OpenAIInstrumentor()

    def apply(**env: str) -> Telemetry:
        configure(**env)
        instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        return Telemetry(span_exporter, metric_reader)

    yield apply
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()


@pytest.fixture
def telemetry(instrument: Callable[..., Telemetry]) -> Telemetry:
    return instrument(GENAI_COST_METRIC_ATTRIBUTION="tenant,feature")


@pytest.fixture
def client(fake_openai: FakeOpenAIServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=fake_openai.base_url, api_key="sk-test-attribution", max_retries=0) as sdk:
        yield sdk


@pytest.fixture(autouse=True)
def no_budgets_left_over() -> Iterator[None]:
    yield
    budgets = sys.modules.get("genai_cost.budgets")
    for each in budgets._registry.budgets if budgets is not None else ():
        each.cancel()
