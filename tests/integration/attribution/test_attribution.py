"""``genai_cost.attribute()``: real openai calls in threads and asyncio tasks, exact totals per key
on spans, on metric points and in ``track_usage``."""

from __future__ import annotations

import asyncio
import contextvars
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import openai
import pytest
from tests.integration.attribution.conftest import (
    FEATURE,
    MESSAGES,
    MODEL,
    PREFIX,
    TENANT,
    USER,
    Telemetry,
    one_call_cost,
)

import genai_cost
from genai_cost.demo.fake_openai import SCENARIOS, FakeOpenAIServer
from genai_cost.semconv import Metrics

DEFAULT = SCENARIOS["default"]


def _ask(client: openai.OpenAI) -> None:
    client.chat.completions.create(model=MODEL, messages=MESSAGES)


def _spans_by(telemetry: Telemetry, *names: str) -> Counter[tuple[object, ...]]:
    return Counter(tuple((span.attributes or {}).get(name) for name in names) for span in telemetry.llm_spans())


def test_nested_blocks_in_threads_give_exact_totals_per_key(telemetry: Telemetry, client: openai.OpenAI) -> None:
    # Each thread: its tenant outside, a feature per inner block (inner wins), one call with the
    # feature removed (None). The pool's threads run with the submitting context copied.
    plan = {"acme": {"search": 3, "chat": 2}, "globex": {"search": 4}, "initech": {"chat": 1}}

    def work(tenant: str, features: dict[str, int]) -> None:
        with genai_cost.attribute(tenant=tenant, feature="default"):
            for feature, calls in features.items():
                with genai_cost.attribute(feature=feature):
                    for _ in range(calls):
                        _ask(client)
            with genai_cost.attribute(feature=None):
                _ask(client)

    with (
        genai_cost.track_usage() as usage,
        genai_cost.attribute(tenant="outer", user="u-1"),
        ThreadPoolExecutor(max_workers=3) as pool,
    ):
        futures = [pool.submit(contextvars.copy_context().run, work, t, f) for t, f in plan.items()]
        for future in futures:
            future.result()
        _ask(client)  # the outer block's own call
    _ask(client)  # outside every block: no attribution at all

    calls = {tenant: sum(features.values()) + 1 for tenant, features in plan.items()} | {"outer": 1}
    one = one_call_cost()
    # Spans: every call carries the keys in force where it started.
    assert _spans_by(telemetry, TENANT, FEATURE) == Counter(
        {
            ("acme", "search"): 3,
            ("acme", "chat"): 2,
            ("globex", "search"): 4,
            ("initech", "chat"): 1,
            ("acme", None): 1,
            ("globex", None): 1,
            ("initech", None): 1,
            ("outer", None): 1,
            (None, None): 1,
        }
    )
    assert _spans_by(telemetry, USER) == Counter({("u-1",): sum(calls.values()), (None,): 1})
    # Metrics: the allowlisted keys only (tenant, feature; not user), sums exact per tenant.
    assert telemetry.cost_by(TENANT) == pytest.approx(
        {**{tenant: float(n * one) for tenant, n in calls.items()}, None: float(one)}
    )
    assert telemetry.count_by(FEATURE) == {"search": 7, "chat": 3, None: 5}
    assert all(USER not in point.attributes for point in telemetry.points())  # type: ignore[attr-defined]
    # track_usage: totals per value, exact decimals; the unattributed call happened outside.
    by_tenant = usage.by("tenant")
    assert {tenant: entry.total_cost for tenant, entry in by_tenant.items()} == {
        tenant: n * one for tenant, n in calls.items()
    }
    assert {tenant: entry.prompt_tokens for tenant, entry in by_tenant.items()} == {
        tenant: n * DEFAULT.prompt_tokens for tenant, n in calls.items()
    }
    assert usage.by("feature")[None].successful_requests == 4
    print()
    print(by_tenant)


def test_two_hundred_asyncio_tasks(telemetry: Telemetry, fake_openai: FakeOpenAIServer) -> None:
    tenants = ("acme", "globex", "initech")

    async def main() -> genai_cost.UsageTotals:
        async with openai.AsyncOpenAI(base_url=fake_openai.base_url, api_key="sk-test", max_retries=0) as client:

            @genai_cost.attribute(feature="async")
            async def ask(index: int) -> None:
                async with genai_cost.attribute(tenant=tenants[index % 3]):
                    await asyncio.sleep(0)  # other tasks enter their own blocks meanwhile
                    await client.chat.completions.create(model=MODEL, messages=MESSAGES)

            with genai_cost.track_usage() as usage:
                await asyncio.gather(*(ask(i) for i in range(200)))
            return usage

    usage = asyncio.run(main())

    expected = Counter(tenants[i % 3] for i in range(200))
    one = one_call_cost()
    assert _spans_by(telemetry, TENANT, FEATURE) == Counter({(t, "async"): n for t, n in expected.items()})
    assert telemetry.cost_by(TENANT) == pytest.approx({t: float(n * one) for t, n in expected.items()})
    assert telemetry.count_by(TENANT, Metrics.OPERATION_DURATION) == dict(expected)
    by_tenant = usage.by("tenant")
    assert {t: (u.successful_requests, u.total_cost) for t, u in by_tenant.items()} == {
        t: (n, n * one) for t, n in expected.items()
    }
    assert sum((u.total_cost for u in by_tenant.values()), Decimal(0)) == usage.total_cost
    print()
    print(by_tenant)


def test_decorator_sync_and_async_generators_and_inner_wins(telemetry: Telemetry, client: openai.OpenAI) -> None:
    @genai_cost.attribute(tenant="acme", feature="search")
    def search() -> None:
        _ask(client)

    @genai_cost.attribute(feature="stream")
    def pages() -> object:
        yield _ask(client)
        yield _ask(client)

    with genai_cost.attribute(tenant="globex", feature="outer") as current:
        assert dict(current) == {"tenant": "globex", "feature": "outer"}
        search()  # the decorator is the inner block: acme/search
        list(pages())  # globex/stream, while the generator runs
        _ask(client)  # globex/outer again

    assert _spans_by(telemetry, TENANT, FEATURE) == Counter(
        {("acme", "search"): 1, ("globex", "stream"): 2, ("globex", "outer"): 1}
    )


def test_one_block_object_shared_by_threads(telemetry: Telemetry, client: openai.OpenAI) -> None:
    shared = genai_cost.attribute(tenant="acme")

    def work() -> None:
        with shared:
            _ask(client)
            _ask(client)
        _ask(client)  # after leaving: no tenant, whatever the other threads do

    with ThreadPoolExecutor(max_workers=4) as pool:
        for future in [pool.submit(contextvars.copy_context().run, work) for _ in range(8)]:
            future.result()

    assert _spans_by(telemetry, TENANT) == Counter({("acme",): 16, (None,): 8})


def test_metrics_carry_no_attribution_unless_allowlisted(
    instrument: Callable[..., Telemetry], client: openai.OpenAI
) -> None:
    telemetry = instrument()  # GENAI_COST_METRIC_ATTRIBUTION unset

    with genai_cost.attribute(tenant="acme"):
        _ask(client)

    (span,) = telemetry.llm_spans()
    assert (span.attributes or {})[TENANT] == "acme"
    for metric in (Metrics.OPERATION_COST, Metrics.OPERATION_DURATION, Metrics.TOKEN_USAGE):
        for point in telemetry.points(metric):
            assert not any(name.startswith(PREFIX) for name in point.attributes)  # type: ignore[attr-defined]


def test_failed_calls_count_per_key(telemetry: Telemetry, client: openai.OpenAI) -> None:
    with genai_cost.track_usage() as usage, genai_cost.attribute(tenant="acme"):
        _ask(client)
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(
                model=MODEL, messages=MESSAGES, extra_headers={"x-fake-scenario": "error_429"}
            )

    acme = usage.by("tenant")["acme"]
    assert (acme.successful_requests, acme.failed_requests) == (1, 1)
    assert acme.total_cost == one_call_cost()
    assert telemetry.count_by(TENANT) == {"acme": 2}
    assert "acme: 1 request (1 failed)" in str(usage.by("tenant"))
