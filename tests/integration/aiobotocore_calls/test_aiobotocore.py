"""Real aiobotocore ``bedrock-runtime`` and ``bedrock-agent-runtime`` clients over HTTP against
the fake Bedrock runtime.

aiobotocore pins botocore tightly, so it runs in a cached venv of its own
(``test_aiobotocore_venv.py``); here, without it, these tests are skipped.
The fake's shapes and counts (tests/support/fake_bedrock.py) are the ones the botocore tests use.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.support.fake_bedrock import AGENT_INVOCATIONS, CACHED, SCENARIO_HEADER, TEXT, Tokens, server
from tests.support.fake_http import FakeHTTPServer
from tests.support.instrumenting import assert_failed, instrumented
from tests.support.price_oracle import oracle_cost

from genai_cost.pricing import PricingTable
from genai_cost.semconv import GenAI, Ours, PricingStatus

aiobotocore_session = pytest.importorskip(
    "aiobotocore.session", reason="aiobotocore is not installed; test_aiobotocore_venv.py runs this in a venv"
)
from aiobotocore.config import AioConfig  # noqa: E402

from genai_cost.instrumentation.aiobotocore import AioBedrockInstrumentor  # noqa: E402

MODEL = "us.anthropic.claude-3-5-sonnet-20241022-v2:0"
MESSAGES = [{"role": "user", "content": [{"text": "Say hello"}]}]
BODY = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64,
                   "messages": [{"role": "user", "content": "Say hello"}]})  # fmt: skip


@pytest.fixture(scope="module")
def fake_bedrock() -> Iterator[FakeHTTPServer]:
    with server() as fake:
        yield fake


@pytest.fixture
def traced(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> Iterator[AioBedrockInstrumentor]:
    options = {"tracer_provider": tracer_provider, "meter_provider": meter_provider, "pricing": PricingTable.default()}
    with instrumented(AioBedrockInstrumentor(), **options) as instrumentor:
        yield instrumentor


@asynccontextmanager
async def bedrock(origin: str, scenario: str = "default", service: str = "bedrock-runtime") -> AsyncIterator[Any]:
    """A real aiobotocore client of ``service`` for the fake, asking for ``scenario`` on every call."""
    session = aiobotocore_session.get_session()
    async with session.create_client(
        service,
        region_name="us-east-1",
        endpoint_url=origin,
        aws_access_key_id="AKIDFAKEFAKEFAKEFAKE",
        aws_secret_access_key="fake-secret-DO-NOT-LEAK",
        config=AioConfig(retries={"total_max_attempts": 1}),
    ) as client:

        def add_header(request: Any, **kwargs: Any) -> None:
            request.headers[SCENARIO_HEADER] = scenario

        client.meta.events.register(f"before-sign.{client.meta.service_model.service_id.hyphenize()}", add_header)
        yield client


async def converse(client: Any) -> Any:
    result = await client.converse(modelId=MODEL, messages=MESSAGES)
    return result["output"]


async def converse_stream(client: Any) -> Any:
    result = await client.converse_stream(modelId=MODEL, messages=MESSAGES)
    return [event async for event in result["stream"]]


async def invoke_model(client: Any) -> Any:
    result = await client.invoke_model(modelId=MODEL, body=BODY)
    return json.loads(await result["body"].read())


async def invoke_model_chunks(client: Any) -> Any:
    result = await client.invoke_model(modelId=MODEL, body=BODY)
    async with result["body"] as body:
        return json.loads(b"".join([chunk async for chunk in body]))


async def invoke_model_with_response_stream(client: Any) -> Any:
    result = await client.invoke_model_with_response_stream(modelId=MODEL, body=BODY)
    return [event async for event in result["body"]]


CALLS = [converse, converse_stream, invoke_model, invoke_model_chunks, invoke_model_with_response_stream]
Call = Callable[[Any], Awaitable[Any]]


def run(origin: str, call: Call, scenario: str = "default") -> Any:
    async def main() -> Any:
        async with bedrock(origin, scenario) as client:
            return await call(client)

    return asyncio.run(main())


def _expected_cost(tokens: Tokens) -> float:
    return oracle_cost(MODEL, "aws", input_tokens=tokens.total_input, output_tokens=tokens.output,
                       cache_read_tokens=tokens.cache_read, cache_write_tokens=tokens.cache_write,
                       cache_write_5m_tokens=tokens.cache_write - tokens.cache_write_1h)  # fmt: skip


@pytest.mark.parametrize("call", CALLS, ids=lambda call: call.__name__)
def test_each_call_is_one_priced_span(
    fake_bedrock: FakeHTTPServer, traced: AioBedrockInstrumentor, span_exporter: InMemorySpanExporter, call: Call
) -> None:
    plain_answer = run(fake_bedrock.origin, call, "cached")

    assert plain_answer  # the app's result is whole: the events, or the parsed body
    (span,) = span_exporter.get_finished_spans()
    attributes = span.attributes or {}
    assert attributes[GenAI.PROVIDER_NAME] == "aws.bedrock"
    assert attributes[GenAI.REQUEST_MODEL] == MODEL
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == CACHED.total_input
    assert attributes[GenAI.USAGE_OUTPUT_TOKENS] == CACHED.output
    assert attributes[GenAI.USAGE_CACHE_READ_INPUT_TOKENS] == CACHED.cache_read
    assert attributes[GenAI.USAGE_CACHE_CREATION_INPUT_TOKENS] == CACHED.cache_write
    assert attributes[GenAI.USAGE_COST_AMOUNT] == pytest.approx(_expected_cost(CACHED), rel=1e-9)


def test_results_are_unchanged(fake_bedrock: FakeHTTPServer, tracer_provider: TracerProvider) -> None:
    plain = [run(fake_bedrock.origin, call) for call in CALLS]
    with instrumented(AioBedrockInstrumentor(), tracer_provider=tracer_provider):
        assert [run(fake_bedrock.origin, call) for call in CALLS] == plain
    assert "".join(
        event["contentBlockDelta"]["delta"]["text"] for event in plain[1] if "contentBlockDelta" in event
    ) == "".join(TEXT)


def _failure(origin: str, call: Call, scenario: str) -> tuple[type[BaseException], str]:
    with pytest.raises(Exception) as caught:
        run(origin, call, scenario)
    return type(caught.value), str(caught.value)


def _same_error(one: tuple[type[BaseException], str], other: tuple[type[BaseException], str]) -> bool:
    """botocore makes each client its own modeled exception classes: compare by name and message."""
    return (one[0].__module__, one[0].__qualname__, one[1]) == (other[0].__module__, other[0].__qualname__, other[1])


@pytest.mark.parametrize(
    ("call", "scenario"),
    [
        (converse, "throttled"),
        (converse_stream, "stream_error"),
        (invoke_model, "denied"),
        (invoke_model_with_response_stream, "stream_error"),
    ],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_errors_reach_the_app_unchanged(
    fake_bedrock: FakeHTTPServer,
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
    call: Call,
    scenario: str,
) -> None:
    plain = _failure(fake_bedrock.origin, call, scenario)
    with instrumented(AioBedrockInstrumentor(), tracer_provider=tracer_provider, meter_provider=meter_provider):
        traced = _failure(fake_bedrock.origin, call, scenario)

    assert _same_error(traced, plain)
    (span,) = span_exporter.get_finished_spans()
    assert_failed(span, traced[0], metric_reader)


def test_uninstrument_restores_sessions_and_live_clients(
    fake_bedrock: FakeHTTPServer, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    original = aiobotocore_session.AioSession.__dict__["_create_client"]

    async def main() -> None:
        instrumentor = AioBedrockInstrumentor()
        instrumentor.instrument(tracer_provider=tracer_provider)
        async with bedrock(fake_bedrock.origin) as client:
            await converse(client)
            instrumentor.uninstrument()
            await converse(client)  # created while instrumented: restored
        async with bedrock(fake_bedrock.origin) as client:
            await converse(client)

    asyncio.run(main())

    assert aiobotocore_session.AioSession.__dict__["_create_client"] is original
    assert len(span_exporter.get_finished_spans()) == 1


def test_each_model_invocation_of_an_agent_is_priced_once_under_its_span(
    fake_bedrock: FakeHTTPServer, traced: AioBedrockInstrumentor, span_exporter: InMemorySpanExporter
) -> None:
    async def main() -> bytes:
        async with bedrock(fake_bedrock.origin, service="bedrock-agent-runtime") as agents:
            result = await agents.invoke_agent(agentId="AGENT01", agentAliasId="ALIAS01", sessionId="session-1",
                                               inputText="Hello", enableTrace=True)  # fmt: skip
            return b"".join([event["chunk"]["bytes"] async for event in result["completion"] if "chunk" in event])

    assert asyncio.run(main()) == "".join(TEXT).encode()
    spans = span_exporter.get_finished_spans()
    (agent,) = [span for span in spans if span.name == "invoke_agent"]
    calls = [span for span in spans if span is not agent]
    assert not {GenAI.USAGE_COST_AMOUNT, Ours.PRICING_STATUS} & set(agent.attributes or {})
    assert len(calls) == len(AGENT_INVOCATIONS)
    for span, (_, model, tokens) in zip(calls, AGENT_INVOCATIONS, strict=True):
        attributes = span.attributes or {}
        assert span.parent is not None and span.parent.span_id == agent.context.span_id
        assert (span.name, attributes[GenAI.USAGE_INPUT_TOKENS], attributes[GenAI.USAGE_OUTPUT_TOKENS]) == (
            f"chat {model}",
            tokens.input,
            tokens.output,
        )
        assert attributes[Ours.PRICING_STATUS] == PricingStatus.PRICED
        expected = oracle_cost(model, "aws", input_tokens=tokens.input, output_tokens=tokens.output)
        assert attributes[GenAI.USAGE_COST_AMOUNT] == pytest.approx(expected, rel=1e-12)
