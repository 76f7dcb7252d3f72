"""The Interactions API through the real SDK: one priced span per HTTP request, sync and async,
streamed or not; a call the SDK continues over several requests is priced per request."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from tests.integration.google_genai.helpers import FLASH, client, expected_cost, expected_usage
from tests.support.fake_google_genai import CONTINUED_HOPS
from tests.support.fake_http import FakeHTTPServer
from tests.support.price_oracle import oracle_cost

import genai_cost
from genai_cost.instrumentation.google_genai import GoogleGenAIInstrumentor
from genai_cost.semconv import GenAI, Ours, PricingStatus

TEXT = "Hello from a fake Gemini model over real HTTP."


def _create(origin: str, scenario: str, *, stream: bool, is_async: bool) -> Any:
    """``interactions.create`` through a fresh client; a stream is drained into its events."""
    kwargs = {"model": FLASH, "input": "Say hello", "stream": stream, "extra_headers": {"x-fake-scenario": scenario}}
    if not is_async:
        with httpx2.Client() as http:
            result = client(origin, "gemini", http=http).interactions.create(**kwargs)
            return list(result) if stream else result

    async def main() -> Any:
        async with httpx2.AsyncClient() as http:
            result = await client(origin, "gemini", async_http=http).aio.interactions.create(**kwargs)
            return [event async for event in result] if stream else result

    return asyncio.run(main())


def _text(result: Any, stream: bool) -> str:
    if not stream:
        return str(result.output_text)
    return "".join(event.delta.text for event in result if event.event_type == "step.delta")


def _only_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    spans = exporter.get_finished_spans()
    assert len(spans) == 1, [span.name for span in spans]
    return spans[0]


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
@pytest.mark.parametrize("scenario", ["default", "cached", "thinking", "audio", "tool_use", "multimodal"])
def test_one_priced_span_per_interaction(
    instrumented: GoogleGenAIInstrumentor,
    fake_google: FakeHTTPServer,
    span_exporter: InMemorySpanExporter,
    scenario: str,
    stream: bool,
    is_async: bool,
) -> None:
    result = _create(fake_google.origin, scenario, stream=stream, is_async=is_async)

    assert _text(result, stream) == TEXT
    span = _only_span(span_exporter)
    attributes = span.attributes or {}
    usage = expected_usage(scenario)
    assert span.name == f"chat {FLASH}"
    assert attributes[GenAI.PROVIDER_NAME] == "gcp.gemini"
    assert attributes[GenAI.RESPONSE_ID] == "v1_fakeInteraction01"
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == usage["input"]
    assert attributes[GenAI.USAGE_OUTPUT_TOKENS] == usage["output"]
    assert attributes.get(GenAI.USAGE_CACHE_READ_INPUT_TOKENS) == usage["cache_read"]
    assert attributes.get(GenAI.USAGE_REASONING_OUTPUT_TOKENS) == usage["reasoning"]
    assert attributes[Ours.PRICING_STATUS] == PricingStatus.PRICED
    assert attributes[GenAI.USAGE_COST_AMOUNT] == float(expected_cost(scenario, FLASH, "gcp.gemini"))


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
def test_each_continuation_hop_is_priced_once(
    instrumented: GoogleGenAIInstrumentor,
    fake_google: FakeHTTPServer,
    span_exporter: InMemorySpanExporter,
    stream: bool,
    is_async: bool,
) -> None:
    with genai_cost.track_usage() as tracked:
        result = _create(fake_google.origin, "continued", stream=stream, is_async=is_async)

    if not stream:  # the SDK merges the hops: their usage summed
        assert result.usage.total_input_tokens == sum(hop.prompt for hop in CONTINUED_HOPS)
    spans = span_exporter.get_finished_spans()
    expected = [
        oracle_cost(FLASH, "google", input_tokens=hop.prompt, output_tokens=hop.candidates + (hop.thoughts or 0))
        for hop in CONTINUED_HOPS
    ]
    assert [(span.attributes or {})[GenAI.RESPONSE_ID] for span in spans] == [
        "v1_fakeInteractionHop0",
        "v1_fakeInteractionHop1",
    ]
    assert [(span.attributes or {})[GenAI.USAGE_COST_AMOUNT] for span in spans] == expected
    assert tracked.successful_requests == len(CONTINUED_HOPS)
    assert float(tracked.total_cost) == pytest.approx(sum(expected), rel=1e-12)


def test_an_interaction_without_usage_says_no_usage(
    instrumented: GoogleGenAIInstrumentor, fake_google: FakeHTTPServer, span_exporter: InMemorySpanExporter
) -> None:
    _create(fake_google.origin, "no_usage", stream=False, is_async=False)

    attributes = _only_span(span_exporter).attributes or {}
    assert attributes[Ours.PRICING_STATUS] == PricingStatus.NO_USAGE
    assert GenAI.USAGE_COST_AMOUNT not in attributes


def test_a_failed_interaction_raises_the_sdk_error(
    instrumented: GoogleGenAIInstrumentor, fake_google: FakeHTTPServer, span_exporter: InMemorySpanExporter
) -> None:
    from google.genai._interactions_errors import RateLimitError

    with pytest.raises(RateLimitError):  # what the public method raises for the request's own 429 error
        _create(fake_google.origin, "error_429", stream=False, is_async=False)

    span = _only_span(span_exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert GenAI.ERROR_TYPE in (span.attributes or {})
    assert GenAI.USAGE_COST_AMOUNT not in (span.attributes or {})


@pytest.mark.parametrize(
    "request_given",
    [
        pytest.param({"body": {"model": FLASH, "input": "Say hello"}}, id="dict"),
        pytest.param("model", id="sdk-object"),
    ],
)
def test_a_request_object_names_the_model(
    instrumented: GoogleGenAIInstrumentor,
    fake_google: FakeHTTPServer,
    span_exporter: InMemorySpanExporter,
    request_given: Any,
) -> None:
    if request_given == "model":
        from google.genai._gaos.models import CreateInteractionRequest
        from google.genai._gaos.types.interactions import CreateModelInteraction

        request_given = CreateInteractionRequest(body=CreateModelInteraction(model=FLASH, input="Say hello"))
    with httpx2.Client() as http:
        client(fake_google.origin, "gemini", http=http).interactions.create(request=request_given)

    attributes = _only_span(span_exporter).attributes or {}
    assert attributes[GenAI.REQUEST_MODEL] == FLASH
    assert attributes[GenAI.USAGE_COST_AMOUNT] == float(expected_cost("default", FLASH, "gcp.gemini"))


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_a_stream_closed_early_ends_its_span_then(
    instrumented: GoogleGenAIInstrumentor,
    fake_google: FakeHTTPServer,
    span_exporter: InMemorySpanExporter,
    is_async: bool,
) -> None:
    kwargs = {"model": FLASH, "input": "Say hello", "stream": True}
    if not is_async:
        with httpx2.Client() as http:
            stream = client(fake_google.origin, "gemini", http=http).interactions.create(**kwargs)
            next(iter(stream))
            assert not span_exporter.get_finished_spans()
            stream.close()
            assert len(span_exporter.get_finished_spans()) == 1
    else:

        async def main() -> None:
            async with httpx2.AsyncClient() as http:
                stream = await client(fake_google.origin, "gemini", async_http=http).aio.interactions.create(**kwargs)
                async with stream:
                    await anext(aiter(stream))
                    assert not span_exporter.get_finished_spans()
                assert len(span_exporter.get_finished_spans()) == 1

        asyncio.run(main())

    span = _only_span(span_exporter)
    assert (span.attributes or {})[Ours.PRICING_STATUS] == PricingStatus.NO_USAGE  # closed before the usage came
    assert span.status.status_code is StatusCode.UNSET


def test_an_agent_interaction_is_an_invoke_agent_span(
    instrumented: GoogleGenAIInstrumentor, fake_google: FakeHTTPServer, span_exporter: InMemorySpanExporter
) -> None:
    agent = "deep-research-pro-preview-12-2025"
    with httpx2.Client() as http:
        client(fake_google.origin, "gemini", http=http).interactions.create(agent=agent, input="Research hello")

    span = _only_span(span_exporter)
    attributes = span.attributes or {}
    assert span.name == "invoke_agent"
    assert attributes[GenAI.AGENT_NAME] == agent
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == expected_usage("default")["input"]
    # The agent's answer names no model: its tokens are counted, not priced by a guess.
    assert attributes[Ours.PRICING_STATUS] == PricingStatus.UNKNOWN_MODEL
