"""Generate ``genai-cost.json``, the Grafana dashboard for genai-cost metrics.

Run ``python grafana/dashboards/generate.py`` after editing; a test checks that the committed
JSON equals what this script produces. Built with grafana-foundation-sdk (Grafana's typed
builders), a development-only dependency.

Metric names are the ones Prometheus stores for genai-cost's instruments, whether scraped
from the SDK's Prometheus exporter or from the collector's ``prometheus`` exporter (both
translate the same way: dots to underscores, ``s`` -> ``_seconds``, ``USD`` kept as
``_USD``, ``{token}``/``{call}`` dropped, ``_total`` on counters). The service is the ``job``
label; see the README section "Dashboards, alerts and the collector".
"""

from __future__ import annotations

import json
import sys
import urllib.parse
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import bargauge, dashboard, prometheus, stat, timeseries
from grafana_foundation_sdk.builders.common import ReduceDataOptions, VizLegendOptions
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.common import BarGaugeDisplayMode, LegendDisplayMode
from grafana_foundation_sdk.models.common import VizOrientation as Orientation
from grafana_foundation_sdk.models.dashboard import (
    DataSourceRef,
    VariableOption,
    VariableRefresh,
    VariableSort,
)

__all__ = ["OUTPUT", "build", "main", "render"]

OUTPUT = Path(__file__).with_name("genai-cost.json")

# Data source uids, as provisioned in grafana/provisioning/datasources/datasources.yaml.
PROMETHEUS_UID = "genai-cost-prometheus"
TEMPO_UID = "genai-cost-tempo"
JAEGER_UID = "genai-cost-jaeger"

# What Prometheus stores for each instrument (see the module docstring).
COST = "gen_ai_client_operation_cost_USD"
DURATION = "gen_ai_client_operation_duration_seconds"
TTFC = "gen_ai_client_operation_time_to_first_chunk_seconds"
TOKENS = "gen_ai_client_token_usage"
TOKEN_DETAIL = "genai_cost_client_token_detail_total"
UNPRICED = "genai_cost_client_unpriced_calls_total"
OVERFLOW = "genai_cost_client_attribution_overflow_total"

# Attribution: the label of the key chosen in $attribution (a key in GENAI_COST_METRIC_ATTRIBUTION),
# filtered by $attribution_value. Legends interpolate the key first, then the label ("{{...}}").
BY_KEY = "genai_cost_attribution_${attribution}"
KEY_FILTER = f'{BY_KEY}=~"$attribution_value"'
KEY_LEGEND = "{{" + BY_KEY + "}}"
PRICING_AGE = "genai_cost_pricing_age_seconds"
REFRESH_FAILURES = "genai_cost_pricing_refresh_failures_total"

FILTER = 'job=~"$service", gen_ai_provider_name=~"$provider", gen_ai_request_model=~"$model"'
SERVICE = 'job=~"$service"'
"""The filter of the process-wide metrics (the pricing table's), which have no provider or model."""
RATE = "$__rate_interval"
RANGE = "$__range"

_PROMETHEUS = DataSourceRef(type_val="prometheus", uid="${datasource}")


def _sel(metric: str, extra: str = "") -> str:
    return f"{metric}{{{FILTER}{', ' + extra if extra else ''}}}"


def _query(expr: str, ref_id: str, legend: str = "", *, instant: bool = False) -> Any:
    query = prometheus.Dataquery().expr(expr).ref_id(ref_id).datasource(_PROMETHEUS)
    if legend:
        query = query.legend_format(legend)
    return query.instant() if instant else query.range()


def _spend(by: str, window: str, *, per_hour: bool = False) -> str:
    expr = f"sum by ({by}) ({'rate' if per_hour else 'increase'}({_sel(COST + '_sum')}[{window}]))"
    return f"{expr} * 3600" if per_hour else expr


def _quantile(q: float, metric: str, by: str = "") -> str:
    labels = f"le, {by}" if by else "le"
    return f"histogram_quantile({q}, sum by ({labels}) (rate({_sel(metric + '_bucket')}[{RATE}])))"


def _explore(datasource_type: str, uid: str, query: dict[str, Any]) -> str:
    """A Grafana Explore URL; ``${...}`` placeholders stay readable for Grafana to fill in."""
    pane = {
        "traces": {
            "datasource": uid,
            "queries": [{"refId": "A", "datasource": {"type": datasource_type, "uid": uid}, **query}],
            "range": {"from": "${__from}", "to": "${__to}"},
        }
    }
    encoded = urllib.parse.quote(json.dumps(pane, separators=(",", ":")), safe="${}:_.")
    return f"/explore?schemaVersion=1&orgId=1&panes={encoded}"


def _trace_links(model: str | None = None) -> list[Any]:
    """Links to the traces behind a panel (or, with ``model``, behind one series)."""
    model_clause = f' && span.gen_ai.request.model = "{model}"' if model else ""
    traceql = f'{{ span.gen_ai.usage.cost.amount > 0{model_clause} && resource.service.name =~ "${{service:regex}}" }}'
    jaeger_tags = f"gen_ai.request.model={model}" if model else "gen_ai.usage.cost.source=local"
    suffix = f" for {model}" if model else ""
    return [
        dashboard.DashboardLink(f"Traces in Tempo{suffix}")
        .url(_explore("tempo", TEMPO_UID, {"queryType": "traceql", "query": traceql}))
        .target_blank(True),
        dashboard.DashboardLink(f"Traces in Jaeger{suffix}")
        .url(
            _explore(
                "jaeger",
                JAEGER_UID,
                {"queryType": "search", "service": "${service}", "tags": jaeger_tags},
            )
        )
        .target_blank(True),
    ]


_MODEL_LINKS = _trace_links("${__field.labels.gen_ai_request_model}")


def _panel(builder: Any, panel_id: int, title: str, unit: str, description: str) -> Any:
    """What every panel shares: id, texts, data source, unit and the trace links."""
    return (
        builder.id(panel_id)
        .title(title)
        .description(description)
        .datasource(_PROMETHEUS)
        .unit(unit)
        .links(_trace_links())
    )


def _timeseries(panel_id: int, title: str, unit: str, description: str, *targets: Any) -> Any:
    panel = (
        _panel(timeseries.Panel(), panel_id, title, unit, description)
        .height(8)
        .span(12)
        .legend(VizLegendOptions().display_mode(LegendDisplayMode.LIST).show_legend(True))
    )
    for target in targets:
        panel = panel.with_target(target)
    return panel


def _stat(panel_id: int, title: str, unit: str, description: str, expr: str) -> Any:
    return (
        _panel(stat.Panel(), panel_id, title, unit, description)
        .height(4)
        .span(6)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]))
        .with_target(_query(expr, "A", instant=True))
    )


def _bars(panel_id: int, title: str, unit: str, description: str, expr: str, legend: str) -> Any:
    return (
        _panel(bargauge.Panel(), panel_id, title, unit, description)
        .height(8)
        .span(8)
        .orientation(Orientation.HORIZONTAL)
        .display_mode(BarGaugeDisplayMode.BASIC)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]))
        .with_target(_query(expr, "A", legend, instant=True))
    )


def _share(part: str, whole: str) -> str:
    """``part / whole`` over the range; 0 (not "no data") when nothing matched ``part``."""
    return f"(sum(increase({part}[{RANGE}])) or vector(0)) / sum(increase({whole}[{RANGE}]))"


def _variable(name: str, label: str, query: str) -> Any:
    return (
        dashboard.QueryVariable(name)
        .label(label)
        .datasource(_PROMETHEUS)
        .query(query)
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .all_value(".*")
        .current(VariableOption(selected=True, text="All", value="$__all"))
    )


def _attribution_key() -> Any:
    """$attribution: the allowlisted keys found in Prometheus (label names, prefix cut off);
    one at a time, as panels break spend down by it."""
    return (
        dashboard.QueryVariable("attribution")
        .label("Attribution key")
        .datasource(_PROMETHEUS)
        .query("label_names()")
        .regex("/^genai_cost_attribution_(.+)$/")
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
    )


def _attribution_panels() -> list[Any]:
    """Spend, calls and tokens by the chosen attribution key, and the values folded into _other."""
    spend = f"sum by ({BY_KEY}) (increase({_sel(COST + '_sum', KEY_FILTER)}[{RANGE}]))"
    spend_rate = f"sum by ({BY_KEY}) (rate({_sel(COST + '_sum', KEY_FILTER)}[{RATE}])) * 3600"
    calls = f"sum by ({BY_KEY}) (increase({_sel(DURATION + '_count', KEY_FILTER)}[{RANGE}]))"
    tokens = f"sum by ({BY_KEY}) (increase({_sel(TOKENS + '_sum', KEY_FILTER)}[{RANGE}]))"
    folded = f'sum(increase({OVERFLOW}{{job=~"$service"}}[{RANGE}])) or vector(0)'
    per_key = "Per value of the chosen attribution key (a key in GENAI_COST_METRIC_ATTRIBUTION)"
    return [
        _bars(20, "Spend by ${attribution}", "currencyUSD", f"{per_key}, in the selected range.", spend, KEY_LEGEND),
        _timeseries(
            21,
            "Spend over time by ${attribution}",
            "currencyUSD",
            f"{per_key}: spend rate in USD per hour.",
            _query(spend_rate, "A", KEY_LEGEND),
        ).span(16),
        _bars(22, "Calls by ${attribution}", "short", f"{per_key}: calls, failed ones included.", calls, KEY_LEGEND),
        _bars(23, "Tokens by ${attribution}", "short", f"{per_key}: input and output tokens.", tokens, KEY_LEGEND),
        _stat(
            24,
            "Calls attributed to _other",
            "short",
            "Calls whose value of an allowlisted attribution key was recorded as _other: more distinct "
            "values than GENAI_COST_METRIC_ATTRIBUTION_LIMIT in one process.",
            folded,
        )
        .span(8)
        .height(8),
    ]


def build() -> Any:
    """The dashboard as a foundation-sdk ``Dashboard`` model."""
    spend_range = "Spend in the selected range, from the cost histogram's sum."
    errors = f"{_sel(DURATION + '_count', 'error_type!=' + chr(34) * 2)}"
    calls = _sel(DURATION + "_count")
    error_rate = (
        f"(sum by (gen_ai_provider_name) (rate({errors}[{RATE}]))"
        f" or sum by (gen_ai_provider_name) (rate({calls}[{RATE}])) * 0)"
        f" / sum by (gen_ai_provider_name) (rate({calls}[{RATE}]))"
    )
    board = (
        dashboard.Dashboard("GenAI cost")
        .uid("genai-cost")
        .description("Spend, tokens, calls and latency of LLM calls instrumented by genai-cost.")
        .tags(["genai", "cost", "opentelemetry"])
        .time("now-24h", "now")
        .refresh("1m")
        .timezone("browser")
        .with_variable(
            dashboard.DatasourceVariable("datasource")
            .label("Prometheus")
            .type("prometheus")
            .current(VariableOption(selected=True, text="Prometheus", value=PROMETHEUS_UID))
        )
        .with_variable(_variable("service", "Service", f"label_values({DURATION}_count, job)"))
        .with_variable(
            _variable(
                "provider",
                "Provider",
                f'label_values({DURATION}_count{{job=~"$service"}}, gen_ai_provider_name)',
            )
        )
        .with_variable(
            _variable(
                "model",
                "Model",
                f'label_values({DURATION}_count{{job=~"$service", '
                f'gen_ai_provider_name=~"$provider"}}, gen_ai_request_model)',
            )
        )
        .with_variable(_attribution_key())
        .with_variable(
            _variable("attribution_value", "Value", f'label_values({COST}_count{{job=~"$service"}}, {BY_KEY})')
        )
        .with_row(dashboard.Row("Spend").id(100))
        .with_panel(
            _stat(1, "Total spend", "currencyUSD", spend_range, f"sum(increase({_sel(COST + '_sum')}[{RANGE}]))")
        )
        .with_panel(
            _stat(
                2,
                "Calls",
                "short",
                "Calls in the selected range, failed ones included.",
                f"sum(increase({calls}[{RANGE}]))",
            )
        )
        .with_panel(
            _stat(
                3,
                "Cache-hit share",
                "percentunit",
                "Input tokens served from the provider's prompt cache (cache_read / input).",
                _share(
                    _sel(TOKEN_DETAIL, 'gen_ai_token_type="cache_read"'),
                    _sel(TOKENS + "_sum", 'gen_ai_token_type="input"'),
                ),
            )
        )
        .with_panel(
            _stat(
                4,
                "Reasoning share",
                "percentunit",
                "Output tokens spent on reasoning (reasoning / output).",
                _share(
                    _sel(TOKEN_DETAIL, 'gen_ai_token_type="reasoning"'),
                    _sel(TOKENS + "_sum", 'gen_ai_token_type="output"'),
                ),
            )
        )
        .with_panel(
            _timeseries(
                5,
                "Spend over time",
                "currencyUSD",
                "Spend rate by model, in USD per hour.",
                _query(_spend("gen_ai_request_model", RATE, per_hour=True), "A", "{{gen_ai_request_model}}"),
            )
            .span(24)
            .data_links(_MODEL_LINKS)
        )
        .with_panel(
            _bars(
                6,
                "Spend by model",
                "currencyUSD",
                spend_range,
                _spend("gen_ai_request_model", RANGE),
                "{{gen_ai_request_model}}",
            ).data_links(_MODEL_LINKS)
        )
        .with_panel(
            _bars(
                7,
                "Spend by provider",
                "currencyUSD",
                spend_range,
                _spend("gen_ai_provider_name", RANGE),
                "{{gen_ai_provider_name}}",
            )
        )
        .with_panel(_bars(8, "Spend by service", "currencyUSD", spend_range, _spend("job", RANGE), "{{job}}"))
        .with_row(dashboard.Row("Calls and tokens").id(101))
        .with_panel(
            _timeseries(
                9,
                "Cost per call",
                "currencyUSD",
                "Median and 95th percentile from the cost histogram's buckets; mean from sum/count.",
                _query(_quantile(0.5, COST), "A", "p50"),
                _query(_quantile(0.95, COST), "B", "p95"),
                _query(
                    f"sum(rate({_sel(COST + '_sum')}[{RATE}])) / sum(rate({_sel(COST + '_count')}[{RATE}]))",
                    "C",
                    "mean",
                ),
            )
        )
        .with_panel(
            _timeseries(
                10,
                "Tokens by type",
                "short",
                "Token rate (per second) by gen_ai.token.type. cache_read/cache_creation are part "
                "of input, reasoning is part of output.",
                _query(
                    f"sum by (gen_ai_token_type) (rate({_sel(TOKENS + '_sum')}[{RATE}]))", "A", "{{gen_ai_token_type}}"
                ),
                _query(
                    f"sum by (gen_ai_token_type) (rate({_sel(TOKEN_DETAIL)}[{RATE}]))", "B", "{{gen_ai_token_type}}"
                ),
            )
        )
        .with_panel(
            _bars(
                11,
                "Tokens by type in range",
                "short",
                "Tokens in the selected range; cache_read/cache_creation are part of input, reasoning of output.",
                f"sum by (gen_ai_token_type) (increase({_sel(TOKENS + '_sum')}[{RANGE}]))"
                f" or sum by (gen_ai_token_type) (increase({_sel(TOKEN_DETAIL)}[{RANGE}]))",
                "{{gen_ai_token_type}}",
            )
        )
        .with_panel(
            _timeseries(
                12,
                "Call rate",
                "reqps",
                "Calls per second by model, failed ones included.",
                _query(f"sum by (gen_ai_request_model) (rate({calls}[{RATE}]))", "A", "{{gen_ai_request_model}}"),
            )
            .span(8)
            .data_links(_MODEL_LINKS)
        )
        .with_panel(
            _timeseries(
                13,
                "Error rate",
                "percentunit",
                "Share of calls that failed (error.type set), by provider.",
                _query(error_rate, "A", "{{gen_ai_provider_name}}"),
            ).span(8)
        )
        .with_panel(
            _timeseries(
                14,
                "Unpriced-call rate",
                "reqps",
                "Calls that could not be priced, by reason: update the pricing map or add a "
                "GENAI_COST_PRICING_FILE entry.",
                _query(
                    f"sum by (genai_cost_unpriced_reason, gen_ai_request_model) (rate({_sel(UNPRICED)}[{RATE}]))",
                    "A",
                    "{{gen_ai_request_model}} ({{genai_cost_unpriced_reason}})",
                ),
            ).span(8)
        )
        .with_panel(
            _stat(
                15,
                "Unpriced calls",
                "short",
                "Calls in the selected range that could not be priced.",
                f"sum(increase({_sel(UNPRICED)}[{RANGE}])) or vector(0)",
            )
            .span(8)
            .height(8)
        )
        .with_row(dashboard.Row("Latency").id(102))
        .with_panel(
            _timeseries(
                16,
                "Latency p95",
                "s",
                "95th percentile of gen_ai.client.operation.duration by model.",
                _query(_quantile(0.95, DURATION, "gen_ai_request_model"), "A", "{{gen_ai_request_model}}"),
            ).data_links(_MODEL_LINKS)
        )
        .with_panel(
            _timeseries(
                17,
                "Time to first chunk",
                "s",
                "Streaming calls: time until the first chunk arrived (p50 and p95).",
                _query(_quantile(0.5, TTFC), "A", "p50"),
                _query(_quantile(0.95, TTFC), "B", "p95"),
            )
        )
        .with_row(dashboard.Row("Prices").id(103))
        .with_panel(
            _stat(
                18,
                "Pricing table age",
                "s",
                "Time since the prices each service uses were generated (genai_cost.pricing.age): the "
                "bundled table's build, or the refreshed source's (GENAI_COST_PRICING_URL).",
                f"max by (job) ({PRICING_AGE}{{{SERVICE}}})",
            )
        )
        .with_panel(
            _stat(
                19,
                "Pricing refresh failures",
                "short",
                "Failed checks of GENAI_COST_PRICING_URL in the selected range, by kind; the last "
                "good table stays in use.",
                f"sum by (error_type) (increase({REFRESH_FAILURES}{{{SERVICE}}}[{RANGE}])) or on() vector(0)",
            )
        )
    )
    board = board.with_row(dashboard.Row("Attribution").id(104))
    for panel in _attribution_panels():
        board = board.with_panel(panel)
    return board.build()


def render() -> str:
    """The dashboard JSON exactly as committed."""
    return json.dumps(build(), cls=JSONEncoder, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the dashboard JSON (or, with ``--check``, fail when the committed file differs)."""
    args = sys.argv[1:] if argv is None else argv
    text = render()
    if "--check" in args:
        if OUTPUT.read_text() != text:
            print(f"{OUTPUT} is out of date: run python {__file__}", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
