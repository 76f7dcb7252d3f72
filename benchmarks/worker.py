"""One benchmark task for one configuration, run in a fresh interpreter inside its environment.

``python -m benchmarks.worker TASK CONFIGURATION OPTIONS_JSON`` prints one JSON line. Tasks:

* ``calls``: import + instrument time, then µs per non-streaming chat call, per 50-chunk
  stream (with the final usage chunk) and per embeddings call, through the real ``openai``
  client over the in-process mock transport;
* ``rss``: peak RSS (``ru_maxrss``) after N non-streaming calls;
* ``processor``: ``CostSpanProcessor.on_end`` throughput on pre-built spans;
* ``pricing``: one price lookup with genai-cost's table vs ``genai_prices.calc_price``;
* ``loop``: N calls of one operation after a warm-up, timing nothing (``instructions.py``
  runs it under callgrind); ``processor_loop`` likewise for ``CostSpanProcessor.on_end``.

Every configuration gets the same SDK set-up: a ``TracerProvider`` whose spans go through a
``BatchSpanProcessor`` to an exporter that only counts them, and a ``MeterProvider`` with an
``InMemoryMetricReader``, both also set as the global providers. Times are the process's CPU
time (``time.process_time``), not wall-clock time. The process refuses any
non-loopback network connection, so a configuration that tries to go online fails loudly.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import socket
import sys
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from statistics import median
from typing import Any, cast

__all__ = ["PROCESSOR_PARTS", "main"]

# CPU time of the whole process (all threads, so the span processor's worker thread counts):
# on a shared machine, wall-clock time would mostly measure the neighbours.
_clock = time.process_time

_MODEL = "gpt-4o-mini"
_EMBEDDING_MODEL = "text-embedding-3-small"
_MESSAGES = [{"role": "user", "content": "Say hello in one short sentence."}]
_OPENLIT_PRICING = Path(__file__).with_name("openlit_pricing.json")
_VERSIONED = (
    "openai",
    "httpx",
    "httpx2",
    "pydantic",
    "wrapt",
    "opentelemetry-api",
    "opentelemetry-sdk",
    "opentelemetry-instrumentation",
    "genai-cost",
    "genai-prices",
    "opentelemetry-instrumentation-openai-v2",
    "opentelemetry-util-genai",
    "opentelemetry-instrumentation-openai",
    "openlit",
    "openinference-instrumentation-openai",
)


def _refuse_network(event: str, args: tuple[Any, ...]) -> None:
    if event == "socket.connect":
        address = args[1]
        host = address[0] if isinstance(address, tuple) else str(address)
        if not (host.startswith("127.") or host in ("::1", "localhost") or host.startswith("/")):
            raise OSError(f"benchmark is offline: refused connection to {address!r}")
    elif event == "socket.getaddrinfo" and args[0] not in ("localhost", "127.0.0.1", "::1"):
        raise OSError(f"benchmark is offline: refused name lookup of {args[0]!r}")


class _Telemetry:
    """The SDK pipeline every configuration shares; spans end in a counting no-op exporter.

    A ``LoggerProvider`` whose records are discarded is set too: openai-v2 and openlit emit
    GenAI events through it (openlit would print them to the console without one).
    """

    def __init__(self) -> None:
        from opentelemetry import _logs, metrics, trace
        from opentelemetry.sdk._logs import LoggerProvider
        from opentelemetry.sdk._logs.export import (
            BatchLogRecordProcessor,
            LogRecordExporter,
            LogRecordExportResult,
        )
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            SpanExporter,
            SpanExportResult,
        )

        class CountingExporter(SpanExporter):  # type: ignore[misc]
            exported = 0

            def export(self, spans: Sequence[Any]) -> SpanExportResult:
                CountingExporter.exported += len(spans)
                return SpanExportResult.SUCCESS

        class DiscardingLogExporter(LogRecordExporter):  # type: ignore[misc]
            def export(self, batch: Sequence[Any]) -> LogRecordExportResult:
                return LogRecordExportResult.SUCCESS

            def shutdown(self) -> None:
                pass

            def force_flush(self, timeout_millis: int = 30_000) -> bool:
                return True

        self.exporter = CountingExporter()
        self.export_processor = BatchSpanProcessor(self.exporter)
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.tracer_provider = TracerProvider()
        self.logger_provider = LoggerProvider()
        self.logger_provider.add_log_record_processor(BatchLogRecordProcessor(DiscardingLogExporter()))
        trace.set_tracer_provider(self.tracer_provider)
        _logs.set_logger_provider(self.logger_provider)
        metrics.set_meter_provider(self.meter_provider)

    def spans_exported(self) -> int:
        self.tracer_provider.force_flush()
        return int(self.exporter.exported)


# --- configurations: each set up as its README shows, on the shared pipeline ---------------


def _baseline(telemetry: _Telemetry) -> None:
    telemetry.tracer_provider.add_span_processor(telemetry.export_processor)


def _genai_cost(telemetry: _Telemetry) -> None:
    from genai_cost.instrumentation.openai import OpenAIInstrumentor

    telemetry.tracer_provider.add_span_processor(telemetry.export_processor)
    OpenAIInstrumentor().instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)


def _genai_cost_compat_openinference(telemetry: _Telemetry) -> None:
    """The instrumentor with ``GENAI_COST_COMPAT=openinference``: what the compat names cost."""
    from genai_cost.config import ENV, get_settings

    os.environ[ENV.COMPAT] = "openinference"
    get_settings.cache_clear()
    _genai_cost(telemetry)


def _genai_cost_attribution(telemetry: _Telemetry) -> None:
    """The instrumentor with every call made inside ``genai_cost.attribute(tenant=..., feature=...)``
    and ``tenant`` allowlisted for metrics (``GENAI_COST_METRIC_ATTRIBUTION``): what attribution costs."""
    import genai_cost
    from genai_cost.config import ENV, get_settings

    os.environ[ENV.METRIC_ATTRIBUTION] = "tenant"
    get_settings.cache_clear()
    _genai_cost(telemetry)
    genai_cost.attribute(tenant="acme", feature="search").__enter__()  # for the rest of the process


def _genai_cost_processor(telemetry: _Telemetry) -> None:
    from genai_cost.instrumentation.openai import OpenAIInstrumentor
    from genai_cost.processor import CostSpanProcessor

    telemetry.tracer_provider.add_span_processor(
        CostSpanProcessor(telemetry.export_processor, meter_provider=telemetry.meter_provider)
    )
    OpenAIInstrumentor().instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)


def _openai_v2(telemetry: _Telemetry) -> None:
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

    telemetry.tracer_provider.add_span_processor(telemetry.export_processor)
    OpenAIInstrumentor().instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)


def _openllmetry(telemetry: _Telemetry) -> None:
    from opentelemetry.instrumentation.openai import OpenAIInstrumentor

    telemetry.tracer_provider.add_span_processor(telemetry.export_processor)
    OpenAIInstrumentor().instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)


def _openlit(telemetry: _Telemetry) -> None:
    import openlit

    telemetry.tracer_provider.add_span_processor(telemetry.export_processor)
    openlit.init(pricing_json=str(_OPENLIT_PRICING))  # reuses the global providers


def _openinference(telemetry: _Telemetry) -> None:
    from openinference.instrumentation.openai import OpenAIInstrumentor

    telemetry.tracer_provider.add_span_processor(telemetry.export_processor)
    OpenAIInstrumentor().instrument(tracer_provider=telemetry.tracer_provider)


_SETUPS: dict[str, Callable[[_Telemetry], None]] = {
    "baseline": _baseline,
    "genai-cost": _genai_cost,
    "genai-cost+processor": _genai_cost_processor,
    "genai-cost+compat-openinference": _genai_cost_compat_openinference,
    "genai-cost+attribution": _genai_cost_attribution,
    "genai-cost+priority": _genai_cost,
    "openai-v2": _openai_v2,
    "openllmetry": _openllmetry,
    "openlit": _openlit,
    "openinference": _openinference,
}


# --- the workload ----------------------------------------------------------------------------


def _chat(client: Any) -> int:
    client.chat.completions.create(model=_MODEL, messages=_MESSAGES)
    return 1


def _stream(client: Any) -> int:
    stream = client.chat.completions.create(
        model=_MODEL, messages=_MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    return sum(1 for _ in stream)


def _embeddings(client: Any) -> int:
    client.embeddings.create(model=_EMBEDDING_MODEL, input="Say hello.")
    return 1


_OPERATIONS: dict[str, Callable[[Any], int]] = {
    "chat": _chat,
    "stream": _stream,
    "embeddings": _embeddings,
}


_SCENARIOS = {"genai-cost+priority": "cached_priority"}
"""Configurations served another answer than ``mock_openai.DEFAULT_SCENARIO`` (the same usage:
``genai-cost+priority``'s says ``service_tier: priority``, priced at gpt-4o-mini's priority rates)."""


def _set_up(config: str) -> tuple[_Telemetry, Any, float]:
    """Telemetry, instrumented client and the import + instrument time in ms."""
    import openai  # noqa: F401  (the app imports its SDK either way: not part of our time)

    telemetry = _Telemetry()
    started = _clock()
    _SETUPS[config](telemetry)
    setup_ms = (_clock() - started) * 1e3
    from benchmarks import mock_openai

    return telemetry, mock_openai.client(scenario=_SCENARIOS.get(config, mock_openai.DEFAULT_SCENARIO)), setup_ms


def _calls(config: str, options: dict[str, Any]) -> dict[str, Any]:
    telemetry, client, setup_ms = _set_up(config)
    counts = {name: int(options[name]) for name in _OPERATIONS}
    chunks = 0
    for name, operation in _OPERATIONS.items():
        for _ in range(max(1, counts[name] // 4)):
            chunks = operation(client) if name == "stream" else chunks
    spans_before = telemetry.spans_exported()
    timings: dict[str, list[float]] = {name: [] for name in _OPERATIONS}
    for _ in range(int(options["repeats"])):
        for name, operation in _OPERATIONS.items():
            started = _clock()
            for _ in range(counts[name]):
                operation(client)
            timings[name].append((_clock() - started) / counts[name] * 1e6)
    calls = sum(counts.values()) * int(options["repeats"])
    return {
        "setup_ms": setup_ms,
        "us": timings,
        "chunks_per_stream": chunks,
        "spans_per_call": (telemetry.spans_exported() - spans_before) / calls,
    }


def _rss(config: str, options: dict[str, Any]) -> dict[str, Any]:
    telemetry, client, _ = _set_up(config)
    for _ in range(100):
        _chat(client)
    warm_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(int(options["calls"])):
        _chat(client)
    telemetry.spans_exported()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"warm_mib": warm_kb / 1024, "peak_mib": peak_kb / 1024}


def _foreign_spans(count: int) -> dict[str, list[tuple[Any, Any]]]:
    """Per kind of span ``CostSpanProcessor`` sees, ``count`` ended (app span, LLM span under it)
    pairs, one trace each.

    The spans are made by the SDK as a peer instrumentation makes them (attributes in the SDK's
    ``BoundedAttributes``), each LLM span under an app span of its trace (started through the
    processor before the LLM span ends, so the rollup credits it).
    """
    from opentelemetry.sdk.trace import Span, TracerProvider
    from opentelemetry.trace import SpanKind, set_span_in_context

    from genai_cost.semconv import GenAI, Legacy, OpenInference, Operation, Ours, PricingStatus, Provider

    tracer_provider = TracerProvider()
    app = tracer_provider.get_tracer("app")
    peer = tracer_provider.get_tracer("opentelemetry.instrumentation.openai_v2")

    def calls(attributes: dict[str, Any]) -> list[tuple[Span, Span]]:
        pairs = []
        for _ in range(count):
            parent = app.start_span("invoke_agent")
            child = peer.start_span(
                f"chat {_MODEL}", context=set_span_in_context(parent), kind=SpanKind.CLIENT, attributes=attributes
            )
            child.end()
            parent.end()
            pairs.append((cast(Span, parent), cast(Span, child)))  # the SDK's spans
        return pairs

    response = {  # what opentelemetry-instrumentation-openai-v2 writes besides the usage
        GenAI.OPERATION_NAME: Operation.CHAT,
        GenAI.PROVIDER_NAME: Provider.OPENAI,
        GenAI.REQUEST_MODEL: _MODEL,
        GenAI.RESPONSE_MODEL: "gpt-4o-mini-2024-07-18",
        GenAI.RESPONSE_ID: "chatcmpl-benchmark",
        GenAI.RESPONSE_FINISH_REASONS: ("stop",),
        GenAI.SERVER_ADDRESS: "api.openai.com",
        GenAI.SERVER_PORT: 443,
    }
    semconv = {
        **response,
        GenAI.USAGE_INPUT_TOKENS: 1200,
        GenAI.USAGE_OUTPUT_TOKENS: 300,
        GenAI.USAGE_CACHE_READ_INPUT_TOKENS: 200,
    }
    legacy = {**response, Legacy.USAGE_PROMPT_TOKENS: 1200, Legacy.USAGE_COMPLETION_TOKENS: 300}
    openinference = {
        OpenInference.PROVIDER: Provider.OPENAI,
        OpenInference.MODEL_NAME: "gpt-4o-mini-2024-07-18",
        OpenInference.TOKEN_COUNT_PROMPT: 1200,
        OpenInference.TOKEN_COUNT_COMPLETION: 300,
        OpenInference.TOKEN_COUNT_PROMPT_CACHE_READ: 200,
        OpenInference.TOKEN_COUNT_TOTAL: 1500,
    }
    priced = {
        **semconv,
        GenAI.USAGE_COST_AMOUNT: 0.000315,
        GenAI.USAGE_COST_CURRENCY: "USD",
        Ours.PRICING_STATUS: PricingStatus.PRICED,
    }
    return {
        "unpriced_genai_span": calls(semconv),
        "unpriced_genai_span_with_prompt_completion_tokens": calls(legacy),
        "unpriced_openinference_span": calls(openinference),
        "genai_span_priced_already": calls(priced),
        "non_genai_span": calls({"http.request.method": "GET", "url.full": "http://inventory/items"}),
    }


def _discarding_processor() -> Any:
    """A ``CostSpanProcessor`` in front of a processor that drops every span, on its own meter provider."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor

    from genai_cost.processor import CostSpanProcessor

    class Discard(SpanProcessor):  # type: ignore[misc]
        def on_end(self, span: ReadableSpan) -> None:
            pass

    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    return CostSpanProcessor(Discard(), meter_provider=meter_provider), meter_provider


def _processor(config: str, options: dict[str, Any]) -> dict[str, Any]:
    """Spans/s through ``CostSpanProcessor.on_end`` (only the LLM spans' ``on_end`` is timed,
    see :func:`_foreign_spans`), and the floor: one cost ``Histogram.record``."""
    from opentelemetry.sdk.trace import Span

    from genai_cost.metrics import Instruments

    count, repeats = int(options["spans"]), int(options["repeats"])
    kinds = _foreign_spans(count)
    processor, meter_provider = _discarding_processor()

    def seconds(pairs: list[tuple[Span, Span]]) -> float:
        elapsed = 0.0
        for start in range(0, len(pairs), 1000):
            batch = pairs[start : start + 1000]
            for parent, _ in batch:
                processor.on_start(parent)
            started = _clock()
            for _, child in batch:
                processor.on_end(child)
            elapsed += _clock() - started
            for parent, _ in batch:
                processor.on_end(parent)
        return elapsed

    instruments = Instruments(meter_provider, model_limit=1000)
    _, priced_span = kinds["unpriced_genai_span"][0]
    metric_attributes = instruments.metric_attributes(dict(priced_span.attributes or {}))

    def floor_seconds() -> float:
        started = _clock()
        for _ in range(count):
            instruments.cost.record(0.000315, metric_attributes)
        return _clock() - started

    for pairs in kinds.values():  # warm-up: caches, first pricing table load
        seconds(pairs[:100])
    rates: dict[str, list[float]] = {name: [] for name in [*kinds, "histogram_record_floor"]}
    for _ in range(repeats):  # kinds interleaved, so a busy neighbour disturbs them alike
        for name, pairs in kinds.items():
            rates[name].append(len(pairs) / seconds(pairs))
        rates["histogram_record_floor"].append(count / floor_seconds())
    return {name: {"median": median(values), "max": max(values)} for name, values in rates.items()}


def _floor_processor() -> Any:
    """What any processor that prices a foreign span must do, and nothing else: the floor of
    ``CostSpanProcessor.on_end`` on ``unpriced_genai_span``.

    Per span it copies the attributes, adds the attributes ``CostSpanProcessor`` adds to that
    span (found by letting it price one, so the same names and values), records one cost
    histogram point (its metric attributes picked once) and forwards a new ``ReadableSpan``
    as ``CostSpanProcessor`` does. No reading of usage, pricing, rollup or lock.
    """
    from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor

    from genai_cost import processor as cost_processor
    from genai_cost.metrics import Instruments
    from genai_cost.semconv import GenAI
    from genai_cost.span_cost import plain_copy

    real, meter_provider = _discarding_processor()
    forwarded: list[ReadableSpan] = []
    real._next.on_end = forwarded.append
    _, sample = _foreign_spans(1)["unpriced_genai_span"][0]
    real.on_end(sample)
    before = dict(sample.attributes or {})
    added = {name: value for name, value in (forwarded[0].attributes or {}).items() if name not in before}
    amount = added[GenAI.USAGE_COST_AMOUNT]
    cost = Instruments(meter_provider, model_limit=1000).cost
    point = real._instruments.metric_attributes({**before, **added})

    class Floor(SpanProcessor):  # type: ignore[misc]
        def on_end(self, span: ReadableSpan) -> None:
            values = plain_copy(span.attributes or {})
            values.update(added)
            cost.record(amount, point)
            cost_processor._AnnotatedSpan(span, values)

    return Floor()


PROCESSOR_PARTS = (
    "span_cost.price",
    "watched keys",
    "copy attributes",
    "read usage",
    "Costing.price",
    "Costing.price: match entry",
    "Costing.price: calculate",
    "metric attributes",
    "Costing.settle",
    "Costing.settle: cost Histogram.record",
    "Cost.attributes",
    "forwarded span",
)
"""The steps of pricing a foreign span that ``instructions.py --processor-parts`` counts
(:func:`_processor_parts`); ``span_cost.price`` holds all but the first and last two."""


def _processor_parts(processor: Any, span: Any) -> dict[str, Callable[[], object]]:
    """The steps of ``CostSpanProcessor.on_end`` pricing ``span`` (an ``unpriced_genai_span``),
    each alone with the arguments it gets there (private names: this is our own code's anatomy)."""
    from genai_cost import processor as cost_processor
    from genai_cost import span_cost
    from genai_cost.pricing.calculate import calculate
    from genai_cost.semconv import GenAI
    from genai_cost.usage import usage_from_attributes

    attributes = span.attributes
    costing = processor._span_costing._costing
    instruments = processor._instruments
    values = span_cost.plain_copy(attributes)
    usage = usage_from_attributes(values)
    model, requested = values[GenAI.RESPONSE_MODEL], values[GenAI.REQUEST_MODEL]
    table = costing.pricing
    when = span.start_time / 1e9
    entry = table.match_epoch(model, "openai", when, None)
    cost = costing.price(usage, model=model, provider="openai", started_ns=span.start_time, requested_model=requested)
    point = instruments.metric_attributes(values)
    watched = span_cost.WATCHED_KEYS.intersection(attributes)
    parts: dict[str, Callable[[], object]] = {
        "span_cost.price": lambda: processor._span_costing.price(
            attributes, watched, started_ns=span.start_time, succeeded=True
        ),
        "watched keys": lambda: span_cost.WATCHED_KEYS.intersection(attributes),
        "copy attributes": lambda: span_cost.plain_copy(attributes),
        "read usage": lambda: usage_from_attributes(values),
        "Costing.price": lambda: costing.price(
            usage, model=model, provider="openai", started_ns=span.start_time, requested_model=requested
        ),
        "Costing.price: match entry": lambda: table.match_epoch(model, "openai", when, None),
        "Costing.price: calculate": lambda: calculate(usage, entry),
        "metric attributes": lambda: instruments.metric_attributes(values),
        "Costing.settle": lambda: costing.settle(cost, usage, provider="openai", model=model, metric_attributes=point),
        "Costing.settle: cost Histogram.record": lambda: instruments.cost.record(float(cost.amount), point),
        "Cost.attributes": cost.attributes,
        "forwarded span": lambda: cost_processor._AnnotatedSpan(span, values),
    }
    assert tuple(parts) == PROCESSOR_PARTS
    return parts


def _processor_loop(config: str, options: dict[str, Any]) -> dict[str, Any]:
    """``CostSpanProcessor.on_end`` on ``count`` LLM spans of one kind (:func:`_foreign_spans`),
    after 20 warm-up spans, timing nothing: run under an instruction counter. Kind
    ``processor_floor``: :func:`_floor_processor` on ``unpriced_genai_span``; with ``part``, that
    step of pricing an ``unpriced_genai_span`` (:func:`_processor_parts`) ``count`` times instead.

    The same spans are built whatever ``count`` (a pool of ``pool``), so that the difference
    between two counts is ``on_end`` alone; every app span is started through the processor first.
    """
    pool, count = int(options.get("pool", 220)), int(options["count"])
    floor = options["kind"] == "processor_floor"
    pairs = _foreign_spans(pool)["unpriced_genai_span" if floor else options["kind"]]
    processor = _floor_processor() if floor else _discarding_processor()[0]
    for parent, _ in pairs:
        processor.on_start(parent)
    for _, child in pairs[:20]:
        processor.on_end(child)
    part = _processor_parts(processor, pairs[-1][1])[options["part"]] if "part" in options else None
    gc.collect()
    gc.freeze()
    if part is not None:
        for _ in range(count):
            part()
        return {"chunks": 1}
    for _, child in pairs[20 : 20 + count]:
        processor.on_end(child)
    return {"chunks": 1}


def _pricing(config: str, options: dict[str, Any]) -> dict[str, Any]:
    """CPU µs per warm lookup + calculation, on ``bench_pricing``'s models, usage and timer."""
    import genai_prices

    from benchmarks import bench_pricing
    from genai_cost.pricing import PricingTable
    from genai_cost.usage import Usage

    table = PricingTable.default()
    ours = Usage(**bench_pricing.USAGE)
    theirs = genai_prices.Usage(**bench_pricing.USAGE)
    at = bench_pricing.AT

    def run_ours() -> None:
        for model, provider, _ in bench_pricing.CALLS:
            table.cost(ours, model, provider, at)

    def run_theirs() -> None:
        for model, _, provider_id in bench_pricing.CALLS:
            genai_prices.calc_price(theirs, model, provider_id=provider_id, genai_request_timestamp=at)

    run_ours(), run_theirs()  # warm both caches
    ours_us, theirs_us = bench_pricing.per_call_us(run_ours, run_theirs)
    return {"genai-cost": ours_us, "genai-prices": theirs_us, "models": len(bench_pricing.CALLS)}


def _loop(config: str, options: dict[str, Any]) -> dict[str, Any]:
    """Warm up, then ``count`` untimed calls of one operation: run under an instruction counter.

    The heap is frozen after the warm-up: a full collection walks every object the app ever
    made, so when one happens to fall inside the counted calls it moves the count by more than
    a call costs; frozen, collections see only what the calls allocate.
    """
    _, client, _ = _set_up(config)
    operation = _OPERATIONS[options["operation"]]
    chunks = 0
    for _ in range(20):
        chunks = operation(client)
    gc.collect()
    gc.freeze()
    for _ in range(int(options["count"])):
        operation(client)
    return {"chunks": chunks}


_TASKS: dict[str, Callable[[str, dict[str, Any]], dict[str, Any]]] = {
    "calls": _calls,
    "loop": _loop,
    "rss": _rss,
    "processor": _processor,
    "processor_loop": _processor_loop,
    "pricing": _pricing,
}


def _versions() -> dict[str, str]:
    found = {"python": sys.version.split()[0]}
    genai_cost = sys.modules.get("genai_cost")
    if genai_cost is not None:
        found["genai_cost_path"] = str(Path(genai_cost.__file__ or "").parent)
    for name in _VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def main(argv: Sequence[str]) -> None:
    task, config, options = argv[0], argv[1], json.loads(argv[2])
    sys.addaudithook(_refuse_network)
    socket.setdefaulttimeout(1)
    print(json.dumps({"result": _TASKS[task](config, options), "versions": _versions()}))


if __name__ == "__main__":
    main(sys.argv[1:])
