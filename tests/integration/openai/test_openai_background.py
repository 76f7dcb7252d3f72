"""Background responses (issue 20 item 7): ``responses.create(background=True)`` answers
``queued`` without usage, the usage arrives on a later ``responses.retrieve`` or streamed
continuation. Each response is priced exactly once, whichever call first sees its usage.

The real openai SDK talks to the fake server (its ``background`` scenario: a create answered
``queued``, then two retrieves ``in_progress``, then the finished response). Expected counts come
from that fixture, expected costs from genai-prices' own ``calc_price`` on the same usage.
"""

from __future__ import annotations

import asyncio
import inspect
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import genai_prices
import openai
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.integration.openai.helpers import API_KEY, scenario

from genai_cost import track_usage
from genai_cost.demo.fake_openai import SCENARIOS, FakeOpenAIServer
from genai_cost.instrumentation.openai import OpenAIInstrumentor
from genai_cost.pricing import PricingTable
from genai_cost.semconv import GenAI, Ours, PricingStatus

MODEL = "o4-mini"
WIRE = SCENARIOS["background"]
RETRIEVES = WIRE.pending_retrieves + 3  # polls until finished, then two more


@pytest.fixture
def bundled(instrument: Callable[..., OpenAIInstrumentor]) -> OpenAIInstrumentor:
    """Instrumented with the bundled table, the one the genai-prices oracle is checked against."""
    return instrument(pricing=PricingTable.load())


async def _settle(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def _events(stream: Any) -> list[Any]:
    if hasattr(stream, "__aiter__"):
        return [event async for event in stream]
    return list(stream)


def run(server: FakeOpenAIServer, script: Callable[[Any], Any], *, is_async: bool) -> Any:
    """``await script(client)`` with a real sync or async client (its calls go through ``_settle``)."""

    async def main() -> Any:
        client_type = openai.AsyncOpenAI if is_async else openai.OpenAI
        sdk = client_type(base_url=server.base_url, api_key=API_KEY, max_retries=0)
        try:
            return await script(sdk)
        finally:
            await _settle(sdk.close())

    return asyncio.run(main())


def create(sdk: Any, **options: Any) -> Any:
    return sdk.responses.create(model=MODEL, input="Prove it", extra_headers=scenario("background"), **options)


def priced(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    spans = exporter.get_finished_spans()
    return [span for span in spans if (span.attributes or {}).get(Ours.PRICING_STATUS) == PricingStatus.PRICED]


def priced_ids(exporter: InMemorySpanExporter) -> Counter[str]:
    return Counter(str((span.attributes or {})[GenAI.RESPONSE_ID]) for span in priced(exporter))


def oracle(span: ReadableSpan) -> float:
    """genai-prices' price of the fixture's usage at the span's start."""
    assert span.start_time is not None
    at = datetime.fromtimestamp(span.start_time / 1e9, timezone.utc)
    usage = genai_prices.Usage(input_tokens=WIRE.prompt_tokens, output_tokens=WIRE.completion_tokens)
    price = genai_prices.calc_price(usage, MODEL, provider_id="openai", genai_request_timestamp=at).total_price
    return float(Decimal(price))


async def poll(sdk: Any, response_id: str, times: int) -> list[str]:
    return [(await _settle(sdk.responses.retrieve(response_id))).status for _ in range(times)]


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_background_response_is_priced_once_when_a_retrieve_first_sees_its_usage(
    bundled: OpenAIInstrumentor, span_exporter: InMemorySpanExporter, fake_openai: FakeOpenAIServer, is_async: bool
) -> None:
    async def script(sdk: Any) -> tuple[Any, Any, list[str], list[str]]:
        background = await _settle(create(sdk, background=True))
        foreground = await _settle(create(sdk))
        return background, foreground, await poll(sdk, background.id, RETRIEVES), await poll(sdk, foreground.id, 2)

    with track_usage() as totals:
        background, foreground, statuses, foreground_statuses = run(fake_openai, script, is_async=is_async)

    assert (background.status, background.usage) == ("queued", None)
    assert statuses == ["in_progress"] * WIRE.pending_retrieves + ["completed"] * 3
    assert foreground_statuses == ["completed", "completed"]
    assert priced_ids(span_exporter) == {background.id: 1, foreground.id: 1}
    span = next(span for span in priced(span_exporter) if (span.attributes or {})[GenAI.RESPONSE_ID] == background.id)
    attributes = dict(span.attributes or {})
    assert span.name == f"chat {MODEL}"
    assert attributes[GenAI.OPERATION_NAME] == "chat"
    assert attributes[GenAI.RESPONSE_MODEL] == MODEL
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == WIRE.prompt_tokens
    assert attributes[GenAI.USAGE_OUTPUT_TOKENS] == WIRE.completion_tokens
    assert attributes[GenAI.USAGE_REASONING_OUTPUT_TOKENS] == WIRE.reasoning_tokens
    assert attributes[GenAI.USAGE_COST_AMOUNT] == pytest.approx(oracle(span), rel=1e-12)
    # The create, the foreground create and the one priced retrieve: polls record nothing.
    assert len(span_exporter.get_finished_spans()) == 3
    assert totals.usage.input_tokens == 2 * WIRE.prompt_tokens
    assert totals.usage.output_tokens == 2 * WIRE.completion_tokens
    assert float(totals.total_cost) == pytest.approx(2 * oracle(span), rel=1e-9)


async def resume(sdk: Any, response_id: str, after: int, *, helper: bool) -> list[str]:
    """The event types of a streamed continuation: ``retrieve(stream=True)`` or ``responses.stream(response_id=)``."""
    if not helper:
        continuation = await _settle(sdk.responses.retrieve(response_id, stream=True, starting_after=after))
        return [event.type for event in await _events(continuation)]
    manager = sdk.responses.stream(response_id=response_id, starting_after=after)
    if hasattr(manager, "__aenter__"):
        async with manager as stream:
            return [event.type for event in await _events(stream)]
    with manager as stream:
        return [event.type for event in await _events(stream)]


@pytest.mark.parametrize("helper", [False, True], ids=["retrieve-stream", "stream-helper"])
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_streamed_background_response_is_priced_once_from_its_completed_event(
    bundled: OpenAIInstrumentor,
    span_exporter: InMemorySpanExporter,
    fake_openai: FakeOpenAIServer,
    is_async: bool,
    helper: bool,
) -> None:
    async def resumed(sdk: Any) -> tuple[str, list[str]]:
        """Read the background stream's first event, drop the connection, resume after it."""
        stream = await _settle(create(sdk, background=True, stream=True))
        first = await anext(stream) if hasattr(stream, "__anext__") else next(stream)
        await _settle(stream.close())
        return first.response.id, await resume(sdk, first.response.id, first.sequence_number, helper=helper)

    async def script(sdk: Any) -> tuple[str, list[str], str, list[str]]:
        resumed_id, kinds = await resumed(sdk)
        drained = await _events(await _settle(create(sdk, background=True, stream=True)))
        drained_id = drained[-1].response.id
        return resumed_id, kinds + await poll(sdk, resumed_id, 2), drained_id, await poll(sdk, drained_id, 2)

    with track_usage() as totals:
        resumed_id, seen, drained_id, drained_statuses = run(fake_openai, script, is_async=is_async)

    assert seen[-3:] == ["response.completed", "completed", "completed"]
    assert drained_statuses == ["completed", "completed"]
    assert priced_ids(span_exporter) == {resumed_id: 1, drained_id: 1}
    for span in priced(span_exporter):
        assert (span.attributes or {})[GenAI.USAGE_COST_AMOUNT] == pytest.approx(oracle(span), rel=1e-12)
    assert totals.usage.input_tokens == 2 * WIRE.prompt_tokens


def test_concurrent_retrieves_price_the_response_once(
    bundled: OpenAIInstrumentor, span_exporter: InMemorySpanExporter, fake_openai: FakeOpenAIServer
) -> None:
    with openai.OpenAI(base_url=fake_openai.base_url, api_key=API_KEY, max_retries=0) as sdk:
        response_id = create(sdk, background=True).id
        for _ in range(WIRE.pending_retrieves):
            assert sdk.responses.retrieve(response_id).status == "in_progress"
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda _: sdk.responses.retrieve(response_id).status, range(16)))

    assert statuses == ["completed"] * 16
    assert priced_ids(span_exporter) == {response_id: 1}


def test_priced_ids_remember_the_most_recent_only() -> None:
    from genai_cost.instrumentation._background import RecentIds

    ids = RecentIds(2)
    assert [ids.claim(name) for name in ("a", "b", "a", "c")] == [True, True, False, True]
    assert ids.claim("b") is True  # forgotten: "a" was seen after it, then "c" pushed it out
    assert ids.claim("c") is False
    assert [ids.take(name) for name in ("c", "c", "a")] == [True, False, False]  # taken once; "a" forgotten
