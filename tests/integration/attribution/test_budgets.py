"""``genai_cost.budget(...)``: rolling windows per attribution key, soft and hard, real openai calls."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import tracemalloc
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import openai
import pytest
from tests.integration.attribution.conftest import MESSAGES, MODEL, TENANT, Telemetry, one_call_cost

import genai_cost
from genai_cost import budgets
from genai_cost._text import plain_decimal
from genai_cost.demo.fake_openai import FakeOpenAIServer


class Clock:
    """The budgets' clock, moved by hand: windows roll without waiting."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(budgets, "_now", clock)
    return clock


@pytest.fixture
def log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.INFO)
    yield caplog


def _ask(client: openai.OpenAI, tenant: str) -> None:
    with genai_cost.attribute(tenant=tenant):
        client.chat.completions.create(model=MODEL, messages=MESSAGES)


def test_soft_budget_calls_back_once_per_window(telemetry: Telemetry, client: openai.OpenAI, clock: Clock) -> None:
    one = one_call_cost()
    transcript: list[str] = []

    def on_exceeded(budget: genai_cost.Budget) -> None:
        transcript.append(f"t+{clock.now - 1_000_000:.0f}s callback: {budget!r}")

    acme = genai_cost.budget(tenant="acme", usd=one * Decimal("2.5"), per="1h", on_exceeded=on_exceeded)
    for minute in range(6):  # 6 calls, one a minute: the 3rd crosses $2.5 calls' worth
        clock.now += 60
        _ask(client, "acme")
        _ask(client, "globex")  # another tenant: counts nowhere here
        transcript.append(f"t+{clock.now - 1_000_000:.0f}s acme call {minute + 1}: spent ${plain_decimal(acme.spent)}")
    assert len([line for line in transcript if "callback" in line]) == 1
    assert acme.spent == 6 * one

    clock.now += 3600  # the window has rolled: the spend left it
    assert acme.spent == 0
    for _ in range(3):
        _ask(client, "acme")
    assert len([line for line in transcript if "callback" in line]) == 2  # once again, in the new window
    print("\n" + "\n".join(transcript))


def test_hard_budget_stops_the_call_before_any_request_is_sent(
    telemetry: Telemetry, client: openai.OpenAI, fake_openai: FakeOpenAIServer, clock: Clock
) -> None:
    one = one_call_cost()
    crossed: list[genai_cost.Budget] = []
    genai_cost.budget(tenant="acme", usd=one * 2, per="15m", hard=True, on_exceeded=crossed.append)

    _ask(client, "acme")
    _ask(client, "acme")  # reaches the limit: the next one is refused
    sent = len(fake_openai.requests)
    with pytest.raises(genai_cost.BudgetExceeded) as refused:
        _ask(client, "acme")
    assert len(fake_openai.requests) == sent  # nothing reached the server
    _ask(client, "globex")  # other tenants are not stopped
    assert len(fake_openai.requests) == sent + 1
    print(f"\nhard stop: {type(refused.value).__name__}: {refused.value}")

    assert refused.value.keys == {"tenant": "acme"}
    assert refused.value.spent == 2 * one
    assert refused.value.per == "15m"
    assert len(crossed) == 1
    assert [(s.attributes or {}).get(TENANT) for s in telemetry.llm_spans()] == ["acme", "acme", "globex"]

    clock.now += 15 * 60 + 15  # the window rolled past both calls: acme may call again
    _ask(client, "acme")
    assert len(fake_openai.requests) == sent + 2


def test_hard_budget_async_and_cancel(telemetry: Telemetry, fake_openai: FakeOpenAIServer, clock: Clock) -> None:
    one = one_call_cost()

    async def main() -> tuple[int, int]:
        async with openai.AsyncOpenAI(base_url=fake_openai.base_url, api_key="sk-test", max_retries=0) as client:

            async def ask() -> bool:
                with genai_cost.attribute(tenant="acme"):
                    try:
                        await client.chat.completions.create(model=MODEL, messages=MESSAGES)
                    except genai_cost.BudgetExceeded:
                        return False
                    return True

            with genai_cost.budget(tenant="acme", usd=one * 3, per="1h", hard=True):
                results = [await ask() for _ in range(5)]
            after = await ask()  # the budget was cancelled at the end of its block
            return sum(results), int(after)

    assert asyncio.run(main()) == (3, 1)


def test_budgets_count_every_concurrent_call_exactly(
    telemetry: Telemetry, fake_openai: FakeOpenAIServer, client: openai.OpenAI, clock: Clock
) -> None:
    one = one_call_cost()
    acme = genai_cost.budget(tenant="acme", usd=1000, per="1d")
    everyone = genai_cost.budget(usd=1000, per="1d")  # no keys: every call

    async def many() -> None:
        async with openai.AsyncOpenAI(base_url=fake_openai.base_url, api_key="sk-test", max_retries=0) as async_client:

            async def ask(tenant: str) -> None:
                with genai_cost.attribute(tenant=tenant):
                    await async_client.chat.completions.create(model=MODEL, messages=MESSAGES)

            await asyncio.gather(*(ask("acme" if i % 2 else "globex") for i in range(200)))

    asyncio.run(many())
    with ThreadPoolExecutor(max_workers=8) as pool:
        for future in [pool.submit(contextvars.copy_context().run, _ask, client, "acme") for _ in range(40)]:
            future.result()

    assert acme.spent == (100 + 40) * one
    assert everyone.spent == 240 * one


def test_a_budget_holds_a_fixed_amount_of_memory(telemetry: Telemetry, clock: Clock) -> None:
    # Spend recorded at one call a second for 14 hours, a 1h window: the budget does not grow.
    acme = genai_cost.budget(tenant="acme", usd=1, per="1h")
    attribution = {"tenant": "acme"}

    def spend(seconds: int) -> None:
        for _ in range(seconds):
            clock.now += 1
            budgets.record(attribution, Decimal("0.0001"))

    tracemalloc.start()
    try:
        spend(7200)  # every slot of the window written (twice)
        before = tracemalloc.take_snapshot()
        spend(50_000)
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    growth = sum(stat.size_diff for stat in after.compare_to(before, "filename") if "budgets" in str(stat.traceback))
    assert growth < 1024, growth
    # The window is 60 slots of a minute: it holds the last 59 to 60 minutes of spend.
    assert Decimal("0.0001") * 59 * 60 <= acme.spent <= Decimal("0.0001") * 60 * 60


def test_bad_budgets_are_refused_where_they_are_made() -> None:
    with pytest.raises(ValueError, match="per must be"):
        genai_cost.budget(tenant="acme", usd=5, per="fortnight")
    with pytest.raises(ValueError, match="usd must be"):
        genai_cost.budget(tenant="acme", usd=-1)
    with pytest.raises(ValueError, match="need a value"):
        genai_cost.budget(tenant=None, usd=1)
    assert budgets._registry.budgets == ()


def test_a_raising_callback_is_logged_and_the_call_is_unaffected(
    telemetry: Telemetry, client: openai.OpenAI, clock: Clock, log: pytest.LogCaptureFixture
) -> None:
    def explode(budget: genai_cost.Budget) -> None:
        raise RuntimeError("pager down")

    genai_cost.budget(tenant="acme", usd=0, on_exceeded=explode)
    _ask(client, "acme")
    assert "the budget callback raised" in log.text
    assert len(telemetry.llm_spans()) == 1
