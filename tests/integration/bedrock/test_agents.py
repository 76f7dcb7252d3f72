"""Bedrock agent runtime: each model invocation an agent trace reports is one priced ``chat``
span under the ``invoke_agent`` span; ``retrieve_and_generate`` reports no usage."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import EventStreamError
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from tests.support.fake_bedrock import AGENT_INVOCATION_MS, AGENT_INVOCATIONS, TEXT, agent_client, scenario
from tests.support.fake_http import FakeHTTPServer
from tests.support.price_oracle import oracle_cost
from tests.support.telemetry import metric_points

import genai_cost
from genai_cost import CostSpanProcessor
from genai_cost.instrumentation.bedrock import BedrockInstrumentor
from genai_cost.semconv import GenAI, Metrics, Ours, PricingStatus

from .helpers import only_span

KNOWLEDGE_BASE_MODEL = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"


@pytest.fixture
def agents(instrument: Callable[..., BedrockInstrumentor], fake_bedrock: FakeHTTPServer, boto_session: Any) -> Any:
    instrument()
    return agent_client(fake_bedrock.origin, boto_session)


def _invoke(agents: Any, *, trace: bool = True) -> bytes:
    result = agents.invoke_agent(
        agentId="AGENT01", agentAliasId="ALIAS01", sessionId="session-1", inputText="Hello", enableTrace=trace
    )
    return b"".join(event["chunk"]["bytes"] for event in result["completion"] if "chunk" in event)


def _split(exporter: InMemorySpanExporter) -> tuple[ReadableSpan, list[ReadableSpan]]:
    spans = exporter.get_finished_spans()
    agent = [span for span in spans if (span.attributes or {}).get(GenAI.OPERATION_NAME) == "invoke_agent"]
    assert len(agent) == 1, [span.name for span in spans]
    return agent[0], [span for span in spans if span is not agent[0]]


def _oracle(invocations: tuple[tuple[str, str, Any], ...]) -> list[float]:
    return [oracle_cost(model, "aws", input_tokens=t.input, output_tokens=t.output) for _, model, t in invocations]


def test_each_model_invocation_is_priced_once_under_the_agent_span(
    agents: Any, span_exporter: InMemorySpanExporter
) -> None:
    with genai_cost.track_usage() as usage:
        text = _invoke(agents)

    assert text == "".join(TEXT).encode()
    agent, calls = _split(span_exporter)
    assert [(span.attributes or {})[GenAI.REQUEST_MODEL] for span in calls] == [m for _, m, _ in AGENT_INVOCATIONS]
    for span, (_, model, tokens), expected in zip(calls, AGENT_INVOCATIONS, _oracle(AGENT_INVOCATIONS), strict=True):
        attributes = span.attributes or {}
        assert span.name == f"chat {model}"
        assert span.parent is not None and span.parent.span_id == agent.context.span_id
        assert attributes[GenAI.USAGE_INPUT_TOKENS] == tokens.input
        assert attributes[GenAI.USAGE_OUTPUT_TOKENS] == tokens.output
        assert attributes[Ours.PRICING_STATUS] == PricingStatus.PRICED
        assert attributes[GenAI.USAGE_COST_AMOUNT] == pytest.approx(expected, rel=1e-12)
    attributes = agent.attributes or {}
    assert agent.name == "invoke_agent"
    assert attributes[GenAI.AGENT_ID] == "AGENT01"
    assert not {GenAI.USAGE_COST_AMOUNT, GenAI.USAGE_INPUT_TOKENS, Ours.PRICING_STATUS} & set(attributes)
    assert usage.successful_requests == len(AGENT_INVOCATIONS)
    assert float(usage.total_cost) == pytest.approx(sum(_oracle(AGENT_INVOCATIONS)), rel=1e-12)


def test_each_model_invocation_lasts_its_reported_total_time(
    agents: Any, span_exporter: InMemorySpanExporter, metric_reader: InMemoryMetricReader
) -> None:
    _invoke(agents)

    agent, calls = _split(span_exporter)
    assert [span.end_time - span.start_time for span in calls] == [ms * 1_000_000 for ms in AGENT_INVOCATION_MS]  # type: ignore[operator]
    assert all(span.end_time <= agent.end_time for span in calls)  # type: ignore[operator]
    points = metric_points(metric_reader, Metrics.OPERATION_DURATION)
    timed = [(model, ms / 1000) for (_, model, _), ms in zip(AGENT_INVOCATIONS, AGENT_INVOCATION_MS, strict=True)]
    for model in {model for model, _ in timed}:
        seconds = [s for m, s in timed if m == model]
        (point,) = [p for p in points if p.attributes.get(GenAI.REQUEST_MODEL) == model]
        assert point.count == len(seconds)
        assert (point.min, point.max, point.sum) == pytest.approx((min(seconds), max(seconds), sum(seconds)), rel=1e-9)


def test_without_total_time_an_invocation_starts_when_its_input_event_arrived(
    agents: Any, span_exporter: InMemorySpanExporter
) -> None:
    with scenario(agents, "untimed"):
        result = agents.invoke_agent(agentId="AGENT01", agentAliasId="ALIAS01", sessionId="session-1",
                                     inputText="Hello", enableTrace=True)  # fmt: skip
    events = iter(result["completion"])
    assert "modelInvocationInput" in next(events)["trace"]["trace"]["routingClassifierTrace"]
    between = time.time_ns()
    for _ in events:
        pass

    _, calls = _split(span_exporter)
    assert calls[0].start_time is not None and calls[0].end_time is not None
    assert calls[0].start_time <= between <= calls[0].end_time


def test_an_inline_agent_prices_each_model_invocation_once(agents: Any, span_exporter: InMemorySpanExporter) -> None:
    with genai_cost.track_usage() as usage:
        result = agents.invoke_inline_agent(sessionId="inline-1", foundationModel=AGENT_INVOCATIONS[1][1],
                                            instruction="You are a helpful assistant for testing.",
                                            agentName="helper", inputText="Hello", enableTrace=True)  # fmt: skip
        text = b"".join(event["chunk"]["bytes"] for event in result["completion"] if "chunk" in event)

    assert text == "".join(TEXT).encode()
    agent, calls = _split(span_exporter)
    assert (agent.attributes or {})[GenAI.AGENT_NAME] == "helper"
    assert [span.parent.span_id for span in calls if span.parent] == [agent.context.span_id] * len(AGENT_INVOCATIONS)
    costs = [(span.attributes or {})[GenAI.USAGE_COST_AMOUNT] for span in calls]
    assert costs == pytest.approx(_oracle(AGENT_INVOCATIONS), rel=1e-12)
    assert usage.successful_requests == len(AGENT_INVOCATIONS)
    assert float(usage.total_cost) == pytest.approx(sum(_oracle(AGENT_INVOCATIONS)), rel=1e-12)


def test_the_agent_span_rolls_up_its_model_invocations(
    instrument: Callable[..., BedrockInstrumentor], fake_bedrock: FakeHTTPServer, boto_session: Any
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(CostSpanProcessor(SimpleSpanProcessor(exporter)))
    instrument(tracer_provider=provider, meter_provider=MeterProvider())
    with provider.get_tracer("app").start_as_current_span("app"):
        _invoke(agent_client(fake_bedrock.origin, boto_session))

    agent, calls = _split(exporter)
    app = next(span for span in calls if span.name == "app")
    for span in (agent, app):
        attributes = span.attributes or {}
        assert attributes[Ours.SUBTREE_CALLS] == len(AGENT_INVOCATIONS)
        assert attributes[Ours.SUBTREE_COST_AMOUNT] == pytest.approx(sum(_oracle(AGENT_INVOCATIONS)), rel=1e-12)


def test_without_the_trace_the_agent_span_says_no_usage(agents: Any, span_exporter: InMemorySpanExporter) -> None:
    assert _invoke(agents, trace=False) == "".join(TEXT).encode()

    span = only_span(span_exporter)
    assert span.name == "invoke_agent"
    assert (span.attributes or {})[Ours.PRICING_STATUS] == PricingStatus.NO_USAGE
    assert GenAI.USAGE_COST_AMOUNT not in (span.attributes or {})


def test_invocations_reported_before_a_stream_error_stay_priced(
    agents: Any, span_exporter: InMemorySpanExporter
) -> None:
    with scenario(agents, "stream_error"), pytest.raises(EventStreamError):
        _invoke(agents)

    agent, calls = _split(span_exporter)
    assert agent.status.status_code is StatusCode.ERROR
    expected = _oracle(AGENT_INVOCATIONS[:2])
    assert [(span.attributes or {})[GenAI.USAGE_COST_AMOUNT] for span in calls] == pytest.approx(expected, rel=1e-12)


def test_retrieve_and_generate_reports_no_usage(agents: Any, span_exporter: InMemorySpanExporter) -> None:
    config = {"type": "KNOWLEDGE_BASE",
              "knowledgeBaseConfiguration": {"knowledgeBaseId": "KB01", "modelArn": KNOWLEDGE_BASE_MODEL}}  # fmt: skip
    result = agents.retrieve_and_generate(input={"text": "What is Bedrock?"}, retrieveAndGenerateConfiguration=config)

    assert result["output"]["text"] == "".join(TEXT)
    span = only_span(span_exporter)
    attributes = span.attributes or {}
    assert span.name == f"chat {KNOWLEDGE_BASE_MODEL}"
    assert attributes[Ours.PRICING_STATUS] == PricingStatus.NO_USAGE
    assert GenAI.USAGE_COST_AMOUNT not in attributes
