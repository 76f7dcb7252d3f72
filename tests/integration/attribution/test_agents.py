"""``agent`` as an attribution key: the name of the nearest agent or workflow span above a call,
as ``CostSpanProcessor`` sees the span tree; for our instrumentors' calls and foreign spans alike."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import genai_prices
import openai
import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.integration.attribution.conftest import AGENT, MESSAGES, MODEL, PREFIX, TENANT, Telemetry, one_call_cost

import genai_cost
from genai_cost import CostSpanProcessor
from genai_cost.instrumentation.openai import OpenAIInstrumentor
from genai_cost.semconv import GenAI

AGENT_ENV = {"GENAI_COST_METRIC_ATTRIBUTION": "tenant,agent"}


@pytest.fixture
def pipeline(
    configure: Callable[..., None], span_exporter: InMemorySpanExporter, metric_reader: InMemoryMetricReader
) -> Iterator[tuple[TracerProvider, Telemetry]]:
    """The distro's pipeline: CostSpanProcessor in front of the exporting processor; openai instrumented."""
    configure(**AGENT_ENV)
    meter_provider = MeterProvider(metric_readers=[metric_reader])
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(
        CostSpanProcessor(SimpleSpanProcessor(span_exporter), meter_provider=meter_provider)
    )
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    yield tracer_provider, Telemetry(span_exporter, metric_reader)
    instrumentor.uninstrument()


def _agent_span(tracer: trace.Tracer, name: str, **extra: Any) -> Any:
    attributes = {GenAI.OPERATION_NAME: "invoke_agent", "gen_ai.agent.name": name, **extra}
    return tracer.start_as_current_span(f"invoke_agent {name}", attributes=attributes)


def test_calls_below_agent_and_workflow_spans_carry_the_agent(
    pipeline: tuple[TracerProvider, Telemetry], client: openai.OpenAI
) -> None:
    tracer_provider, telemetry = pipeline
    tracer = tracer_provider.get_tracer("agent-framework")

    def ask() -> None:
        client.chat.completions.create(model=MODEL, messages=MESSAGES)

    with genai_cost.track_usage() as usage:
        with _agent_span(tracer, "planner"):
            with tracer.start_as_current_span("execute_tool search", attributes={GenAI.OPERATION_NAME: "execute_tool"}):
                ask()  # two levels below the agent
            with _agent_span(tracer, "researcher"):
                ask()  # the nearest agent wins
                ask()
            with genai_cost.attribute(agent="manual"):
                ask()  # attribute() wins over the span tree
            ask()
        with tracer.start_as_current_span(
            "invoke_workflow nightly",
            attributes={GenAI.OPERATION_NAME: "invoke_workflow", "gen_ai.workflow.name": "nightly-report"},
        ):
            ask()
        ask()  # no agent above

    expected = {"planner": 2, "researcher": 2, "manual": 1, "nightly-report": 1}
    one = float(one_call_cost())
    assert Counter((s.attributes or {}).get(AGENT) for s in telemetry.llm_spans() if s.kind.name == "CLIENT") == {
        **expected,
        None: 1,
    }
    assert telemetry.cost_by(AGENT) == pytest.approx({**{a: n * one for a, n in expected.items()}, None: one})
    assert {agent: u.successful_requests for agent, u in usage.by("agent").items()} == {**expected, None: 1}


def test_agent_two_levels_up_in_another_thread_without_its_context(
    pipeline: tuple[TracerProvider, Telemetry], client: openai.OpenAI
) -> None:
    # The framework never makes the agent span current: it hands its span to a worker thread
    # that starts a step span under it explicitly. Only the span tree knows the agent.
    tracer_provider, telemetry = pipeline
    tracer = tracer_provider.get_tracer("agent-framework")
    agent = tracer.start_span("invoke_agent billing", attributes={"gen_ai.agent.name": "billing"})

    def worker() -> None:
        with (
            tracer.start_as_current_span("step", context=trace.set_span_in_context(agent)),
            tracer.start_as_current_span("execute_tool lookup"),
        ):
            client.chat.completions.create(model=MODEL, messages=MESSAGES)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    agent.end()

    assert telemetry.cost_by(AGENT) == pytest.approx({"billing": float(one_call_cost())})


def test_foreign_llm_spans_get_the_agent_and_the_attribution_in_force(
    pipeline: tuple[TracerProvider, Telemetry],
) -> None:
    # Another instrumentation's LLM span (semconv attributes, no cost): the processor prices it
    # under the attribution in force where it ends and the agent above it.
    tracer_provider, telemetry = pipeline
    tracer = tracer_provider.get_tracer("opentelemetry.instrumentation.someone_elses")
    usage = {GenAI.USAGE_INPUT_TOKENS: 1200, GenAI.USAGE_OUTPUT_TOKENS: 300}

    llm_attributes = {
        GenAI.OPERATION_NAME: "chat",
        GenAI.PROVIDER_NAME: "openai",
        GenAI.REQUEST_MODEL: MODEL,
        GenAI.RESPONSE_MODEL: MODEL,
        **usage,
    }
    with (
        genai_cost.track_usage() as totals,
        genai_cost.attribute(tenant="acme"),
        _agent_span(tracer, "support"),
        tracer.start_as_current_span(f"chat {MODEL}", kind=trace.SpanKind.CLIENT, attributes=llm_attributes),
    ):
        pass

    expected: Decimal = genai_prices.calc_price(
        genai_prices.Usage(input_tokens=1200, output_tokens=300), MODEL, provider_id="openai"
    ).total_price
    (llm,) = [s for s in telemetry.llm_spans() if s.name == f"chat {MODEL}"]
    attributes = llm.attributes or {}
    assert attributes[GenAI.USAGE_COST_AMOUNT] == pytest.approx(float(expected))
    assert (attributes[TENANT], attributes[AGENT]) == ("acme", "support")
    assert telemetry.cost_by(AGENT) == pytest.approx({"support": float(expected)})
    assert telemetry.cost_by(TENANT) == pytest.approx({"acme": float(expected)})
    assert totals.by("agent")["support"].total_cost == expected


def test_agents_are_not_tracked_unless_allowlisted(
    configure: Callable[..., None],
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
    client: openai.OpenAI,
) -> None:
    configure(GENAI_COST_METRIC_ATTRIBUTION="tenant")
    meter_provider = MeterProvider(metric_readers=[metric_reader])
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(
        CostSpanProcessor(SimpleSpanProcessor(span_exporter), meter_provider=meter_provider)
    )
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        with _agent_span(tracer_provider.get_tracer("app"), "planner"), genai_cost.attribute(tenant="acme"):
            client.chat.completions.create(model=MODEL, messages=MESSAGES)
    finally:
        instrumentor.uninstrument()

    telemetry = Telemetry(span_exporter, metric_reader)
    (span,) = telemetry.llm_spans()
    assert {name: value for name, value in (span.attributes or {}).items() if name.startswith(PREFIX)} == {
        TENANT: "acme"
    }
    assert telemetry.cost_by(AGENT) == pytest.approx({None: float(one_call_cost())})
    assert telemetry.cost_by(TENANT) == pytest.approx({"acme": float(one_call_cost())})
