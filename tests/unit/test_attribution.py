"""Attribution, its settings, the value limiter and budget parameters: pure logic."""

from __future__ import annotations

import contextvars
import logging
from datetime import timedelta

import pytest
from opentelemetry import baggage
from opentelemetry import context as otel_context

import genai_cost
from genai_cost import attribution, budgets
from genai_cost.config import Settings, settings_from_env
from genai_cost.metrics import OTHER, ValueLimiter


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        pytest.param({}, ((), (), 100), id="unset"),
        pytest.param(
            {"GENAI_COST_METRIC_ATTRIBUTION": " tenant, feature,,tenant ", "GENAI_COST_ATTRIBUTION_BAGGAGE": "user.id"},
            (("user.id",), ("tenant", "feature"), 100),
            id="trimmed-deduplicated",
        ),
        pytest.param(
            {"GENAI_COST_METRIC_ATTRIBUTION": "tenant,user id,a=b", "GENAI_COST_METRIC_ATTRIBUTION_LIMIT": "500"},
            ((), ("tenant",), 500),
            id="bad-keys-skipped",
        ),
        pytest.param({"GENAI_COST_METRIC_ATTRIBUTION_LIMIT": "-3"}, ((), (), 100), id="bad-limit-default"),
    ],
)
def test_settings(env: dict[str, str], expected: tuple[object, ...], caplog: pytest.LogCaptureFixture) -> None:
    settings = settings_from_env(env)
    assert (settings.attribution_baggage, settings.metric_attribution, settings.metric_attribution_limit) == expected
    bad = {"user id", "a=b", "-3"} & {part.strip() for value in env.values() for part in value.split(",")}
    assert caplog.text.count("genai-cost: ignoring GENAI_COST_METRIC_ATTRIBUTION") == len(bad)
    assert Settings().metric_attribution == ()


def test_nothing_in_force_reads_as_none() -> None:
    assert attribution.current() is None
    assert attribution.current(("tenant",)) is None


def test_values_are_strings_cut_and_none_removes() -> None:
    with genai_cost.attribute(tenant=42, feature="x" * 300), genai_cost.attribute(feature=None) as inner:
        assert dict(inner) == {"tenant": "42"}
        assert attribution.current() == {"tenant": "42"}
    with genai_cost.attribute(feature="y" * 300):
        assert attribution.current() == {"feature": "y" * attribution.MAX_VALUE_LENGTH}


def test_bad_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="attribution keys"):
        genai_cost.attribute(**{"user id": "u"})


def test_leaving_in_another_context_leaves_this_one_alone() -> None:
    block = genai_cost.attribute(tenant="acme")
    block.__enter__()
    contextvars.copy_context().run(block.__exit__, None, None, None)
    assert attribution.current() == {"tenant": "acme"}
    block.__exit__(None, None, None)
    assert attribution.current() is None


def test_leaving_an_outer_block_first_drops_the_inner_one_too() -> None:
    outer, inner = genai_cost.attribute(tenant="acme"), genai_cost.attribute(feature="search")
    outer.__enter__()
    inner.__enter__()
    outer.__exit__(None, None, None)
    assert attribution.current() is None
    inner.__exit__(None, None, None)  # nothing of it is left: a no-op
    assert attribution.current() is None


def test_baggage_reads_listed_keys_without_properties_and_attribute_wins() -> None:
    context = baggage.set_baggage("tenant", "acme;ttl=60")
    context = baggage.set_baggage("feature", " ", context)
    context = baggage.set_baggage("other", "x", context)
    token = otel_context.attach(context)
    try:
        assert attribution.current(("tenant", "feature")) == {"tenant": "acme"}
        with genai_cost.attribute(tenant="globex", user="u"):
            assert attribution.current(("tenant",)) == {"tenant": "globex", "user": "u"}
    finally:
        otel_context.detach(token)


@pytest.mark.parametrize(
    "attributes, expected",
    [
        pytest.param({"gen_ai.agent.name": "planner", "gen_ai.operation.name": "invoke_agent"}, "planner", id="agent"),
        pytest.param({"gen_ai.workflow.name": "nightly"}, "nightly", id="workflow"),
        pytest.param({"gen_ai.agent.name": "", "gen_ai.workflow.name": "w"}, "w", id="empty-agent"),
        pytest.param({"gen_ai.operation.name": "invoke_agent"}, None, id="unnamed"),
        pytest.param({"gen_ai.agent.name": 7}, None, id="not-a-string"),
    ],
)
def test_agent_name(attributes: dict[str, object], expected: str | None) -> None:
    assert attribution.agent_name(attributes) == expected


def test_value_limiter_folds_and_counts(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    limit = ValueLimiter(2, max_length=5, name="attribution key 'tenant'")
    assert [limit(v) for v in ("a", "b", "c", "a", "toolong", "b", "d")] == ["a", "b", OTHER, "a", OTHER, "b", OTHER]
    assert limit.folded == 3
    assert caplog.text.count("more than 2 distinct values of attribution key 'tenant'") == 1


@pytest.mark.parametrize(
    ("per", "seconds", "label"),
    [
        pytest.param("90s", 90, "90s", id="seconds"),
        pytest.param("15m", 900, "15m", id="minutes"),
        pytest.param(" 1.5h ", 5400, "1.5h", id="hours"),
        pytest.param("1d", 86400, "1d", id="days"),
        pytest.param(30, 30, "30s", id="number"),
        pytest.param(timedelta(minutes=2), 120, "120s", id="timedelta"),
    ],
)
def test_budget_windows(per: object, seconds: float, label: str) -> None:
    with genai_cost.budget(tenant="acme", usd="2.5", per=per) as made:  # type: ignore[arg-type]
        assert (made.per, made._label, made.usd, made.keys) == (
            seconds,
            label,
            budgets.Decimal("2.5"),
            {"tenant": "acme"},
        )
        assert budgets._registry.budgets == (made,)
    assert budgets._registry.budgets == ()


@pytest.mark.parametrize("per", ["0s", "1w", "", True, -5, timedelta(0)])
def test_bad_budget_windows(per: object) -> None:
    with pytest.raises(ValueError, match="per must be"):
        genai_cost.budget(usd=1, per=per)  # type: ignore[arg-type]
