"""Every dashboard and alert-rule query, run on a real Prometheus scraping an instrumented app.

The app (real openai SDK -> local fake server, OpenAIInstrumentor, SDK Prometheus exporter)
makes a known mix of calls twice, each attributed to a tenant; Prometheus scrapes it every
second. The second round lies exactly inside the window [first scrape, last scrape], so
``increase``/``rate`` over that window must equal what the spans of the second round say:
spend, tokens, calls, errors, spend per tenant.
"""

from __future__ import annotations

import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.grafana.live import (
    Prometheus,
    dashboard,
    free_port,
    panels,
    rules,
    run_app,
    run_prometheus,
    wait_for,
)

from genai_cost.config import ENV
from genai_cost.pricing.provenance import bundled_provenance
from genai_cost.semconv import GenAI, LatestMetrics, Ours, PricingStatus, RefreshFailure

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SERVICE = "genai-cost-live"
STORED_NAMES = {
    "gen_ai_client_operation_cost_USD_bucket",
    "gen_ai_client_operation_cost_USD_count",
    "gen_ai_client_operation_cost_USD_sum",
    "gen_ai_client_operation_duration_seconds_bucket",
    "gen_ai_client_operation_duration_seconds_count",
    "gen_ai_client_operation_duration_seconds_sum",
    "gen_ai_client_operation_time_to_first_chunk_seconds_bucket",
    "gen_ai_client_operation_time_to_first_chunk_seconds_count",
    "gen_ai_client_operation_time_to_first_chunk_seconds_sum",
    "gen_ai_client_token_usage_bucket",
    "gen_ai_client_token_usage_count",
    "gen_ai_client_token_usage_sum",
    "genai_cost_client_token_detail_total",
    "genai_cost_client_unpriced_calls_total",
    "genai_cost_pricing_age_seconds",
    "genai_cost_pricing_refresh_failures_total",
    "target_info",
}
CALLS = "gen_ai_client_operation_duration_seconds_count"
TENANT = Ours.ATTRIBUTION_PREFIX + "tenant"
TENANT_LABEL = "genai_cost_attribution_tenant"
TENANT_ALERT = "GenAITenantSpendOverBudget"


@dataclass(frozen=True)
class LiveRun:
    prometheus: Prometheus
    spans: list[dict[str, Any]]
    first_scrape: float
    last_scrape: float
    semconv: str
    """A key of ``SEMCONV``."""
    tenant_threshold: float
    """The per-tenant hourly budget of the run's rules: between the two biggest tenants' spend."""

    @property
    def sampled(self) -> float:
        """Seconds between the first and the last scrape."""
        return self.last_scrape - self.first_scrape

    @property
    def window(self) -> str:
        # One millisecond before the first scrape: the same samples whether the range's
        # start is inclusive (Prometheus 2) or exclusive (Prometheus 3). Prometheus then
        # extrapolates increase() by that millisecond; rate() divides it out again.
        return f"{round(self.sampled * 1000) + 1}ms"

    def increase(self, delta: float) -> float:
        """What ``increase()`` over :attr:`window` reports for a counter that grew by ``delta``."""
        return delta * (self.sampled + 0.001) / self.sampled

    def substitute(self, expr: str) -> str:
        """Grafana's template variables, as Grafana would fill them in for this run."""
        models = sorted({span["attributes"][GenAI.REQUEST_MODEL] for span in self.spans})
        values = {
            "$__rate_interval": self.window,
            "$__range": self.window,
            "$service": SERVICE,
            "$provider": "openai",
            "$model": "|".join(models),
            "$attribution_value": ".*",
            "${attribution}": "tenant",
        }
        for name, value in values.items():
            expr = expr.replace(name, value)
        assert "$" not in expr, f"unknown template variable in {expr!r}"
        return expr

    def query(self, expr: str, *, now: bool = False) -> list[dict[str, Any]]:
        """Evaluate at the last scrape (or now: rule outputs are written after it)."""
        return self.prometheus.query(self.substitute(expr), at=None if now else self.last_scrape)


def _zeroed_thresholds(path: Path, tenant_threshold: float) -> Path:
    """The rule file with every threshold at 0, so each alert expression has data to return;
    but the tenant budget at ``tenant_threshold``, without a ``for`` wait, so that its alert
    fires at once for the tenants over it only."""
    data = rules()
    for group in data["groups"]:
        for rule in group["rules"]:
            if rule.get("record") == "genai_cost:threshold:tenant_hourly_budget_usd":
                rule["expr"] = f"vector({tenant_threshold!r})"
            elif rule.get("record", "").startswith("genai_cost:threshold:"):
                rule["expr"] = "vector(0)"
            if rule.get("alert") == TENANT_ALERT:
                rule.pop("for")
    path.write_text(yaml.safe_dump(data))
    return path


def _between_the_top_two(spend: dict[str, float]) -> float:
    """Three times the second biggest spend, well under the biggest: ``increase()`` over the
    hour extrapolates the few seconds of samples by up to 2.6x (half a scrape interval before
    the first sample, up to 1.1 intervals after the last), never down."""
    top, second = sorted(spend.values(), reverse=True)[:2]
    assert top > 4 * second, spend
    return 3 * second


# The app's metrics as released (what dashboards read today), and with the GenAI conventions'
# unreleased metrics added: the dashboard must show the same numbers either way.
SEMCONV = {"released": {}, "latest": {ENV.SEMCONV_STABILITY_OPT_IN: LatestMetrics.OPT_IN}}


@pytest.fixture(scope="module", params=sorted(SEMCONV))
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveRun]:
    workdir = tmp_path_factory.mktemp(f"live-prometheus-{request.param}")
    # Pricing refresh from a port nobody listens on: failures to count and alert on.
    refresh = {ENV.PRICING_URL: f"http://127.0.0.1:{free_port()}/prices.json", ENV.PRICING_REFRESH: "0.2"}
    with run_app(workdir, "--service", SERVICE, env={**refresh, **SEMCONV[request.param]}) as (app, ready):
        target = f"127.0.0.1:{ready['metrics_port']}"
        tenant_threshold = _between_the_top_two(ready["tenant_spend"])
        rule_file = _zeroed_thresholds(workdir / "rules.yaml", tenant_threshold)
        with run_prometheus(workdir, job=SERVICE, target=target, rule_files=[rule_file]) as prom:
            wait_for(prom.targets_up, "the app's target to be up")
            wait_for(lambda: prom.query(CALLS), "the first scrape")
            spans = app.run_round()
            both_rounds = f"{2 * len(spans)}"
            wait_for(
                lambda: [r for r in prom.query(f"sum({CALLS})") if r["value"][1] == both_rounds],
                "a scrape after the second round",
            )
            first, last = _scrape_bounds(prom)
            # Recording rules need two samples; alert expressions are queried at "now".
            wait_for(lambda: prom.query("genai_cost:spend_usd:increase1h"), "recording rules")
            yield LiveRun(prom, spans, first, last, request.param, tenant_threshold)


def _scrape_bounds(prom: Prometheus) -> tuple[float, float]:
    """First and last scrape time; every series must have been born in the first scrape."""
    series = prom.query(f"{CALLS}[5m]")
    firsts = {float(s["values"][0][0]) for s in series}
    assert len(firsts) == 1, "all series must appear in the first scrape"
    last = max(float(s["values"][-1][0]) for s in series)
    return firsts.pop(), last


def _expressions() -> list[tuple[str, str, bool]]:
    """(where, PromQL, is a rule) for every query in the dashboard and the rule file."""
    found: list[tuple[str, str, bool]] = []
    for panel in panels(dashboard()):
        for target in panel.get("targets", []):
            found.append((f"panel {panel['title']!r} {target['refId']}", target["expr"], False))
    for group in rules()["groups"]:
        for rule in group["rules"]:
            name = rule.get("alert") or rule["record"]
            found.append((f"rule {name}", rule["expr"], True))
    return found


def _query_variables() -> list[dict[str, Any]]:
    return [variable for variable in dashboard()["templating"]["list"] if variable["type"] == "query"]


def _variable_values(live: LiveRun, variable: dict[str, Any]) -> set[str]:
    """What Grafana would offer for a ``label_values(selector, label)`` or ``label_names()``
    variable (after its ``regex``: the capture group), queried from the live Prometheus."""
    query = live.substitute(variable["query"])
    if query == "label_names()":
        found = set(live.prometheus.get("/api/v1/labels"))
    else:
        match = re.fullmatch(r"label_values\((.+), (\w+)\)", query)
        assert match, query
        series = live.prometheus.get("/api/v1/series", **{"match[]": match[1]})
        found = {s[match[2]] for s in series if match[2] in s}
    regex = variable.get("regex")
    if not regex:
        return found
    pattern = re.compile(regex.strip("/"))
    return {m[1] for value in found if (m := pattern.fullmatch(value))}


def _scalar(result: list[dict[str, Any]]) -> float:
    assert len(result) == 1, result
    return float(result[0]["value"][1])


def _by(result: list[dict[str, Any]], label: str) -> dict[str, float]:
    return {r["metric"].get(label, ""): float(r["value"][1]) for r in result}


def _panel_query(title: str, ref_id: str = "A") -> str:
    for panel in panels(dashboard()):
        if panel["title"] == title:
            return next(t["expr"] for t in panel["targets"] if t["refId"] == ref_id)
    raise AssertionError(f"no panel {title!r}")


class Truth:
    """What the spans of the second round say."""

    def __init__(self, spans: list[dict[str, Any]]) -> None:
        attrs = [span["attributes"] for span in spans]
        self.calls = len(spans)
        self.errors = sum(1 for a in attrs if GenAI.ERROR_TYPE in a)
        self.cost_by_model: dict[str, float] = defaultdict(float)
        self.cost_by_tenant: dict[str, float] = defaultdict(float)
        self.calls_by_tenant: Counter[str] = Counter(a[TENANT] for a in attrs)
        self.calls_by_model: Counter[str] = Counter()
        self.tokens: Counter[str] = Counter()
        self.unpriced: Counter[tuple[str, str]] = Counter()
        for a in attrs:
            model = a[GenAI.REQUEST_MODEL]
            self.calls_by_model[model] += 1
            if GenAI.USAGE_COST_AMOUNT in a:
                self.cost_by_model[model] += a[GenAI.USAGE_COST_AMOUNT]
                self.cost_by_tenant[a[TENANT]] += a[GenAI.USAGE_COST_AMOUNT]
            if a.get(Ours.PRICING_STATUS) in (PricingStatus.UNKNOWN_MODEL, PricingStatus.NO_USAGE):
                self.unpriced[(a[Ours.PRICING_STATUS], model)] += 1
            for token_type, name in (
                ("input", GenAI.USAGE_INPUT_TOKENS),
                ("output", GenAI.USAGE_OUTPUT_TOKENS),
                ("cache_read", GenAI.USAGE_CACHE_READ_INPUT_TOKENS),
                ("reasoning", GenAI.USAGE_REASONING_OUTPUT_TOKENS),
            ):
                self.tokens[token_type] += a.get(name, 0)
        self.priced_calls = sum(1 for a in attrs if GenAI.USAGE_COST_AMOUNT in a)
        self.total_cost = sum(self.cost_by_model.values())


def test_prometheus_stores_the_documented_metric_names(live: LiveRun) -> None:
    stored = set(live.prometheus.get("/api/v1/label/__name__/values"))
    print("\nmetric names stored by Prometheus:", sorted(n for n in stored if "gen" in n or n == "target_info"))
    assert stored >= STORED_NAMES
    # The SDK exporter puts service.name on target_info only; job is the scrape job.
    info = live.prometheus.query(f'target_info{{service_name="{SERVICE}"}}')
    assert [series["metric"]["job"] for series in info] == [SERVICE]
    # docs/dashboards.md's join for service.name when scraping apps directly.
    joined = live.query(
        "sum by (service_name) (rate(gen_ai_client_operation_cost_USD_sum[$__range])"
        " * on (job, instance) group_left (service_name) target_info)"
    )
    assert [series["metric"]["service_name"] for series in joined] == [SERVICE]


# What Prometheus stores for the unreleased metrics, with the opt-in (none of them without it).
LATEST_STORED_NAMES = {
    "gen_ai_client_inference_duration_seconds_count",
    "gen_ai_client_inference_time_to_first_chunk_seconds_count",
    "gen_ai_client_inference_operation_input_tokens_count",
    "gen_ai_client_inference_operation_output_tokens_sum",
    "gen_ai_client_inference_usage_input_tokens_total",
    "gen_ai_client_inference_usage_output_tokens_total",
    "gen_ai_client_inference_usage_cache_read_input_tokens_total",
    "gen_ai_client_inference_usage_reasoning_output_tokens_total",
}


def test_latest_metrics_are_stored_only_when_opted_in_and_equal_the_spans(live: LiveRun) -> None:
    stored = set(live.prometheus.get("/api/v1/label/__name__/values"))
    latest = {name for name in stored if name.startswith("gen_ai_client_inference_")}
    print(f"\n{live.semconv}: unreleased metric names stored:", sorted(latest))
    if live.semconv == "released":
        assert not latest
        return
    assert latest >= LATEST_STORED_NAMES
    truth = Truth(live.spans)
    for counter, token_type in (
        ("gen_ai_client_inference_usage_input_tokens_total", "input"),
        ("gen_ai_client_inference_usage_output_tokens_total", "output"),
        ("gen_ai_client_inference_usage_cache_read_input_tokens_total", "cache_read"),
        ("gen_ai_client_inference_usage_reasoning_output_tokens_total", "reasoning"),
    ):
        by_modality = _by(
            live.query(f"sum by (gen_ai_token_modality) (increase({counter}[$__range]))"), "gen_ai_token_modality"
        )
        assert by_modality == pytest.approx({"unknown": live.increase(truth.tokens[token_type])}), counter
    calls = _scalar(live.query("sum(increase(gen_ai_client_inference_duration_seconds_count[$__range]))"))
    assert calls == pytest.approx(live.increase(truth.calls))


def test_every_dashboard_and_rule_expression_returns_data(live: LiveRun) -> None:
    expressions = _expressions()
    empty = [where for where, expr, is_rule in expressions if not live.query(expr, now=is_rule)]
    variables = _query_variables()
    empty += [f"variable {v['name']}" for v in variables if not _variable_values(live, v)]
    print(f"\nran {len(expressions)} PromQL expressions and {len(variables)} variable queries")
    assert not empty
    assert len(expressions) >= 30


def test_key_panels_equal_the_spans(live: LiveRun) -> None:
    truth = Truth(live.spans)
    approx = pytest.approx
    increase = live.increase

    def by_label(title: str, label: str, ref_id: str = "A") -> dict[str, float]:
        return _by(live.query(_panel_query(title, ref_id)), label)

    def scalar(title: str, ref_id: str = "A") -> float:
        return _scalar(live.query(_panel_query(title, ref_id)))

    assert scalar("Total spend") == approx(increase(truth.total_cost))
    assert scalar("Calls") == approx(increase(truth.calls))
    assert by_label("Spend by model", "gen_ai_request_model") == approx(
        {model: increase(cost) for model, cost in truth.cost_by_model.items()}
    )
    assert by_label("Spend by provider", "gen_ai_provider_name") == approx({"openai": increase(truth.total_cost)})
    assert by_label("Spend by service", "job") == approx({SERVICE: increase(truth.total_cost)})
    assert by_label("Spend over time", "gen_ai_request_model") == approx(
        {model: cost / live.sampled * 3600 for model, cost in truth.cost_by_model.items()}
    )
    assert scalar("Cost per call", "C") == approx(truth.total_cost / truth.priced_calls)

    assert by_label("Tokens by type in range", "gen_ai_token_type") == approx(
        {token_type: increase(count) for token_type, count in truth.tokens.items() if count}
    )
    assert scalar("Cache-hit share") == approx(truth.tokens["cache_read"] / truth.tokens["input"])
    assert scalar("Reasoning share") == approx(truth.tokens["reasoning"] / truth.tokens["output"])

    assert by_label("Call rate", "gen_ai_request_model") == approx(
        {model: n / live.sampled for model, n in truth.calls_by_model.items()}
    )
    assert by_label("Error rate", "gen_ai_provider_name") == approx({"openai": truth.errors / truth.calls})
    assert scalar("Unpriced calls") == approx(increase(sum(truth.unpriced.values())))
    unpriced = {
        (r["metric"]["genai_cost_unpriced_reason"], r["metric"]["gen_ai_request_model"]): float(r["value"][1])
        for r in live.query(_panel_query("Unpriced-call rate"))
    }
    assert unpriced == approx({key: n / live.sampled for key, n in truth.unpriced.items()})
    # Attribution row, with the key "tenant" chosen: per tenant as the spans say.
    assert by_label("Spend by ${attribution}", TENANT_LABEL) == approx(
        {tenant: increase(cost) for tenant, cost in truth.cost_by_tenant.items()}
    )
    assert by_label("Calls by ${attribution}", TENANT_LABEL) == approx(
        {tenant: increase(n) for tenant, n in truth.calls_by_tenant.items()}
    )
    assert by_label("Spend over time by ${attribution}", TENANT_LABEL) == approx(
        {tenant: cost / live.sampled * 3600 for tenant, cost in truth.cost_by_tenant.items()}
    )
    assert scalar("Calls attributed to _other") == 0
    # The mix must exercise every panel above with something non-zero.
    assert truth.errors and truth.unpriced and truth.tokens["cache_read"] and truth.tokens["reasoning"]
    assert len(truth.cost_by_tenant) >= 2


def test_cost_series_by_tenant_from_the_scrape(live: LiveRun) -> None:
    truth = Truth(live.spans)
    stored = live.query(f"sum by ({TENANT_LABEL}) (gen_ai_client_operation_cost_USD_sum)")
    print("\nsum by (genai_cost_attribution_tenant) (gen_ai_client_operation_cost_USD_sum), last scrape:")
    for series in sorted(stored, key=lambda s: s["metric"].get(TENANT_LABEL, "")):
        print(f"  {series['metric']}  {series['value'][1]}")
    # Two rounds so far (warm-up and the measured one), every tenant's spend twice.
    assert _by(stored, TENANT_LABEL) == pytest.approx({t: 2 * cost for t, cost in truth.cost_by_tenant.items()})
    raw = live.query(f'gen_ai_client_operation_cost_USD_sum{{{TENANT_LABEL}="acme"}}')
    assert {series["metric"]["genai_cost_attribution_feature"] for series in raw} == {"chat"}


def test_tenant_alert_fires_per_tenant(live: LiveRun) -> None:
    truth = Truth(live.spans)
    over = {tenant for tenant, cost in truth.cost_by_tenant.items() if cost > live.tenant_threshold}
    assert over and over != set(truth.cost_by_tenant)

    def firing() -> list[dict[str, Any]] | None:
        alerts = [
            a
            for a in live.prometheus.get("/api/v1/alerts")["alerts"]
            if a["labels"]["alertname"] == TENANT_ALERT and a["state"] == "firing"
        ]
        return alerts or None

    alerts = wait_for(firing, f"{TENANT_ALERT} to fire")
    print(f"\nper-tenant budget {live.tenant_threshold:.6f} USD/h; spend per tenant {dict(truth.cost_by_tenant)}")
    for alert in alerts:
        print(f"  {alert['state']}: {alert['labels']} -> {alert['annotations']['summary']}")
    assert {alert["labels"][TENANT_LABEL] for alert in alerts} == over


def test_the_pricing_age_and_refresh_failures_reach_prometheus(live: LiveRun) -> None:
    generated_at = bundled_provenance().generated_at
    assert generated_at is not None
    age = _scalar(live.query(_panel_query("Pricing table age")))
    # The age the app reported at the last scrape (computed as it was collected, a moment after).
    assert live.first_scrape - generated_at.timestamp() <= age <= time.time() - generated_at.timestamp()
    failures = _by(live.query(_panel_query("Pricing refresh failures")), "error_type")
    assert set(failures) == {RefreshFailure.CONNECTION} and failures[RefreshFailure.CONNECTION] > 0


def test_every_alert_goes_active_with_zero_thresholds(live: LiveRun) -> None:
    names = {rule["alert"] for group in rules()["groups"] for rule in group["rules"] if "alert" in rule}

    def active() -> set[str] | None:
        alerts = {a["labels"]["alertname"] for a in live.prometheus.get("/api/v1/alerts")["alerts"]}
        return alerts if alerts >= names else None

    assert wait_for(active, "every alert to be pending or firing") >= names
