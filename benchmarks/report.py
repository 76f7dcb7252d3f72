"""Statistics over the worker results and the markdown written to ``benchmarks/RESULTS.md``.

"Added" figures compare a configuration with the uninstrumented baseline run in the same
environment (same package versions) in the same round: per round, the difference of the two
medians; reported is the median of those differences over the rounds, and the difference of
the minima over all samples.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from statistics import median
from typing import Any

from benchmarks.peers import CONFIGURATIONS, ENVIRONMENTS

__all__ = ["Run", "render"]

_OURS = ("genai-cost", "genai-cost+processor")
_OPERATIONS = ("chat", "stream", "embeddings")


@dataclass(frozen=True)
class Run:
    """A configuration run in one environment (the baseline runs in every environment)."""

    config: str
    environment: str

    @property
    def key(self) -> str:
        return self.config if self.config != "baseline" else f"baseline@{self.environment}"


@dataclass(frozen=True)
class _Figures:
    """One run's figures; ``added_*`` are relative to its environment's baseline."""

    median_us: dict[str, float]
    min_us: dict[str, float]
    added_us: dict[str, float]
    added_min_us: dict[str, float]
    chunks: int
    spans_per_call: float
    setup_ms: float
    setup_min_ms: float
    added_setup_ms: float


def _samples(results: Sequence[Mapping[str, Any]], operation: str) -> list[float]:
    return [sample for result in results for sample in result["us"][operation]]


def _figures(results: Sequence[Mapping[str, Any]], baseline: Sequence[Mapping[str, Any]]) -> _Figures:
    medians = {op: median(_samples(results, op)) for op in _OPERATIONS}
    minima = {op: min(_samples(results, op)) for op in _OPERATIONS}
    added = {
        op: median(
            median(mine["us"][op]) - median(base["us"][op]) for mine, base in zip(results, baseline, strict=True)
        )
        for op in _OPERATIONS
    }
    added_min = {op: minima[op] - min(_samples(baseline, op)) for op in _OPERATIONS}
    setups = [result["setup_ms"] for result in results]
    base_setup = median(result["setup_ms"] for result in baseline)
    return _Figures(
        median_us=medians,
        min_us=minima,
        added_us=added,
        added_min_us=added_min,
        chunks=int(results[0]["chunks_per_stream"]),
        spans_per_call=results[0]["spans_per_call"],
        setup_ms=median(setups),
        setup_min_ms=min(setups),
        added_setup_ms=median(setups) - base_setup,
    )


def _ratio(numerator: float, denominator: float) -> str:
    if denominator <= 0:
        return "n/a"
    if numerator <= 0:
        return "≤0"
    return f"{numerator / denominator:.2f}x"


def _ratios(mine: _Figures, other: _Figures, operation: str) -> str:
    """Median-based ratio of added overhead, then the minimum-based one in brackets."""
    if operation == "chunk":
        by_median = _ratio(_per_chunk(mine), _per_chunk(other))
        by_minimum = _ratio(_per_chunk(mine, minimum=True), _per_chunk(other, minimum=True))
    else:
        by_median = _ratio(mine.added_us[operation], other.added_us[operation])
        by_minimum = _ratio(mine.added_min_us[operation], other.added_min_us[operation])
    return f"{by_median} ({by_minimum})"


def _us(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.1f}"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _per_chunk(figures: _Figures, *, minimum: bool = False) -> float:
    added = figures.added_min_us if minimum else figures.added_us
    return added["stream"] / figures.chunks


def render(raw: Mapping[str, Any]) -> str:
    """The whole RESULTS.md for the raw results of one run (see ``benchmarks.__main__``)."""
    calls = {Run(entry["config"], entry["environment"]): entry["results"] for entry in raw["calls"]}
    rss = {run: raw["rss"][run.key] for run in calls if run.key in raw["rss"]}
    extras, skipped, command = raw["extras"], raw["skipped"], raw["command"]
    arguments, load, seconds = raw["arguments"], raw["load"], raw["seconds"]
    baselines = {run.environment: results for run, results in calls.items() if run.config == "baseline"}
    figures = {run: _figures(results, baselines[run.environment]) for run, results in calls.items()}
    by_config = {run.config: run for run in calls if run.config != "baseline"}
    lines = [
        "# Benchmark results",
        "",
        f"Generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by `{command}` "
        f"(from the repository root; {seconds / 60:.1f} minutes).",
        "",
        f"Machine: {_cpu_model()}, {os.cpu_count()} cores, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}. Load average (1/5/15 min) "
        f"{'/'.join(f'{x:.2f}' for x in load[0])} at the start, "
        f"{'/'.join(f'{x:.2f}' for x in load[1])} at the end: the machine is shared, so "
        "configurations are interleaved round by round and only figures from this one run "
        "are compared.",
        "",
    ]
    lines += _headline(figures, by_config)
    lines += _overhead_table(figures, calls, rss, skipped)
    lines += _ratio_table(figures, by_config)
    lines += _extras_section(extras, skipped)
    lines += _method(arguments, calls)
    lines += _versions(calls)
    return "\n".join(lines) + "\n"


def _headline(figures: Mapping[Run, _Figures], by_config: Mapping[str, Run]) -> list[str]:
    ours = by_config.get("genai-cost")
    peers = [run for name, run in by_config.items() if CONFIGURATIONS[name].peer]
    if ours is None or not peers:
        return []
    mine = figures[ours]
    fastest_call = min(peers, key=lambda run: figures[run].added_us["chat"])
    fastest_chunk = min(peers, key=lambda run: _per_chunk(figures[run]))
    fastest_setup = min(peers, key=lambda run: figures[run].setup_ms)
    return [
        "## Headline",
        "",
        "Ratios of added overhead are median-based, minimum-based in brackets (noise on a "
        "shared machine only adds time, so the minima are the least disturbed figures); ≤0: "
        "genai-cost's added time was below the noise of this run; n/a: the peer's was.",
        "",
        f"- Added per non-streaming chat call: genai-cost {_us(mine.added_us['chat'])} µs "
        f"({_us(mine.added_min_us['chat'])}), the fastest peer ({fastest_call.config}) "
        f"{_us(figures[fastest_call].added_us['chat'])} µs "
        f"({_us(figures[fastest_call].added_min_us['chat'])}): "
        f"**{_ratios(mine, figures[fastest_call], 'chat')}**.",
        f"- Added per streamed chunk: genai-cost {_per_chunk(mine):.2f} µs "
        f"({_per_chunk(mine, minimum=True):.2f}), the fastest peer ({fastest_chunk.config}) "
        f"{_per_chunk(figures[fastest_chunk]):.2f} µs "
        f"({_per_chunk(figures[fastest_chunk], minimum=True):.2f}): "
        f"**{_ratios(mine, figures[fastest_chunk], 'chunk')}**.",
        f"- Import + instrument: genai-cost {mine.setup_ms:.1f} ms, the fastest peer "
        f"({fastest_setup.config}) {figures[fastest_setup].setup_ms:.1f} ms: "
        f"**{_ratio(mine.setup_ms, figures[fastest_setup].setup_ms)}**.",
        "",
    ]


def _overhead_table(
    figures: Mapping[Run, _Figures],
    calls: Mapping[Run, Sequence[Mapping[str, Any]]],
    rss: Mapping[Run, Mapping[str, Any]],
    skipped: Mapping[str, str],
) -> list[str]:
    lines = [
        "## Per-call overhead (absolute)",
        "",
        "µs per operation as median / min; *added* = minus the baseline of the same "
        "environment (median of per-round differences / difference of minima); *x base* = "
        "median time over the baseline's median time. Per chunk = added per stream / chunks "
        "the app received (so it includes the per-stream span cost).",
        "",
        "| configuration | env | chat µs | added µs/call | x base | stream µs (chunks) "
        "| added µs/stream | added µs/chunk | x base | embeddings µs | added µs/call "
        "| import + instrument ms | peak RSS MiB (after warm-up) | spans/call |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in calls:
        fig = figures[run]
        base = figures[next(r for r in calls if r.config == "baseline" and r.environment == run.environment)]
        memory = rss.get(run)
        peak = f"{memory['peak_mib']:.0f} ({memory['warm_mib']:.0f})" if memory else "—"
        is_base = run.config == "baseline"
        cells = [
            f"**{run.key}**" if run.config in _OURS else run.key,
            run.environment,
            f"{_us(fig.median_us['chat'])} / {_us(fig.min_us['chat'])}",
            "—" if is_base else f"{_us(fig.added_us['chat'])} / {_us(fig.added_min_us['chat'])}",
            "—" if is_base else _ratio(fig.median_us["chat"], base.median_us["chat"]),
            f"{_us(fig.median_us['stream'])} / {_us(fig.min_us['stream'])} ({fig.chunks})",
            "—" if is_base else f"{_us(fig.added_us['stream'])} / {_us(fig.added_min_us['stream'])}",
            "—" if is_base else f"{_per_chunk(fig):.2f} / {_per_chunk(fig, minimum=True):.2f}",
            "—" if is_base else _ratio(fig.median_us["stream"], base.median_us["stream"]),
            f"{_us(fig.median_us['embeddings'])} / {_us(fig.min_us['embeddings'])}",
            "—" if is_base else f"{_us(fig.added_us['embeddings'])} / {_us(fig.added_min_us['embeddings'])}",
            f"{fig.setup_ms:.1f} / {fig.setup_min_ms:.1f}",
            peak,
            f"{fig.spans_per_call:.2f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    for name, reason in skipped.items():
        lines.append(f"| {name} | — | {reason} |" + " |" * 11)
    return [*lines, ""]


def _ratio_table(figures: Mapping[Run, _Figures], by_config: Mapping[str, Run]) -> list[str]:
    ours = [by_config[name] for name in _OURS if name in by_config]
    peers = [run for name, run in by_config.items() if CONFIGURATIONS[name].peer]
    if not ours or not peers:
        return []
    lines = [
        "## Ratios: genai-cost / peer (same run; below 1.00x = genai-cost is cheaper)",
        "",
        "Added overhead over the environment's baseline, genai-cost's divided by the peer's "
        "(medians; in brackets from the minima); import + instrument compares total times.",
        "",
        "| genai-cost configuration | peer | added per chat call | added per chunk "
        "| added per embeddings call | import + instrument |",
        "|---|---|---|---|---|---|",
    ]
    for mine in ours:
        fig = figures[mine]
        for peer in peers:
            other = figures[peer]
            lines.append(
                f"| {mine.config} | {peer.config} "
                f"| {_ratios(fig, other, 'chat')} "
                f"| {_ratios(fig, other, 'chunk')} "
                f"| {_ratios(fig, other, 'embeddings')} "
                f"| {_ratio(fig.setup_ms, other.setup_ms)} |"
            )
    return [*lines, ""]


def _extras_section(extras: Mapping[str, Any], skipped: Mapping[str, str]) -> list[str]:
    lines = ["## CostSpanProcessor and pricing", ""]
    processor = extras.get("processor")
    if processor is None:
        lines.append("- CostSpanProcessor throughput: n/a (not built yet).")
    else:
        floor = processor.get("histogram_record_floor")
        for kind, rate in processor.items():
            if kind == "histogram_record_floor":
                continue
            lines.append(
                f"- CostSpanProcessor.on_end, {kind.replace('_', ' ')}: "
                f"{rate['median']:,.0f} spans/s median, {rate['max']:,.0f} best "
                f"(one thread, pre-built SDK spans, next processor discards)."
            )
        if floor is not None:
            lines.append(
                f"- Floor for a span the processor prices: one cost `Histogram.record` with the same "
                f"metric attributes alone runs {floor['median']:,.0f}/s median, {floor['max']:,.0f} best."
            )
    pricing = extras.get("pricing")
    if pricing:
        ours, theirs = pricing["genai-cost"], pricing["genai-prices"]
        lines.append(
            f"- Warm price lookup + calculation (`benchmarks/bench_pricing.py`'s "
            f"{pricing['models']} models, 1200 in / 200 cached / 300 out, best of 5): genai-cost "
            f"`PricingTable.cost` {ours:.2f} µs/call, genai-prices `calc_price` {theirs:.2f} "
            f"µs/call: **{_ratio(ours, theirs)}**."
        )
    return [*lines, ""]


def _method(arguments: Mapping[str, Any], calls: Mapping[Run, Sequence[Mapping[str, Any]]]) -> list[str]:
    rounds = len(next(iter(calls.values())))
    notes = [note for env in ENVIRONMENTS.values() if (note := env.note)]
    lines = [
        "## Method",
        "",
        f"- Work per repeat: {arguments['chat']} non-streaming chat calls (`gpt-4o-mini`, usage "
        f"with cached tokens), {arguments['stream']} streamed chat calls (50 content chunks, "
        f"`include_usage` so a final usage chunk), {arguments['embeddings']} embeddings calls; "
        f"{arguments['repeats']} repeats after a warm-up, in each of {rounds} fresh subprocesses "
        "per configuration, configurations interleaved (order rotated and reversed by round).",
        "- Client: the real `openai` client over an in-process `MockTransport` "
        "(`benchmarks/mock_openai.py`) serving the wire-accurate bodies of "
        "`genai_cost.demo.fake_openai` (no sockets; bodies rendered once, then replayed).",
        "- SDK pipeline, the same for every configuration: `TracerProvider` -> "
        "`BatchSpanProcessor` (default settings) -> an exporter that only counts spans "
        "(no serialization); `MeterProvider` with an `InMemoryMetricReader`; both global.",
        "- Configurations, each as its README shows: genai-cost "
        "`OpenAIInstrumentor().instrument(tracer_provider=, meter_provider=)`; "
        "+ `CostSpanProcessor(BatchSpanProcessor(...), meter_provider=)` as the span processor; "
        "openai-v2 and OpenLLMetry `OpenAIInstrumentor().instrument(tracer_provider=, "
        "meter_provider=)`; OpenInference `OpenAIInstrumentor().instrument(tracer_provider=)` "
        "(it records no metrics); openlit `openlit.init(pricing_json=<local file>)`, which "
        "picks up the global providers (and a global `LoggerProvider` discarding its records, set "
        "for every configuration: openlit would print its events to the console without one). "
        "Defaults otherwise (OpenLLMetry and openlit record message content by default; the "
        "others do not).",
        "- openlit downloads its pricing JSON at `init` unless `pricing_json` points elsewhere: "
        "it gets `benchmarks/openlit_pricing.json` (a local file with the two models used). "
        "Every worker installs an audit hook refusing non-loopback connections and name "
        "lookups, so the whole run is offline.",
        "- Times are CPU time of the worker process (`time.process_time`, all threads), which "
        "a busy neighbour disturbs far less than wall-clock time.",
        "- Import + instrument: CPU time of importing the instrumentation package and "
        "instrumenting (or `openlit.init`), in a fresh subprocess after `openai` and the "
        "OpenTelemetry SDK are imported (the app imports those either way).",
        f"- Peak RSS: `ru_maxrss` of a fresh subprocess after {arguments['rss_calls']:,} "
        f"non-streaming calls{_rss_scale(arguments['rss_calls'])} (in brackets: after set-up "
        "and 100 warm-up calls); measured for "
        "each configuration and for one baseline per `openai` version (a baseline imports "
        "nothing of its environment's peer).",
        "- CostSpanProcessor: `on_end` on spans made beforehand by the SDK as a peer "
        "instrumentation makes them (opentelemetry-instrumentation-openai-v2's attributes), each "
        "under an app span of its trace that is open while it ends (so the rollup credits it; "
        "only the LLM spans' `on_end` is timed): usage and no cost under semconv, "
        "`prompt_tokens`/`completion_tokens` or OpenInference names (the processor prices "
        "them, records the cost metric and forwards a copy), usage with a cost already, and "
        "spans without GenAI usage (pass-through). Kinds interleaved, 5 repeats.",
        *(f"- {note}." for note in notes),
        "",
    ]
    return lines


def _rss_scale(calls: int) -> str:
    if calls >= 100_000:
        return ""
    return " (the issue asks for 100k, scaled down for a quicker run: `--rss-calls 100000` for the full count)"


def _versions(calls: Mapping[Run, Sequence[Mapping[str, Any]]]) -> list[str]:
    lines = ["## Versions per environment", ""]
    seen: set[str] = set()
    for run, results in calls.items():
        if run.environment in seen:
            continue
        seen.add(run.environment)
        versions = ", ".join(f"{name} {version}" for name, version in results[0]["versions"].items())
        lines.append(f"- `bench-{run.environment}`: {versions}")
    return [*lines, ""]
