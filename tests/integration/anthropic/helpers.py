"""Calling the real Anthropic SDK (sync or async, every call shape) and the costs to expect."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import anthropic
from tests.support.fake_anthropic import SCENARIOS
from tests.support.pricing_math import MILLION, rates

from genai_cost.pricing import PricingTable

MODEL = "claude-haiku-4-5-20251001"
API_KEY = "sk-ant-test-DO-NOT-LEAK-4242"
MESSAGES = [{"role": "user", "content": "Say hello"}]

# How the app calls the SDK; each returns what the app ends up holding.
SHAPES = ("create", "create_stream", "stream_helper", "beta_create", "beta_stream_helper")


def request(scenario: str = "default", **options: Any) -> dict[str, Any]:
    """Keyword arguments of one Messages call choosing the fake's scenario."""
    return {
        "model": MODEL,
        "max_tokens": 256,
        "messages": MESSAGES,
        "extra_headers": {"x-fake-scenario": scenario},
        **options,
    }


def _messages(client: Any, shape: str) -> Any:
    return client.beta.messages if shape.startswith("beta_") else client.messages


def call_sync(client: Any, shape: str, kwargs: dict[str, Any]) -> Any:
    messages = _messages(client, shape)
    if shape.endswith("stream_helper"):
        with messages.stream(**kwargs) as stream:
            return stream.get_final_message()
    if shape == "create_stream":
        return list(messages.create(stream=True, **kwargs))
    return messages.create(**kwargs)


async def call_async(client: Any, shape: str, kwargs: dict[str, Any]) -> Any:
    messages = _messages(client, shape)
    if shape.endswith("stream_helper"):
        async with messages.stream(**kwargs) as stream:
            return await stream.get_final_message()
    if shape == "create_stream":
        return [event async for event in await messages.create(stream=True, **kwargs)]
    return await messages.create(**kwargs)


def call(origin: str, shape: str, kwargs: dict[str, Any], *, is_async: bool, client_type: Any = None) -> Any:
    """One call through a fresh real client (``client_type`` defaults to ``Anthropic``)."""
    options: dict[str, Any] = {"base_url": origin, "max_retries": 0}
    if client_type is None:
        options["api_key"] = API_KEY
    if not is_async:
        with (client_type or anthropic.Anthropic)(**options) as client:
            return call_sync(client, shape, kwargs)

    async def main() -> Any:
        async with (client_type or anthropic.AsyncAnthropic)(**options) as client:
            return await call_async(client, shape, kwargs)

    return asyncio.run(main())


def expected_usage(scenario: str) -> dict[str, int | None]:
    """Semconv counts for a fake scenario: input = uncached + cache read + cache creation."""
    raw = SCENARIOS[scenario]
    uncached = raw.delta_usage.get("input_tokens", raw.input_tokens)
    cache_read = raw.delta_usage.get("cache_read_input_tokens", raw.cache_read)
    cache_creation = raw.delta_usage.get("cache_creation_input_tokens", raw.cache_creation)
    return {
        "input": uncached + (cache_read or 0) + (cache_creation or 0),
        "output": raw.output_tokens,
        "cache_read": cache_read,
        "cache_creation": cache_creation,
        "reasoning": raw.thinking_tokens,
    }


def expected_cost(scenario: str, *, model: str = MODEL, provider: str = "anthropic") -> Decimal:
    """The cost of a fake scenario from the bundled entry's rates, worked out by hand."""
    raw = SCENARIOS[scenario]
    usage = expected_usage(scenario)
    price = rates(PricingTable.default().match(model, provider=provider), input_tokens=int(usage["input"] or 0))
    base = price["input"]
    write = price.get("input.cache_creation", base)
    ttl_5m, ttl_1h = raw.cache_5m or 0, raw.cache_1h or 0
    unsplit = (usage["cache_creation"] or 0) - ttl_5m - ttl_1h
    uncached = raw.delta_usage.get("input_tokens", raw.input_tokens)
    reasoning = usage["reasoning"] or 0
    total = (
        uncached * base
        + (usage["cache_read"] or 0) * price.get("input.cache_read", base)
        + ttl_5m * price.get("input.cache_creation_5m", write)
        + ttl_1h * price.get("input.cache_creation_1h", write)
        + unsplit * write
        + (raw.output_tokens - reasoning) * price["output"]
        + reasoning * price.get("output.reasoning", price["output"])
    )
    return total / MILLION
