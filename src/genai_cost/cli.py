"""The ``genai-cost`` command line: look up prices, cost a usage or a batch, manage pricing files.

Each subcommand is one ``_add_<name>`` function registering its arguments and one
``_run_<name>`` function doing the work; :func:`main` dispatches. Exit codes: 0 ok,
2 bad usage or bad input (one line on stderr), 3 unknown model, 141 the reader of the output
went away (``genai-cost pricing list | head``: the code a shell reports for a tool that
SIGPIPE stopped, and nothing on stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NoReturn

from genai_cost._install import pip_install
from genai_cost._text import counted, plain_decimal
from genai_cost.config import get_settings
from genai_cost.pricing import (
    CostBreakdown,
    PriceEntry,
    PricingError,
    PricingTable,
    Rates,
    Tier,
    calculate,
)
from genai_cost.pricing.loader import load_file
from genai_cost.pricing.providers import KNOWN_PROVIDERS, canonical_provider
from genai_cost.pricing.units import UNITS
from genai_cost.semconv import PricingStatus
from genai_cost.usage import Usage

if TYPE_CHECKING:
    from genai_cost.batch import BatchCost
    from genai_cost.pricing.documents import Layer

__all__ = ["EXIT_BAD_INPUT", "EXIT_BROKEN_PIPE", "EXIT_OK", "EXIT_UNKNOWN_MODEL", "build_parser", "main"]

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_UNKNOWN_MODEL = 3
EXIT_BROKEN_PIPE = 128 + 13  # 128 + SIGPIPE, as a shell reports `cat big | head`

_Handler = Callable[[argparse.Namespace], int]


class _BadInput(Exception):
    """A user error reported as one line on stderr with exit code 2."""


class _ParserDone(Exception):
    """argparse did the whole command itself (``--help``) and ends with ``status``."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (see ``--help`` for usage)."""

    def error(self, message: str) -> NoReturn:
        raise _BadInput(f"{message} (see {self.prog} --help)")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            self._print_message(message, sys.stderr)
        raise _ParserDone(status)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    try:
        code = _run(argv)
        sys.stdout.flush()  # a closed pipe shows up here, not in the interpreter's exit
    except BrokenPipeError:
        # Later writes (the interpreter flushes stdout at exit) must not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    return code


def _run(argv: Sequence[str] | None) -> int:
    try:
        args = build_parser().parse_args(argv)
        handler: _Handler = args.handler
        return handler(args)
    except (_BadInput, PricingError) as exc:
        print(f"genai-cost: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except _ParserDone as done:
        return done.status


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; add a subcommand with one more ``_add_*`` call."""
    parser = _Parser(prog="genai-cost", description="Token usage and cost of LLM calls.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_price(commands)
    _add_cost(commands)
    _add_batch_cost(commands)
    _add_pricing(commands)
    _add_demo(commands)
    _add_gateway(commands)
    return parser


# --- genai-cost price ------------------------------------------------------------------------


def _add_price(commands: Any) -> None:
    parser = commands.add_parser("price", help="show the price entry that applies to a model")
    parser.add_argument("model", metavar="MODEL", help="model name as sent or reported")
    _add_lookup_options(parser)
    parser.set_defaults(handler=_run_price)


def _run_price(args: argparse.Namespace) -> int:
    provider = _provider(args.provider)
    entry = _table(args.pricing).entry(args.model, provider, args.at)
    if args.json:
        _print_json(
            {
                "status": PricingStatus.PRICED if entry else PricingStatus.UNKNOWN_MODEL,
                "model": args.model,
                "provider": provider,
                "entry": entry.to_json() if entry else None,
            }
        )
    elif entry is None:
        print(_unknown(args.model, provider))
    else:
        _print_entry(entry)
    return EXIT_OK if entry else EXIT_UNKNOWN_MODEL


def _print_entry(entry: PriceEntry) -> None:
    print(f"{entry.name}  [{entry.id}]")
    print(f"  provider   {entry.provider or 'any'}")
    print(f"  match      {json.dumps(entry.match.to_json())}")
    for key, value, per in _rate_rows(entry.rates):
        print(f"  {key:<34} {_amount(value, entry.currency)} {per}")
    for tier in entry.tiers:
        print(f"  above {tier.above_input_tokens} input tokens:")
        for key, value, per in _rate_rows(tier.rates):
            print(f"    {key:<32} {_amount(value, entry.currency)} {per}")
    if entry.per_request is not None:
        print(f"  per request  {_amount(entry.per_request, entry.currency)}")
    for window in entry.time_of_day:
        start, end = (clock.isoformat(timespec="minutes") for clock in (window.start, window.end))
        print(f"  from {start} to {end} UTC (all prices replaced):")
        _print_prices(window.rates, window.tiers, window.per_request, entry.currency)
    for variant in entry.variants:
        when = ", ".join(f"{key}={value}" for key, value in variant.when.items())
        since = f", from {variant.valid_from.date()}" if variant.valid_from else ""
        print(f"  with {when}{since}:" if variant.rates.to_json() or variant.per_request else f"  with {when}: same")
        _print_prices(variant.rates, variant.tiers, variant.per_request, entry.currency)
    if entry.valid_from is not None:
        print(f"  valid from {entry.valid_from.isoformat()}")
    for label, text in (("source", entry.source), ("notes", entry.notes)):
        if text:
            print(f"  {label:<10} {text}")


def _print_prices(rates: Rates, tiers: tuple[Tier, ...], per_request: Decimal | None, currency: str) -> None:
    """The prices of a time-of-day window or a variant, indented under its heading."""
    for key, value, per in _rate_rows(rates):
        print(f"    {key:<32} {_amount(value, currency)} {per}")
    for tier in tiers:
        for key, value, per in _rate_rows(tier.rates):
            print(f"    above {tier.above_input_tokens}: {key:<20} {_amount(value, currency)} {per}")
    if per_request is not None:
        print(f"    per request  {_amount(per_request, currency)}")


def _rate_rows(rates: Rates) -> list[tuple[str, Decimal, str]]:
    """(where the price sits in the file, price, what it is per) of each price ``rates`` sets."""
    rows = []
    for unit in UNITS:
        price = rates.price_of(unit)
        if price is not None:
            rows.append((unit.path, price, unit.per_label))
    return rows


# --- genai-cost cost -------------------------------------------------------------------------


def _add_cost(commands: Any) -> None:
    parser = commands.add_parser("cost", help="compute the cost of one call's token usage")
    parser.add_argument("--model", required=True, metavar="MODEL", help="model name as sent or reported")
    parser.add_argument(
        "--input-tokens", type=_count, required=True, metavar="N", help="all input tokens, cached ones included"
    )
    parser.add_argument(
        "--output-tokens", type=_count, required=True, metavar="N", help="all output tokens, reasoning included"
    )
    parser.add_argument(
        "--cache-read-tokens", type=_count, metavar="N", help="of the input tokens, those read from the prompt cache"
    )
    parser.add_argument(
        "--cache-creation-tokens", type=_count, metavar="N", help="of the input tokens, those written to the cache"
    )
    parser.add_argument("--reasoning-tokens", type=_count, metavar="N", help="of the output tokens, reasoning ones")
    for option, (field, help_text) in _MORE_COUNTS.items():
        parser.add_argument(option, type=_count, metavar="N", dest=field, help=help_text)
    parser.add_argument(
        "--context",
        type=_context_item,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="pricing context the provider served, repeatable: service_tier=flex, processing=batch, speed=fast",
    )
    _add_lookup_options(parser)
    parser.set_defaults(handler=_run_cost)


_MORE_COUNTS: dict[str, tuple[str, str]] = {
    "--cache-creation-5m-tokens": ("cache_creation_5m_tokens", "of the cache writes, those kept 5 minutes"),
    "--cache-creation-1h-tokens": ("cache_creation_1h_tokens", "of the cache writes, those kept 1 hour"),
    "--text-input-tokens": ("input_text_tokens", "of the input tokens, text ones"),
    "--audio-input-tokens": ("input_audio_tokens", "of the input tokens, audio ones (cached included)"),
    "--image-input-tokens": ("input_image_tokens", "of the input tokens, image ones (cached included)"),
    "--video-input-tokens": ("input_video_tokens", "of the input tokens, video ones"),
    "--cache-audio-read-tokens": ("cache_audio_read_tokens", "of the cache reads, audio ones"),
    "--cache-image-read-tokens": ("cache_image_read_tokens", "of the cache reads, image ones"),
    "--audio-output-tokens": ("output_audio_tokens", "of the output tokens, audio ones"),
    "--image-output-tokens": ("output_image_tokens", "of the output tokens, image ones"),
    "--video-output-tokens": ("output_video_tokens", "of the output tokens, video ones"),
    "--citation-tokens": ("citation_tokens", "of the output tokens, citation ones"),
    "--web-searches": ("web_searches", "web searches the provider ran"),
    "--file-searches": ("storage_searches", "file-search tool calls the provider ran"),
    "--audio-seconds": ("audio_seconds", "seconds of audio processed"),
    "--input-audio-seconds": ("input_audio_seconds", "of those, seconds of input audio"),
    "--input-characters": ("input_characters", "input characters (text to speech)"),
    "--document-pages": ("input_document_pages", "document pages read (OCR)"),
    "--annotated-document-pages": ("input_annotated_document_pages", "of those, pages read with annotations"),
    "--text-messages": ("input_text_messages", "input text messages"),
}
"""Options for the counts beyond the plain token ones: option -> (``Usage`` field, help)."""


def _run_cost(args: argparse.Namespace) -> int:
    provider = _provider(args.provider)
    cached = {"--cache-read-tokens": args.cache_read_tokens, "--cache-creation-tokens": args.cache_creation_tokens}
    _warn_if_parts_exceed("--input-tokens", args.input_tokens, cached)
    _warn_if_parts_exceed("--output-tokens", args.output_tokens, {"--reasoning-tokens": args.reasoning_tokens})
    usage = Usage(
        input_tokens=args.input_tokens,
        output_tokens=args.output_tokens,
        cache_read_tokens=args.cache_read_tokens,
        cache_creation_tokens=args.cache_creation_tokens,
        reasoning_tokens=args.reasoning_tokens,
        **{field: getattr(args, field) for field, _ in _MORE_COUNTS.values()},
    )
    context = dict(args.context)
    entry = _table(args.pricing).match(args.model, provider, args.at, context)
    breakdown = calculate(usage, entry) if entry else None
    if args.json:
        _print_json({**_cost_json(args.model, provider, entry, breakdown), "context": context})
    elif entry is None or breakdown is None:
        print(_unknown(args.model, provider))
    else:
        _print_cost(entry, breakdown, context)
    return EXIT_OK if entry else EXIT_UNKNOWN_MODEL


def _warn_if_parts_exceed(whole_option: str, whole: int, parts: dict[str, int | None]) -> None:
    """Warn when counts that are part of ``whole`` add up to more than it (a common misreading)."""
    given = {option: count for option, count in parts.items() if count is not None}
    if sum(given.values()) > whole:
        exceed, them = ("exceeds", "it") if len(given) == 1 else ("exceed", "them")
        print(
            f"genai-cost: warning: {' + '.join(given)} ({sum(given.values())}) {exceed} {whole_option} ({whole}), "
            f"which includes {them} (see genai-cost cost --help)",
            file=sys.stderr,
        )


def _cost_json(
    model: str, provider: str | None, entry: PriceEntry | None, cost: CostBreakdown | None
) -> dict[str, Any]:
    return {
        "status": PricingStatus.PRICED if cost else PricingStatus.UNKNOWN_MODEL,
        "model": model,
        "provider": provider,
        "entry": {"id": entry.id, "name": entry.name} if entry else None,
        "currency": cost.currency if cost else None,
        "total": plain_decimal(cost.total) if cost else None,
        "input_cost": plain_decimal(cost.input_cost) if cost else None,
        "output_cost": plain_decimal(cost.output_cost) if cost else None,
        "breakdown": {k: plain_decimal(v) for k, v in cost.by_type.items()} if cost else {},
        "tier": cost.tier if cost else None,
    }


def _print_cost(entry: PriceEntry, cost: CostBreakdown, context: dict[str, str]) -> None:
    print(f"{entry.name}  [{entry.id}]")
    if context:
        print("  (" + ", ".join(f"{key}={value}" for key, value in context.items()) + ")")
    order = {unit.key: position for position, unit in enumerate(UNITS)}
    for key, amount in sorted(cost.by_type.items(), key=lambda item: order.get(item[0], len(order))):
        print(f"  {key:<18} {_amount(amount, cost.currency)}")
    if cost.tier is not None:
        print(f"  (prices above {cost.tier} input tokens)")
    print(f"  {'total':<18} {_amount(cost.total, cost.currency)}")


# --- genai-cost batch-cost ------------------------------------------------------------------


def _add_batch_cost(commands: Any) -> None:
    parser = commands.add_parser(
        "batch-cost", help="price an OpenAI Batch output or Anthropic Message Batches results file at batch rates"
    )
    parser.add_argument("file", metavar="FILE", help="the results file (JSONL)")
    parser.add_argument(
        "--at", type=_when, metavar="DATE", help="when the batch ran, for results that do not say (default: now)"
    )
    parser.add_argument(
        "--pricing", nargs="+", default=[], action="extend", metavar="FILE", help="pricing files to layer on top"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--export",
        action="store_true",
        help="also send a span per request (and the cost and token metrics) over OTLP, configured "
        "by the standard OTEL_* variables, as opentelemetry-instrument would",
    )
    parser.set_defaults(handler=_run_batch_cost)


def _run_batch_cost(args: argparse.Namespace) -> int:
    from genai_cost.batch import BatchResultsError, price_batch_results

    try:
        batch = price_batch_results(args.file, pricing=_table(args.pricing), at=args.at)
    except BatchResultsError as exc:
        raise _BadInput(f"{args.file}: {exc}") from None
    exported = _export_batch(args) if args.export else None
    if args.json:
        _print_json(batch.to_json() if exported is None else {**batch.to_json(), "exported_spans": exported})
    else:
        _print_batch(batch)
        if exported is not None:
            print(f"exported {counted(exported, 'request span')} under one batch span, with their metrics")
    return EXIT_UNKNOWN_MODEL if batch.unknown_models else EXIT_OK


def _export_batch(args: argparse.Namespace) -> int:
    """The results as spans and metrics, through the pipeline ``opentelemetry-instrument``
    would build from the environment; flushed before returning."""
    from opentelemetry import metrics, trace

    from genai_cost.autoinstrument import GenAICostConfigurator, GenAICostDistro
    from genai_cost.batch_export import export_batch_results

    os.environ.setdefault("OTEL_SERVICE_NAME", "genai-cost-batch")
    GenAICostDistro().configure()
    GenAICostConfigurator().configure()  # type: ignore[no-untyped-call]
    tracer_provider, meter_provider = trace.get_tracer_provider(), metrics.get_meter_provider()
    try:
        return export_batch_results(
            args.file,
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
            pricing=_table(args.pricing),
            at=args.at,
            name=os.path.basename(args.file),
        )
    finally:
        for provider in (tracer_provider, meter_provider):
            shutdown = getattr(provider, "shutdown", None)  # the SDK's providers flush on shutdown
            if shutdown is not None:
                shutdown()


_BATCH_HEADER = ("MODEL", "PROVIDER", "REQUESTS", "INPUT", "CACHED", "OUTPUT", "COST")


def _print_batch(batch: BatchCost) -> None:
    rows: list[tuple[str, ...]] = [_BATCH_HEADER]
    for model in batch.models:
        usage = model.usage
        cost = "unknown model" if model.cost is None else _amount(model.cost, model.currency)
        counts = (model.requests, usage.input_tokens, usage.cache_read_tokens, usage.output_tokens)
        rows.append((model.model, model.provider, *(str(count or 0) for count in counts), cost))
    totals = batch.totals or {"USD": Decimal(0)}
    rows.extend(("TOTAL", "", str(batch.requests), "", "", "", _amount(total, cur)) for cur, total in totals.items())
    widths = [max(len(row[column]) for row in rows) for column in range(len(_BATCH_HEADER))]
    for line in rows:  # names left-aligned, numbers right-aligned
        cells = [cell.ljust(width) if column < 2 else cell.rjust(width) for column, (cell, width) in
                 enumerate(zip(line, widths, strict=True))]  # fmt: skip
        print("  ".join(cells).rstrip())
    print("priced at batch rates (processing=batch)")
    if batch.failed:
        reasons = ", ".join(f"{count} x {reason}" for reason, count in batch.failed.items())
        print(f"not priced: {counted(sum(batch.failed.values()), 'failed request')} ({reasons})")
    for row in batch.unknown_models:
        print(f"not priced: {counted(row.requests, 'request')} of {_unknown(row.model, row.provider)}")


# --- genai-cost pricing {validate,list,sync,diff,info} --------------------------------------


def _add_pricing(commands: Any) -> None:
    parser = commands.add_parser("pricing", help="validate, list or regenerate pricing tables")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    validate = actions.add_parser(
        "validate", help="check pricing files (JSON or TOML), their entries and context variants ('when')"
    )
    validate.add_argument("files", nargs="+", metavar="FILE", help="pricing files to check")
    validate.set_defaults(handler=_run_validate)

    listing = actions.add_parser("list", help="list the entries in force (prices per 1M tokens)")
    listing.add_argument("--provider", metavar="P", help="only this gen_ai.provider.name (or an alias)")
    listing.add_argument(
        "--pricing", nargs="+", default=[], action="extend", metavar="FILE", help="pricing files to layer on top"
    )
    listing.set_defaults(handler=_run_list)

    sync = actions.add_parser("sync", help="regenerate the bundled table from genai-prices")
    sync.add_argument("--output", metavar="PATH", help="write here instead of the bundled file")
    sync.set_defaults(handler=_run_sync)

    where = "a pricing file, an http(s) URL (ours or genai-prices' data JSON), 'bundled' or 'genai-prices'"
    diff = actions.add_parser("diff", help="compare two tables: entries added and removed, prices changed")
    diff.add_argument("old", metavar="OLD", help=where)
    diff.add_argument("new", metavar="NEW", help=where + " (the installed package's data)")
    diff.add_argument("--json", action="store_true", help="print one JSON object")
    diff.set_defaults(handler=_run_diff)

    info = actions.add_parser(
        "info", help="the table a process would price with here: sources, version, age, entries (checks the URL)"
    )
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.set_defaults(handler=_run_info)


def _run_validate(args: argparse.Namespace) -> int:
    failed = False
    for path in args.files:
        try:
            entries = load_file(path)
        except PricingError as exc:
            for problem in exc.problems:
                print(f"genai-cost: error: {problem}", file=sys.stderr)
            failed = True
        else:
            variants = sum(len(entry.variants) for entry in entries)
            counts = counted(len(entries), "entry", "entries") + (
                f", {counted(variants, 'variant')}" if variants else ""
            )
            print(f"{path}: ok ({counts})")
    return EXIT_BAD_INPUT if failed else EXIT_OK


_LIST_HEADER = ("PROVIDER", "$/1M IN", "$/1M OUT", "FROM", "ID")


def _run_list(args: argparse.Namespace) -> int:
    provider = _provider(args.provider)
    rows = [_LIST_HEADER]
    for entry in _table(args.pricing).entries:
        if provider is None or entry.provider == provider:
            rows.append(
                (
                    entry.provider or "any",
                    _optional(entry.rates.input, entry.currency),
                    _optional(entry.rates.output, entry.currency),
                    str(entry.valid_from.date()) if entry.valid_from else "",
                    entry.id,
                )
            )
    widths = [max(len(row[column]) for row in rows) for column in range(len(_LIST_HEADER) - 1)]
    for *aligned, last in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(aligned, widths, strict=True)) + "  " + last)
    return EXIT_OK


def _run_sync(args: argparse.Namespace) -> int:
    from genai_cost.pricing.sync import sync
    from genai_cost.pricing.table import BUNDLED_PATH

    try:
        report = sync(args.output or BUNDLED_PATH)
    except ImportError:
        raise _BadInput(f"pricing sync needs the extra: {pip_install('sync')}") from None
    written = f"{counted(report.entries, 'entry', 'entries')} ({counted(report.models, 'genai-prices model')})"
    print(f"wrote {written} to {args.output or BUNDLED_PATH}")
    for reason, count in sorted(report.skipped.items()):
        print(f"  left out: {count} x {reason}")
    print(f"  providers without a gen_ai.provider.name mapping: {len(report.skipped_providers)}")
    print(f"  API URL patterns (provider detection): {report.hosts}")
    print(f"  free (no price listed, written at 0): {report.free}")
    return EXIT_OK


def _run_diff(args: argparse.Namespace) -> int:
    from genai_cost.pricing.diff import diff_entries
    from genai_cost.pricing.documents import load_layer

    old, new = load_layer(args.old), load_layer(args.new)
    result = diff_entries(old.entries, new.entries)
    if args.json:
        sides = {side: _layer_json(layer) for side, layer in (("old", old), ("new", new))}
        _print_json({**sides, **result.to_json()})
        return EXIT_OK
    for side, layer in (("old", old), ("new", new)):
        print(f"{side}: {layer.provenance.version} ({counted(len(layer.entries), 'entry', 'entries')})")
    print(f"added: {counted(len(result.added), 'entry', 'entries')}")
    for entry in result.added:
        print(f"  + {entry.id}  in {_optional(entry.rates.input)}  out {_optional(entry.rates.output)}")
    print(f"removed: {counted(len(result.removed), 'entry', 'entries')}")
    for entry in result.removed:
        print(f"  - {entry.id}")
    print(f"changed: {counted(len(result.changed), 'entry', 'entries')}")
    for item in result.changed:
        print(f"  ~ {item.entry_id}")
        for change in item.changes:
            print(f"      {change.field}: {_shown(change.old)} -> {_shown(change.new)}")
    return EXIT_OK


def _layer_json(layer: Layer) -> dict[str, Any]:
    return {"source": layer.provenance.source, "version": layer.provenance.version, "entries": len(layer.entries)}


def _shown(value: object) -> str:
    return "-" if value is None else str(value)


def _run_info(args: argparse.Namespace) -> int:
    from genai_cost.pricing.documents import load_layer, read_layer

    settings = get_settings()
    files = [read_layer(path, genai_prices=False) for path in settings.pricing_files]
    refreshed: Layer | None = None
    refresh = "off (GENAI_COST_PRICING_URL is not set)"
    if settings.pricing_url is not None:
        every = f"every {settings.pricing_refresh:g} s"
        try:
            refreshed = load_layer(settings.pricing_url)
            refresh = f"{settings.pricing_url} {every}: checked now, ok"
        except PricingError as exc:
            refresh = f"{settings.pricing_url} {every}: checked now, FAILED ({exc}); not in the table below"
    layers = [refreshed, *files] if refreshed is not None else files
    dated = (refreshed.provenance.dated or datetime.now(timezone.utc)) if refreshed is not None else None
    table = PricingTable.of_layers(layers, aliases=settings.model_aliases, generated_at=dated)
    age = None if table.generated_at is None else (datetime.now(timezone.utc) - table.generated_at).total_seconds()
    sources = [layer.source for layer in table.provenance]
    info: dict[str, Any] = {
        "sources": sources,
        "version": table.version,
        "generated_at": None if table.generated_at is None else table.generated_at.isoformat(),
        "age_seconds": age,
        "entries": len(table.entries),
        "refresh": refresh,
    }
    if args.json:
        _print_json(info)
        return EXIT_OK
    print(f"sources    {' < '.join(sources)}")
    print(f"version    {table.version}")
    generated = "unknown" if age is None else f"{info['generated_at']} ({_duration(age)} ago)"
    print(f"generated  {generated}")
    print(f"entries    {info['entries']}")
    print(f"refresh    {refresh}")
    return EXIT_OK


def _duration(seconds: float) -> str:
    minutes, _ = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


# --- genai-cost demo -------------------------------------------------------------------------


def _add_demo(commands: Any) -> None:
    parser = commands.add_parser("demo", help="run a small openai-SDK app under auto-instrumentation, show its cost")
    parser.set_defaults(handler=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    try:
        from genai_cost.demo.app import main as demo
    except ImportError:
        raise _BadInput(f"the demo makes real openai-SDK calls: {pip_install('openai')}") from None
    return demo()


# --- genai-cost gateway rotel ----------------------------------------------------------------


def _add_gateway(commands: Any) -> None:
    parser = commands.add_parser("gateway", help="price GenAI spans in a collector (for services in any language)")
    collectors = parser.add_subparsers(dest="collector", required=True, metavar="COLLECTOR")
    rotel = collectors.add_parser(
        "rotel", help="print the command line that starts rotel with genai-cost's trace processor"
    )
    rotel.add_argument("--grpc-endpoint", default="0.0.0.0:4317", metavar="HOST:PORT", help="OTLP/gRPC receiver")
    rotel.add_argument("--http-endpoint", default="0.0.0.0:4318", metavar="HOST:PORT", help="OTLP/HTTP receiver")
    # Required: a default of localhost:4317 would export into rotel's own receiver, in a loop.
    rotel.add_argument(
        "--exporter-endpoint", required=True, metavar="URL", help="where rotel exports the priced spans (OTLP)"
    )
    rotel.add_argument("--exporter-protocol", choices=("grpc", "http"), default="grpc", help="OTLP over gRPC or HTTP")
    rotel.add_argument("--json", action="store_true", help="print one JSON object (argv, env, processor)")
    rotel.set_defaults(handler=_run_gateway_rotel)


def _run_gateway_rotel(args: argparse.Namespace) -> int:
    import shlex

    from genai_cost.gateway.launch import rotel_launch

    _table(())  # a bad pricing file fails here, not when rotel starts
    launch = rotel_launch(
        environ=os.environ,
        grpc_endpoint=args.grpc_endpoint,
        http_endpoint=args.http_endpoint,
        exporter_endpoint=args.exporter_endpoint,
        exporter_protocol=args.exporter_protocol,
    )
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    if launch.embedded_python is not None and launch.embedded_python != here:
        print(
            f"genai-cost: warning: rotel runs processors on Python {launch.embedded_python}, this genai-cost is "
            f"installed for Python {here}: install it for {launch.embedded_python} "
            f"(pip install --target DIR genai-cost) and put DIR on PYTHONPATH",
            file=sys.stderr,
        )
    if args.json:
        _print_json(
            {
                "argv": list(launch.argv),
                "env": launch.env,
                "processor": str(launch.processor),
                "embedded_python": launch.embedded_python,
            }
        )
        return EXIT_OK
    print(f"# rotel with genai-cost's trace processor (rotel's Python: {launch.embedded_python or 'unknown'})")
    print(f"# processor: {launch.processor}")
    print(shlex.join(["env", *(f"{name}={value}" for name, value in launch.env.items()), *launch.argv]))
    return EXIT_OK


# --- shared helpers --------------------------------------------------------------------------


def _add_lookup_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--provider", metavar="P", help="gen_ai.provider.name (or an alias)")
    parser.add_argument("--at", type=_when, metavar="DATE", help="call time (ISO date/datetime)")
    parser.add_argument(
        "--pricing",
        nargs="+",
        default=[],
        action="extend",
        metavar="FILE",
        help="pricing files layered over the bundled table and GENAI_COST_PRICING_FILE",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _table(extra_files: Sequence[str]) -> PricingTable:
    """The bundled table with the configured and the given files; bad files are errors here."""
    settings = get_settings()
    return PricingTable.load(files=(*settings.pricing_files, *extra_files), aliases=settings.model_aliases)


def _provider(name: str | None) -> str | None:
    if name is None:
        return None
    provider = canonical_provider(name)
    if provider is None:
        known = ", ".join(sorted(KNOWN_PROVIDERS))
        raise _BadInput(f"unknown provider {name!r} (known: {known})")
    return provider


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative count, got {value}")
    return value


def _context_item(text: str) -> tuple[str, str]:
    key, equals, value = text.partition("=")
    if not equals or not key.strip() or not value.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE (e.g. service_tier=flex), got {text!r}")
    return key.strip(), value.strip()


def _when(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an ISO date or datetime, got {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _unknown(model: str, provider: str | None) -> str:
    where = f" at provider {provider}" if provider else ""
    return f"{model}{where}: unknown model (no price entry matches)"


def _amount(value: Decimal, currency: str = "USD") -> str:
    return f"${plain_decimal(value)}" if currency == "USD" else f"{plain_decimal(value)} {currency}"


def _optional(value: Decimal | None, currency: str = "USD") -> str:
    if value is None:
        return "-"
    return plain_decimal(value) if currency == "USD" else f"{plain_decimal(value)} {currency}"


def _print_json(value: dict[str, Any]) -> None:
    print(json.dumps(value, ensure_ascii=False))
