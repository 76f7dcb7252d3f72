"""What the OpenTelemetry SDK alone costs for the telemetry each instrumentation emits per call.

``python benchmarks/sdk_floor.py`` makes one non-streaming chat call (the real ``openai``
client over ``mock_openai``'s in-process transport) under genai-cost and under
opentelemetry-instrumentation-openai-v2 (when installed), captures what each exported (its
span's name, kind and attributes; one histogram record per histogram point), then replays
exactly that through a fresh SDK pipeline (``SimpleSpanProcessor`` -> ``InMemorySpanExporter``,
``MeterProvider`` with an ``InMemoryMetricReader``) with no instrumentation code at all. The
replay time is the floor below which an instrumentation emitting that telemetry cannot go on
this machine. Next to it, the same run times each instrumentation's wrapper around
``Completions.create`` called directly with a prebuilt ``ChatCompletion`` (no HTTP, no
parsing): floor plus the instrumentation's own code, so the difference is its own code.
``--instructions N`` counts the same two things in instructions with callgrind (``valgrind``
needed), a figure machine load cannot move; ``--own-parts N`` counts each step of genai-cost's
wrapper alone.

``straight-line`` is genai-cost's telemetry from the least Python that can emit it (see
:func:`_straight_line`): its own code is a bound for any instrumentation emitting that telemetry.

Counters are not replayed: genai-cost's only counter on this call is observable (summed in
process, reported at collection), and openai-v2 emits none. Span attributes are all given at
start; setting some at the end costs about the same.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import re
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

sys.path.insert(0, str(Path(__file__).parent))
from mock_openai import client as mock_client

_MESSAGES = [{"role": "user", "content": "Say hello"}]


@dataclass(frozen=True)
class Emitted:
    """The telemetry of one call."""

    span_name: str
    span_kind: SpanKind
    span_attributes: dict[str, Any]
    histogram_records: list[tuple[str, float, dict[str, Any]]]


def _pipeline() -> tuple[TracerProvider, InMemorySpanExporter, MeterProvider, InMemoryMetricReader]:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    return tracer_provider, exporter, MeterProvider(metric_readers=[reader]), reader


def capture(instrument: Callable[[TracerProvider, MeterProvider], Callable[[], None]]) -> Emitted:
    """Instrument, make one chat call, uninstrument; what was exported."""
    tracer_provider, exporter, meter_provider, reader = _pipeline()
    uninstrument = instrument(tracer_provider, meter_provider)
    try:
        mock_client().chat.completions.create(model="gpt-4o-mini", messages=_MESSAGES)  # type: ignore[arg-type]
    finally:
        uninstrument()
    (span,) = exporter.get_finished_spans()
    records = []
    data = reader.get_metrics_data()
    for resource_metrics in data.resource_metrics if data else ():
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                for point in metric.data.data_points:
                    if isinstance(point, HistogramDataPoint):
                        records += [(metric.name, point.sum / point.count, dict(point.attributes))] * point.count
    return Emitted(span.name, span.kind, dict(span.attributes or {}), records)


def replay_seconds(emitted: Emitted, *, number: int, repeat: int) -> float:
    """Best time per call to emit the same telemetry with the SDK alone."""
    tracer_provider, exporter, meter_provider, _ = _pipeline()
    tracer = tracer_provider.get_tracer("floor")
    meter = meter_provider.get_meter("floor")
    histograms = {name: meter.create_histogram(name) for name, _, _ in emitted.histogram_records}
    records = [(histograms[name], value, attributes) for name, value, attributes in emitted.histogram_records]

    def emit() -> None:
        tracer.start_span(emitted.span_name, kind=emitted.span_kind, attributes=emitted.span_attributes).end()
        for histogram, value, attributes in records:
            histogram.record(value, attributes)

    times = []
    for _ in range(repeat):
        times.append(timeit.timeit(emit, number=number) / number)
        exporter.clear()
    return min(times)


def wrapper_seconds(
    instrument: Callable[[TracerProvider, MeterProvider], Callable[[], None]], *, number: int, repeat: int
) -> float:
    """Best time per call of the instrumentation's wrapper around a call that returns at once, minus that call."""
    from openai.resources.chat.completions import Completions

    sdk = mock_client()
    result = sdk.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=_MESSAGES).parse()  # type: ignore[arg-type]
    arguments = {"model": "gpt-4o-mini", "messages": _MESSAGES}

    def returns_at_once(*args: Any, **kwargs: Any) -> Any:
        return result

    tracer_provider, exporter, meter_provider, _ = _pipeline()
    uninstrument = instrument(tracer_provider, meter_provider)
    try:
        wrapper = Completions.__dict__["create"]._self_wrapper  # wrapt's FunctionWrapper, for every peer here
        times = []
        for _ in range(repeat):
            times.append(
                timeit.timeit(lambda: wrapper(returns_at_once, sdk.chat.completions, (), arguments), number=number)
            )
            exporter.clear()
    finally:
        uninstrument()
    bare = timeit.timeit(lambda: returns_at_once(**arguments), number=number)
    return (min(times) - bare) / number


def _genai_cost(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> Callable[[], None]:
    from genai_cost.instrumentation.openai import OpenAIInstrumentor

    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    return instrumentor.uninstrument


def _openai_v2(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> Callable[[], None]:
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    return instrumentor.uninstrument  # type: ignore[no-any-return]


_STRAIGHT_LINE_PRICES = {"gpt-4o-mini": (0.15e-6, 0.075e-6, 0.6e-6)}
"""Per-token input, cached input and output prices of the models the straight-line wrapper knows."""


def _straight_line(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> Callable[[], None]:
    """genai-cost's telemetry for this call from the least Python that can emit it: one
    function, no configuration, no pricing table (a dict of float prices), no error handling,
    no ``track_usage``, budgets or attribution, nothing for streams or other SDK shapes. Its own
    code is a bound for any instrumentation emitting this telemetry, not a candidate design."""
    import wrapt
    from opentelemetry import context, trace
    from opentelemetry.instrumentation.utils import unwrap

    tracer = tracer_provider.get_tracer("straight-line")
    meter = meter_provider.get_meter("straight-line")
    cost_histogram = meter.create_histogram("gen_ai.client.operation.cost", unit="USD")
    duration_histogram = meter.create_histogram("gen_ai.client.operation.duration", unit="s")
    token_histogram = meter.create_histogram("gen_ai.client.token.usage", unit="{token}")
    base_url = mock_client().base_url
    server = {"server.address": base_url.host, "server.port": base_url.port or 80}

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        requested = kwargs.get("model")
        attributes = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai"}
        attributes["gen_ai.request.model"] = requested
        attributes.update(server)
        started = time.perf_counter()
        span = tracer.start_span(f"chat {requested}", kind=SpanKind.CLIENT, attributes=attributes)
        token = context.attach(trace.set_span_in_context(span))
        try:
            result = wrapped(*args, **kwargs)
        finally:
            context.detach(token)
        usage, model = result.usage, result.model
        prompt, completion = usage.prompt_tokens, usage.completion_tokens
        cached = usage.prompt_tokens_details.cached_tokens
        input_price, cached_price, output_price = _STRAIGHT_LINE_PRICES[model]
        input_cost, cached_cost = (prompt - cached) * input_price, cached * cached_price
        output_cost = completion * output_price
        total = input_cost + cached_cost + output_cost
        span.set_attributes(
            {
                "gen_ai.response.finish_reasons": [choice.finish_reason for choice in result.choices],
                "gen_ai.response.id": result.id,
                "gen_ai.response.model": model,
                "gen_ai.usage.audio.input_tokens": usage.prompt_tokens_details.audio_tokens,
                "gen_ai.usage.audio.output_tokens": usage.completion_tokens_details.audio_tokens,
                "gen_ai.usage.cache_read.input_tokens": cached,
                "gen_ai.usage.cost.amount": total,
                "gen_ai.usage.cost.currency": "USD",
                "gen_ai.usage.cost.source": "local",
                "gen_ai.usage.input_tokens": prompt,
                "gen_ai.usage.output_tokens": completion,
                "gen_ai.usage.reasoning.output_tokens": usage.completion_tokens_details.reasoning_tokens,
                "genai_cost.cost.cache_read": cached_cost,
                "genai_cost.cost.input": input_cost,
                "genai_cost.cost.output": output_cost,
                "genai_cost.pricing.entry": "openai:" + model,
                "genai_cost.pricing.status": "priced",
                "openai.response.service_tier": result.service_tier,
            }
        )
        span.end()
        point = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": requested,
            "gen_ai.response.model": model,
            "server.address": server["server.address"],
        }
        cost_histogram.record(total, point)
        duration_histogram.record(time.perf_counter() - started, point)
        token_histogram.record(prompt, {**point, "gen_ai.token.type": "input"})
        token_histogram.record(completion, {**point, "gen_ai.token.type": "output"})
        return result

    wrapt.wrap_function_wrapper("openai.resources.chat.completions", "Completions.create", wrapper)
    from openai.resources.chat.completions import Completions

    return lambda: unwrap(Completions, "create")


_INSTRUMENTATIONS = {"genai-cost": _genai_cost, "openai-v2": _openai_v2, "straight-line": _straight_line}


def _own_parts() -> tuple[dict[str, Callable[[], object]], Callable[[], None]]:
    """The steps of genai-cost's wrapper on this call, each alone with the arguments it gets
    there (private names: this is our own code's anatomy), and what clears the spans they end.
    Steps marked SDK are the floor's."""
    from inspect import getclosurevars

    from openai.resources.chat.completions import Completions
    from opentelemetry import context
    from opentelemetry.instrumentation.utils import is_instrumentation_enabled

    from genai_cost import attribution, budgets, tracking
    from genai_cost.instrumentation import _core

    tracer_provider, exporter, meter_provider, _ = _pipeline()
    _genai_cost(tracer_provider, meter_provider)
    checked = Completions.__dict__["create"]._self_wrapper
    scope = getclosurevars(getclosurevars(checked).nonlocals["wrapper"]).nonlocals
    telemetry, operation = scope["telemetry"], scope["operation"]
    instance = mock_client().chat.completions
    kwargs = {"model": "gpt-4o-mini", "messages": _MESSAGES}
    result = instance.with_raw_response.create(**kwargs).parse()
    request = operation.read_request(instance, telemetry, (), kwargs)
    response = operation.read_response(result)
    usage, costing, instruments = response.usage, telemetry.costing, telemetry.instruments
    model = response.attributes["gen_ai.response.model"]
    cost = costing.price(usage, model=model, provider="openai", started_ns=time.time_ns(), requested_model=model)
    point = instruments.metric_attributes(request.attributes, response.attributes, attribution=None)
    invocation = telemetry.start(operation, instance, (), kwargs, ())
    tracer = tracer_provider.get_tracer("parts")

    def current() -> None:
        with invocation.activated():
            pass

    parts: dict[str, Callable[[], object]] = {
        "nothing (the loop itself)": lambda: None,
        "whole wrapper": lambda: checked(lambda **_: result, instance, (), kwargs),
        "context checks": lambda: (
            is_instrumentation_enabled(),
            context.get_value(_core.INSIDE_COVERING_CALL),
            tracking.active_trackers(),
            attribution.current(telemetry.settings.attribution_baggage),
            budgets.active(),
        ),
        "read request": lambda: operation.read_request(instance, telemetry, (), kwargs),
        "SDK: start and end the span": lambda: tracer.start_span("chat", attributes=request.attributes).end(),
        "make the span current": current,
        "read response": lambda: operation.read_response(result),
        "Usage.to_attributes": usage.to_attributes,
        "Costing.price": lambda: costing.price(
            usage, model=model, provider="openai", started_ns=time.time_ns(), requested_model=model
        ),
        "Cost.attributes": cost.attributes,
        "metric attributes": lambda: instruments.metric_attributes(request.attributes, response.attributes),
        "Costing.settle (with the SDK's cost record)": lambda: costing.settle(
            cost, usage, provider="openai", model=model, metric_attributes=point, trackers=()
        ),
        "SDK: cost record": lambda: instruments.cost.record(float(cost.amount), point),
        "record tokens (with the SDK's 2 records)": lambda: instruments.record_tokens(usage, point),
    }
    return parts, exporter.clear


_MARK = "genai-cost.benchmark.mark"
"""The audit event that ``--own-parts`` raises around each step's runs: callgrind, told to dump
its counts before every ``sys.audit`` (``--dump-before=sys_audit``), then writes one count per
stretch between two marks, so that one run counts every step."""


def _run_parts(count: int) -> None:
    """Each step of :func:`_own_parts` ``count`` times after 200 warm-up runs, between two marks."""
    parts, clear = _own_parts()
    for step in parts.values():
        for _ in range(200):
            step()
        clear()
        gc.collect()
        sys.audit(_MARK)
        for _ in range(count):
            step()
        sys.audit(_MARK)


def _loop(what: str, name: str, count: int) -> None:
    """``count`` replays (``floor``) or wrapper calls (``wrapper``) after 200 warm-up ones, timing
    nothing: what ``--instructions`` counts under callgrind."""
    instrument = _INSTRUMENTATIONS[name]
    tracer_provider, exporter, meter_provider, _ = _pipeline()
    if what == "floor":
        emitted = capture(instrument)
        tracer = tracer_provider.get_tracer("floor")
        meter = meter_provider.get_meter("floor")
        histograms = {metric: meter.create_histogram(metric) for metric, _, _ in emitted.histogram_records}
        records = [(histograms[metric], value, attributes) for metric, value, attributes in emitted.histogram_records]

        def once() -> None:
            tracer.start_span(emitted.span_name, kind=emitted.span_kind, attributes=emitted.span_attributes).end()
            for histogram, value, attributes in records:
                histogram.record(value, attributes)

    else:
        from openai.resources.chat.completions import Completions

        sdk = mock_client()
        result = sdk.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=_MESSAGES).parse()  # type: ignore[arg-type]
        arguments = {"model": "gpt-4o-mini", "messages": _MESSAGES}
        instrument(tracer_provider, meter_provider)
        wrapper = Completions.__dict__["create"]._self_wrapper

        def returns_at_once(*args: Any, **kwargs: Any) -> Any:
            return result

        def once() -> None:
            wrapper(returns_at_once, sdk.chat.completions, (), arguments)

    for _ in range(200):
        once()
    exporter.clear()
    gc.collect()
    gc.freeze()
    for done in range(count):
        once()
        if done % 500 == 499:
            exporter.clear()


def _instructions(name: str, what: str, count: int) -> float:
    """Instructions per replay or wrapper call, by callgrind: a run of ``count`` minus a run of none."""

    def collected(n: int) -> int:
        command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable]
        command += [str(Path(__file__).resolve()), "--loop", what, name, str(n)]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        found = re.search(r"Collected : (\d+)", done.stderr)
        if found is None:
            raise RuntimeError(done.stderr[-2000:])
        return int(found.group(1))

    return (collected(count) - collected(0)) / count


def _instruction_table(names: list[str], count: int) -> None:
    print(f"instructions per non-streaming chat call (callgrind, {count} calls after 200 warm-up ones)")
    print(f"{'instrumentation':<16} {'SDK floor':>12} {'wrapper':>12} {'own code':>12}")
    own = {}
    for name in names:
        floor, wrapper = _instructions(name, "floor", count), _instructions(name, "wrapper", count)
        own[name] = wrapper - floor
        print(f"{name:<16} {floor:>12,.0f} {wrapper:>12,.0f} {own[name]:>12,.0f}")
    if "openai-v2" in own:
        for name in own.keys() - {"openai-v2"}:
            print(f"{name} / openai-v2, own code: {own[name] / own['openai-v2']:.2f}x")


def _parts_table(count: int) -> None:
    """Instructions per run of each step of genai-cost's wrapper, less the loop's own per run."""
    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory) / "callgrind.out"
        command = ["valgrind", "--tool=callgrind", "--dump-before=sys_audit", f"--callgrind-out-file={out}"]
        command += [sys.executable, str(Path(__file__).resolve()), "--run-parts", str(count)]
        subprocess.run(command, capture_output=True, check=True)
        dumps = sorted(Path(directory).glob("callgrind.out.*"), key=lambda dump: int(dump.suffix[1:]))
        totals = [int(re.search(r"^totals: (\d+)", dump.read_text(), re.M).group(1)) for dump in dumps]  # type: ignore[union-attr]
    names = list(_own_parts()[0])
    # The last two stretches per step are its warm-up and its runs (a library may audit events
    # of its own while loading, before the first mark).
    runs = [total / count for total in totals[-2 * len(names) :][1::2]]
    loop = runs[names.index("nothing (the loop itself)")]
    print(f"instructions per run of each step of genai-cost's wrapper alone ({count} runs after 200 warm-up ones)")
    for name, instructions in zip(names, runs, strict=True):
        print(f"{name:<45} {instructions - loop:>12,.0f}")


def _importable(name: str) -> bool:
    module = {"genai-cost": "genai_cost", "openai-v2": "opentelemetry.instrumentation.openai_v2"}.get(name, "wrapt")
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=2000, help="replays per timing")
    parser.add_argument("--rounds", type=int, default=7, help="alternating timings per instrumentation")
    parser.add_argument(
        "--instructions", type=int, metavar="N", default=0, help="count instructions of N calls with callgrind instead"
    )
    parser.add_argument(
        "--own-parts", type=int, metavar="N", default=0, help="count each step of genai-cost's wrapper alone, N times"
    )
    parser.add_argument("--run-parts", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--loop", nargs=3, metavar=("WHAT", "NAME", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run_parts:
        _run_parts(args.run_parts)
        return 0
    if args.loop:
        _loop(args.loop[0], args.loop[1], int(args.loop[2]))
        return 0

    if args.own_parts:
        _parts_table(args.own_parts)
        return 0
    instrumentations = dict(_INSTRUMENTATIONS)
    if args.instructions:
        _instruction_table([name for name in instrumentations if _importable(name)], args.instructions)
        return 0
    emitted = {}
    for name, instrument in instrumentations.items():
        try:
            emitted[name] = capture(instrument)
        except ImportError as error:
            print(f"{name} not measured: {error}", file=sys.stderr)
    floors: dict[str, list[float]] = {name: [] for name in emitted}
    wrappers: dict[str, list[float]] = {name: [] for name in emitted}
    for _ in range(args.rounds):
        for name, telemetry in emitted.items():
            floors[name].append(replay_seconds(telemetry, number=args.number, repeat=1))
            wrappers[name].append(wrapper_seconds(instrumentations[name], number=args.number, repeat=1))

    def us(values: list[float]) -> str:
        return f"{min(values) * 1e6:.1f} / {statistics.median(values) * 1e6:.1f}"

    print("µs per non-streaming chat call, min / median over rounds")
    header = ("instrumentation", "span attrs", "histograms", "SDK floor", "wrapper", "own code")
    print(f"{header[0]:<16} {header[1]:>10} {header[2]:>10} {header[3]:>16} {header[4]:>16} {header[5]:>9}")
    for name, telemetry in emitted.items():
        own = (min(wrappers[name]) - min(floors[name])) * 1e6
        print(
            f"{name:<16} {len(telemetry.span_attributes):>10} {len(telemetry.histogram_records):>10} "
            f"{us(floors[name]):>16} {us(wrappers[name]):>16} {own:>9.1f}"
        )
    if "openai-v2" in emitted:
        for name in emitted.keys() - {"openai-v2"}:
            for label, figures in (("SDK floor", floors), ("wrapper", wrappers)):
                print(f"{name} / openai-v2, {label}: {min(figures[name]) / min(figures['openai-v2']):.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
