"""track_usage() through the real openai SDK against the local fake server."""

from __future__ import annotations

import asyncio
import contextvars
import gc
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import openai
import pytest

from genai_cost.demo.fake_openai import SCENARIOS, FakeOpenAIServer
from genai_cost.pricing import PricingTable
from genai_cost.tracking import BudgetExceeded, UsageTotals, track_usage

pytestmark = pytest.mark.usefixtures("instrumented")

MESSAGES = [{"role": "user", "content": "Tell me a joke"}]


def _expected_cost(model: str, prompt: int, completion: int, cached: int = 0, reasoning: int = 0) -> Decimal:
    """Cost from the bundled entry's own rates (cache reads at their rate when the entry has one)."""
    rates = PricingTable.default().match(model, provider="openai")
    assert rates is not None
    rates = rates.rates
    million = Decimal(1_000_000)
    cache_rate = rates.input_breakdown.get("cache_read", rates.input)
    reasoning_rate = rates.output_breakdown.get("reasoning", rates.output)
    return (
        (prompt - cached) * rates.input + cached * cache_rate + (completion - reasoning) * rates.output
        + reasoning * reasoning_rate
    ) / million  # fmt: skip


def test_prints_the_langchain_block_for_the_langchain_example(client: openai.OpenAI) -> None:
    with track_usage() as usage:
        client.chat.completions.create(model="gpt-3.5-turbo-0125", messages=MESSAGES)

    # LangChain's documented example: 11 prompt + 16 completion tokens at $0.50/$1.50 per 1M.
    assert str(usage) == (
        "Tokens Used: 27\n"
        "\tPrompt Tokens: 11\n"
        "\tCompletion Tokens: 16\n"
        "Successful Requests: 1\n"
        "Total Cost (USD): $2.95e-05"
    )
    assert usage.total_cost == (11 * Decimal("0.50") + 16 * Decimal("1.50")) / 1_000_000


def test_totals_mixed_models_cache_and_reasoning(client: openai.OpenAI) -> None:
    with track_usage() as usage:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES, extra_headers={"x-fake-scenario": "cached"})
        client.chat.completions.create(
            model="o3-mini", messages=MESSAGES, extra_headers={"x-fake-scenario": "reasoning"}
        )

    default, cached, reasoning = SCENARIOS["default"], SCENARIOS["cached"], SCENARIOS["reasoning"]
    expected = (
        _expected_cost("gpt-4o-mini", default.prompt_tokens, default.completion_tokens)
        + _expected_cost("gpt-4o", cached.prompt_tokens, cached.completion_tokens, cached=cached.cached_tokens)
        + _expected_cost(
            "o3-mini", reasoning.prompt_tokens, reasoning.completion_tokens, reasoning=reasoning.reasoning_tokens
        )
    )
    assert usage.total_cost == expected
    assert usage.successful_requests == 3
    assert usage.prompt_tokens == default.prompt_tokens + cached.prompt_tokens + reasoning.prompt_tokens
    assert usage.prompt_tokens_cached == cached.cached_tokens
    assert usage.reasoning_tokens == reasoning.reasoning_tokens
    assert set(usage.by_model) == {("openai", "gpt-4o-mini"), ("openai", "gpt-4o"), ("openai", "o3-mini")}
    text = str(usage)
    assert text.splitlines()[4] == f"Total Cost (USD): ${float(expected)}"
    assert f"Prompt Tokens Cached: {cached.cached_tokens}" in text
    assert f"Reasoning Tokens: {reasoning.reasoning_tokens}" in text
    print(text)


def test_failed_and_unpriced_calls_are_counted_apart(client: openai.OpenAI) -> None:
    with track_usage() as usage:
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES, extra_headers={"x-fake-scenario": "error_500"}
            )
        client.chat.completions.create(model="no-such-model-xyz", messages=MESSAGES)

    assert usage.failed_requests == 1
    assert usage.successful_requests == 1
    assert usage.total_cost == 0
    assert usage.unpriced == {("openai", "no-such-model-xyz", "unknown_model"): 1}
    assert "Failed Requests: 1" in str(usage)


def test_stream_counts_when_it_ends_and_abandoned_stream_counts_once(client: openai.OpenAI) -> None:
    with track_usage() as usage:
        stream = client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
        assert usage.successful_requests == 0
        chunks = list(stream)
        assert usage.successful_requests == 1
        abandoned = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
        next(iter(abandoned))
        del abandoned
        gc.collect()
        assert usage.successful_requests == 1  # handed over by the finalizer, not finished in it
        client.embeddings.create(model="text-embedding-3-small", input="x")  # the next call finishes it

    assert chunks
    assert usage.successful_requests == 3
    assert usage.unpriced[("openai", "gpt-4o-mini", "no_usage")] == 1


def test_nested_trackers_each_see_their_calls(client: openai.OpenAI) -> None:
    with track_usage() as outer:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        with track_usage() as inner:
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    assert (outer.successful_requests, inner.successful_requests) == (3, 1)
    assert outer.total_cost == 3 * inner.total_cost


def test_decorator_accumulates_across_calls(client: openai.OpenAI) -> None:
    tracker = track_usage()

    @tracker
    def ask() -> None:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    ask()
    ask()
    assert tracker.usage.successful_requests == 2


def test_async_tasks_and_to_thread_inside_the_block(fake_openai: FakeOpenAIServer, client: openai.OpenAI) -> None:
    async def main() -> UsageTotals:
        async with (
            openai.AsyncOpenAI(base_url=fake_openai.base_url, api_key="sk-test", max_retries=0) as async_client,
            track_usage() as usage,
        ):
            await asyncio.gather(
                *(async_client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES) for _ in range(200))
            )
            await asyncio.to_thread(client.chat.completions.create, model="gpt-4o-mini", messages=MESSAGES)
        return usage

    usage = asyncio.run(main())
    assert usage.successful_requests == 201
    assert usage.prompt_tokens == 201 * SCENARIOS["default"].prompt_tokens
    assert usage.total_cost == 201 * _expected_cost("gpt-4o-mini", 11, 16)


def test_threads_with_propagated_context_and_per_thread_trackers(client: openai.OpenAI) -> None:
    per_thread: list[UsageTotals] = []

    def worker() -> None:
        with track_usage() as mine:
            for _ in range(50):
                client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        per_thread.append(mine)

    with track_usage() as total, ThreadPoolExecutor(max_workers=16) as pool:
        futures = [pool.submit(contextvars.copy_context().run, worker) for _ in range(16)]
        for future in futures:
            future.result()

    assert total.successful_requests == 16 * 50
    assert [t.successful_requests for t in per_thread] == [50] * 16
    assert total.total_cost == 16 * 50 * _expected_cost("gpt-4o-mini", 11, 16)


def test_threads_without_propagated_context_are_not_counted(client: openai.OpenAI) -> None:
    with track_usage() as usage, ThreadPoolExecutor(max_workers=2) as pool:
        pool.submit(client.chat.completions.create, model="gpt-4o-mini", messages=MESSAGES).result()
    assert usage.successful_requests == 0


def test_budget_callback_fires_once_and_hard_budget_stops_the_next_call(client: openai.OpenAI) -> None:
    crossed: list[UsageTotals] = []
    one_call = _expected_cost("gpt-4o-mini", 11, 16)
    with track_usage(budget_usd=one_call * Decimal("1.5"), on_budget_exceeded=crossed.append) as soft:
        for _ in range(4):
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert crossed == [soft]

    with track_usage(budget_usd=one_call, hard=True) as hard:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        with pytest.raises(BudgetExceeded) as raised:
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert hard.successful_requests == 1
    assert raised.value.spent == one_call


def test_to_dict_is_json_ready(client: openai.OpenAI) -> None:
    with track_usage() as usage:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    data = usage.to_dict()
    assert Decimal(data["total_cost"]) == usage.total_cost
    assert data["by_model"][0]["model"] == "gpt-4o-mini"
    assert usage.to_json().startswith("{")


def test_counts_without_any_tracer_provider(client: openai.OpenAI) -> None:
    # The instrumented fixture passes providers; this block relies on nothing but the SDK call.
    with track_usage() as usage:
        client.embeddings.create(model="text-embedding-3-small", input="hello")
    assert usage.successful_requests == 1
    assert usage.prompt_tokens == SCENARIOS["default"].prompt_tokens
