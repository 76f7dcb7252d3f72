"""Helpers for the OpenAI instrumentor tests: stated prices, expected costs, span access."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import openai
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from genai_cost.demo.fake_openai import Scenario
from genai_cost.pricing import PriceEntry, PricingTable
from genai_cost.semconv import GenAI, Ours, PricingStatus

API_KEY = "sk-test-DO-NOT-LEAK-4242"

# Stated prices (USD per 1M tokens) for the models the tests call; expected costs are
# computed from the matched entry's rates, never copied from an output.
PRICES: list[dict[str, Any]] = [
    {"id": "test:gpt-4o-mini", "provider": "openai", "match": {"exact": "gpt-4o-mini"},
     "input": 0.15, "output": 0.6, "input_breakdown": {"cache_read": 0.075}},
    {"id": "test:o4-mini", "provider": "openai", "match": {"exact": "o4-mini"},
     "input": 1.1, "output": 4.4, "input_breakdown": {"cache_read": 0.275}},
    {"id": "test:azure-gpt-4o-mini", "provider": "azure.ai.openai",
     "match": {"exact": "gpt-4o-mini"}, "input": 0.165, "output": 0.66,
     "input_breakdown": {"cache_read": 0.0825}},
    {"id": "test:text-embedding-3-small", "provider": "openai",
     "match": {"exact": "text-embedding-3-small"}, "input": 0.02},
    {"id": "test:gpt-3.5-turbo-instruct", "provider": "openai",
     "match": {"exact": "gpt-3.5-turbo-instruct"}, "input": 1.5, "output": 2},
]  # fmt: skip


def load_prices(*, aliases: dict[str, str] | None = None) -> PricingTable:
    return PricingTable.load(entries=PRICES, include_bundled=False, aliases=aliases)


def expected_cost(entry: PriceEntry | None, *, input: int, output: int = 0, cached: int = 0,
                  reasoning: int = 0) -> float:  # fmt: skip
    """The DESIGN formula on the entry's rates: specific types at their price, the rest at base."""
    assert entry is not None
    rates = entry.rates
    per_million = Decimal(1_000_000)
    input_rate = rates.input or Decimal(0)
    output_rate = rates.output or Decimal(0)
    cache_rate = rates.input_breakdown.get("cache_read", input_rate)
    reasoning_rate = rates.output_breakdown.get("reasoning", output_rate)
    total = (
        (input - cached) * input_rate
        + cached * cache_rate
        + (output - reasoning) * output_rate
        + reasoning * reasoning_rate
    ) / per_million
    return float(total)


def scenario(name: str, **headers: str) -> dict[str, str]:
    """``extra_headers`` choosing the fake server's answer."""
    return {"x-fake-scenario": name, **headers}


def only_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    spans = exporter.get_finished_spans()
    assert len(spans) == 1, [span.name for span in spans]
    return spans[0]


def scenario_cost(entry: PriceEntry | None, wire: Scenario) -> float:
    """The expected cost of a fake-server scenario's usage under ``entry``."""
    return expected_cost(
        entry,
        input=wire.prompt_tokens,
        output=wire.completion_tokens,
        cached=wire.cached_tokens,
        reasoning=wire.reasoning_tokens,
    )


def assert_usage_and_cost(attributes: Any, entry: PriceEntry | None, wire: Scenario) -> None:
    """The span reports the scenario's token counts and their exact cost."""
    attrs = dict(attributes or {})
    assert attrs[GenAI.USAGE_INPUT_TOKENS] == wire.prompt_tokens
    assert attrs[GenAI.USAGE_OUTPUT_TOKENS] == wire.completion_tokens
    assert attrs[GenAI.USAGE_CACHE_READ_INPUT_TOKENS] == wire.cached_tokens
    assert attrs[GenAI.USAGE_REASONING_OUTPUT_TOKENS] == wire.reasoning_tokens
    assert attrs[Ours.PRICING_STATUS] == PricingStatus.PRICED
    assert attrs[GenAI.USAGE_COST_AMOUNT] == scenario_cost(entry, wire)


def drive_stream_helper(
    base_url: str, open_stream: Callable[[Any], Any], final: str, *, is_async: bool
) -> tuple[list[str], Any]:
    """Iterate a ``.stream()`` helper inside ``with``: (event types, ``final`` method's result)."""
    if not is_async:
        sdk = openai.OpenAI(base_url=base_url, api_key=API_KEY)
        with sdk, open_stream(sdk) as stream:
            return [event.type for event in stream], getattr(stream, final)()

    async def main() -> tuple[list[str], Any]:
        async with openai.AsyncOpenAI(base_url=base_url, api_key=API_KEY) as sdk, open_stream(sdk) as stream:
            return [event.type async for event in stream], await getattr(stream, final)()

    return asyncio.run(main())


def call(
    base_url: str,
    action: Callable[[Any], Any],
    *,
    is_async: bool,
    consume: bool = False,
    **client_options: Any,
) -> Any:
    """Run ``action(client)`` on a real sync or async client; ``consume`` drains a stream."""
    client_options = {"api_key": API_KEY, "max_retries": 0, **client_options}
    if not is_async:
        with openai.OpenAI(base_url=base_url, **client_options) as sdk:
            result = action(sdk)
            return list(result) if consume else result

    async def main() -> Any:
        async with openai.AsyncOpenAI(base_url=base_url, **client_options) as sdk:
            result = await action(sdk)
            return [item async for item in result] if consume else result

    return asyncio.run(main())
