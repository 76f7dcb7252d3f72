"""Background interactions (issue 20 item 7): ``interactions.create(background=True)`` answers
``in_progress`` without usage, the usage arrives on a later ``interactions.get`` (or a streamed
``get(stream=True)``). Each interaction is priced exactly once, whichever call first sees its
usage; a get of an interaction its create already priced records nothing.

The real google-genai SDK talks to the fake server (tests/support/fake_google_genai.py): a
background create answered ``in_progress``, a poll answered ``in_progress`` (``x-fake-status``),
then the finished interaction with the scenario's usage. Expected costs come from genai-prices'
``calc_price`` on the same usage.
"""

from __future__ import annotations

import asyncio
import inspect
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx2
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.integration.google_genai.helpers import FLASH, client, expected_cost, expected_usage
from tests.support.fake_http import FakeHTTPServer

import genai_cost
from genai_cost.instrumentation.google_genai import GoogleGenAIInstrumentor
from genai_cost.semconv import GenAI, Ours, PricingStatus

POLL = {"x-fake-status": "in_progress"}


async def _settle(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def _get(interactions: Any, interaction_id: str, *, stream: bool, headers: dict[str, str] | None = None) -> str:
    """``interactions.get`` (a stream drained): the status it read."""
    result = await _settle(interactions.get(interaction_id, stream=stream, extra_headers=headers))
    if not stream:
        return str(result.status)
    events = [event async for event in result] if hasattr(result, "__aiter__") else list(result)
    return str(events[-1].interaction.status)


def _run(origin: str, script: Callable[[Any], Any], *, is_async: bool) -> Any:
    """``await script(interactions)`` with the sync or async ``client.interactions`` of a fresh client."""

    async def main() -> Any:
        if is_async:
            async with httpx2.AsyncClient() as http:
                return await script(client(origin, "gemini", async_http=http).aio.interactions)
        with httpx2.Client() as http:
            return await script(client(origin, "gemini", http=http).interactions)

    return asyncio.run(main())


def _priced(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    spans = exporter.get_finished_spans()
    return [span for span in spans if (span.attributes or {}).get(Ours.PRICING_STATUS) == PricingStatus.PRICED]


def _priced_ids(exporter: InMemorySpanExporter) -> Counter[str]:
    return Counter(str((span.attributes or {})[GenAI.RESPONSE_ID]) for span in _priced(exporter))


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("stream", [False, True], ids=["get", "stream-get"])
def test_a_background_interaction_is_priced_once_by_the_first_get_that_finds_it_finished(
    instrumented: GoogleGenAIInstrumentor,
    fake_google: FakeHTTPServer,
    span_exporter: InMemorySpanExporter,
    stream: bool,
    is_async: bool,
) -> None:
    async def script(interactions: Any) -> tuple[Any, Any, list[str]]:
        background = await _settle(interactions.create(model=FLASH, input="Say hello", background=True))
        foreground = await _settle(interactions.create(model=FLASH, input="Say hello"))
        statuses = [await _get(interactions, background.id, stream=False, headers=POLL)]
        statuses += [await _get(interactions, background.id, stream=stream) for _ in range(2)]
        statuses += [await _get(interactions, foreground.id, stream=stream)]
        return background, foreground, statuses

    with genai_cost.track_usage() as tracked:
        background, foreground, statuses = _run(fake_google.origin, script, is_async=is_async)

    assert (background.status, background.usage) == ("in_progress", None)
    assert statuses == ["in_progress", "completed", "completed", "completed"]
    assert _priced_ids(span_exporter) == {background.id: 1, foreground.id: 1}
    # The two creates and the one priced get: polls and later gets record nothing.
    assert len(span_exporter.get_finished_spans()) == 3
    span = next(span for span in _priced(span_exporter) if (span.attributes or {})[GenAI.RESPONSE_ID] == background.id)
    attributes = span.attributes or {}
    expected = float(expected_cost("default", FLASH, "gcp.gemini"))
    assert span.name == f"chat {FLASH}"
    assert attributes[GenAI.PROVIDER_NAME] == "gcp.gemini"
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == expected_usage("default")["input"]
    assert attributes[GenAI.USAGE_OUTPUT_TOKENS] == expected_usage("default")["output"]
    assert attributes[GenAI.USAGE_COST_AMOUNT] == expected
    assert float(tracked.total_cost) == pytest.approx(2 * expected, rel=1e-12)


def test_a_background_agent_interaction_is_an_invoke_agent_span(
    instrumented: GoogleGenAIInstrumentor, fake_google: FakeHTTPServer, span_exporter: InMemorySpanExporter
) -> None:
    agent = "deep-research-pro-preview-12-2025"

    async def script(interactions: Any) -> None:
        created = interactions.create(agent=agent, input="Research hello", background=True)
        await _get(interactions, created.id, stream=False)

    _run(fake_google.origin, script, is_async=False)

    created, got = span_exporter.get_finished_spans()
    attributes = got.attributes or {}
    assert (created.attributes or {})[Ours.PRICING_STATUS] == PricingStatus.NO_USAGE
    assert got.name == "invoke_agent"
    assert attributes[GenAI.AGENT_NAME] == agent
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == expected_usage("default")["input"]
    assert attributes[Ours.PRICING_STATUS] == PricingStatus.UNKNOWN_MODEL  # the agent's answer names no model


def test_a_stream_closed_before_its_usage_is_priced_by_the_get_that_finds_it_finished(
    instrumented: GoogleGenAIInstrumentor, fake_google: FakeHTTPServer, span_exporter: InMemorySpanExporter
) -> None:
    async def script(interactions: Any) -> str:
        stream = interactions.create(model=FLASH, input="Say hello", stream=True)
        interaction_id = str(next(iter(stream)).interaction.id)  # interaction.created
        stream.close()
        await _get(interactions, interaction_id, stream=False)
        await _get(interactions, interaction_id, stream=False)
        return interaction_id

    interaction_id = _run(fake_google.origin, script, is_async=False)

    closed, got = span_exporter.get_finished_spans()
    assert (closed.attributes or {})[Ours.PRICING_STATUS] == PricingStatus.NO_USAGE
    assert _priced_ids(span_exporter) == {interaction_id: 1}
    assert (got.attributes or {})[GenAI.USAGE_COST_AMOUNT] == float(expected_cost("default", FLASH, "gcp.gemini"))
