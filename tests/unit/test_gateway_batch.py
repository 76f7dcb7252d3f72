"""BatchPricer, the collector-independent part of gateway pricing: rollup order, bogus parent
links, spans under genai-cost's own spans, and failures that leave spans as they came."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from tests.support.price_oracle import oracle_cost

from genai_cost.config import Settings
from genai_cost.costing import Costing
from genai_cost.gateway.batch import BatchPricer, FinishedSpan
from genai_cost.metrics import Instruments
from genai_cost.semconv import GenAI, Ours
from genai_cost.span_cost import Call, SpanCosting

TRACE = b"\x01" * 16
USAGE = {
    GenAI.PROVIDER_NAME: "openai",
    GenAI.REQUEST_MODEL: "gpt-4o-mini",
    GenAI.USAGE_INPUT_TOKENS: 1000,
    GenAI.USAGE_OUTPUT_TOKENS: 100,
}
COST = oracle_cost("gpt-4o-mini", "openai", input_tokens=1000, output_tokens=100)


def _span(
    number: int, parent: int | None, attributes: dict[str, Any] | None = None, *, ours: bool = False
) -> FinishedSpan:
    return FinishedSpan(
        trace_id=TRACE,
        span_id=number.to_bytes(8, "big"),
        parent_span_id=b"" if parent is None else parent.to_bytes(8, "big"),
        attributes=dict(attributes or {}),
        started_ns=None,
        succeeded=True,
        ours=ours,
    )


def _span_costing() -> SpanCosting:
    instruments = Instruments.from_settings(None, Settings())
    return SpanCosting(Costing(instruments, version_on_span=True), instruments, Settings())


@pytest.fixture
def pricer() -> BatchPricer:
    return BatchPricer(_span_costing())


def test_a_long_chain_is_rolled_up_whatever_the_order_of_the_batch(pricer: BatchPricer) -> None:
    depth = 3_000  # deeper than Python's recursion limit
    chain = [_span(n, n - 1 if n > 1 else None) for n in range(1, depth)] + [_span(depth, depth - 1, USAGE)]
    shuffled = list(reversed(chain[::2])) + chain[1::2]
    by_id = {span.span_id: update for span, update in zip(shuffled, pricer.price(shuffled), strict=True)}
    root = by_id[(1).to_bytes(8, "big")]
    assert root is not None
    assert root[Ours.SUBTREE_CALLS] == 1
    assert root[Ours.SUBTREE_COST_AMOUNT] == pytest.approx(COST, rel=1e-9)


def test_a_parent_cycle_ends_and_prices_each_span_once(pricer: BatchPricer) -> None:
    spans = [_span(1, 2, USAGE), _span(2, 1, USAGE)]
    updates = pricer.price(spans)
    priced = [update for update in updates if update and GenAI.USAGE_COST_AMOUNT in update]
    assert len(priced) == 1  # the other one is above it and counted through it


def test_a_span_under_one_of_genai_costs_own_spans_is_not_priced_again(pricer: BatchPricer) -> None:
    own = _span(1, None, {**USAGE, GenAI.USAGE_COST_AMOUNT: COST, Ours.PRICING_STATUS: "priced"}, ours=True)
    native = _span(2, 1, USAGE)  # e.g. the Anthropic SDK's own span inside genai-cost's
    assert pricer.price([own, native]) == [None, None]


class _Failing(SpanCosting):
    def price(self, *args: Any, **kwargs: Any) -> tuple[Call, dict[str, Any] | None] | None:
        raise RuntimeError("pricing broke")


def test_a_failure_leaves_the_spans_as_they_came_and_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    instruments = Instruments.from_settings(None, Settings())
    pricer = BatchPricer(_Failing(Costing(instruments), instruments, Settings()))
    with caplog.at_level(logging.DEBUG, logger="genai_cost"):
        first = pricer.price([_span(1, None), _span(2, 1, USAGE), _span(3, 1, USAGE)])
    assert first == [None, None, None]
    assert [r.levelno for r in caplog.records if "failed" in r.getMessage()] == [logging.WARNING, logging.DEBUG]
