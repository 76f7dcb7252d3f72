"""Regenerate ``data/prices.json`` from the data shipped in the installed genai-prices package.

Needs the optional extra ``genai-cost[sync]``; imported only here, never at runtime, and never
fetches anything (the package's bundled data is used, not its auto-update). The output is
deterministic apart from its ``generated_at`` header field.

How genai-prices data becomes our entries:

- Providers map to ``gen_ai.provider.name`` values (:data:`PROVIDER_MAP`); others are skipped.
- Match clauses: ``equals`` -> exact, ``starts_with`` -> prefix, ``contains``/``ends_with`` ->
  escaped regex, ``regex`` (search semantics) -> ``.*(?:...).*``, ``or`` -> any, ``and`` ->
  lookaheads. Literals are lowercased (model names are matched lowercased).
- Conditional prices with a start date become separate entries with ``valid_from``.
  Time-of-day prices (DeepSeek's peak/off-peak hours) become every such entry's
  ``time_of_day`` windows (in genai-prices a window wins over any start date), the window
  listed last there first here.
- Price keys map to our token types and units (:data:`PRICE_KEYS`; non-token units keep
  their genai-prices key under ``units``); ``requests_kcount`` becomes ``per_request``. A
  price key we do not know (a newer genai-prices) is left out and named in the entry's notes.
- Request-context price variants (``price_variants``: service tiers, batch, fast mode, routes)
  become the entry's ``variants``, in genai-prices' order. A variant's start date becomes its
  ``valid_from`` when it falls inside the entry's period, is dropped when it precedes it, and a
  variant starting after the entry's period (when a newer entry is in force) is left out.
- Where genai-prices lists two models of one provider claiming the same name, the first one
  keeps it, as genai-prices' own first-match lookup does.
- Each mapped provider's API URL pattern (``api_pattern``) goes to the header's ``hosts``, in
  genai-prices' order, for the OpenAI instrumentor to tell which provider a client talks to
  (:mod:`genai_cost.pricing.hosts`).
- ``data/supplement.json`` (hand-written, each entry with its source) is appended: models
  still seen in logs that genai-prices does not carry.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from genai_cost.pricing.errors import PricingError
from genai_cost.pricing.loader import check_layer, dump_table, read_document
from genai_cost.pricing.match import has_top_level_alternation
from genai_cost.pricing.providers import GENAI_PRICES_ONLY, name_of_genai_prices_id
from genai_cost.pricing.table import BUNDLED_PATH
from genai_cost.pricing.units import UNIT_KEYS
from genai_cost.semconv import Provider

__all__ = [
    "PRICE_KEYS",
    "PROVIDER_MAP",
    "SUPPLEMENT_PATH",
    "SyncReport",
    "convert_providers",
    "generate",
    "sync",
    "without_generated_at",
]

logger = logging.getLogger(__name__)

SUPPLEMENT_PATH = Path(BUNDLED_PATH).with_name("supplement.json")
"""Hand-written entries merged into the generated table."""

PROVIDER_MAP: Mapping[str, str] = {
    "openai": Provider.OPENAI,
    "azure": Provider.AZURE_OPENAI,
    "anthropic": Provider.ANTHROPIC,
    "aws": Provider.AWS_BEDROCK,
    "google": Provider.GCP_GEMINI,
    "mistral": Provider.MISTRAL,
    "cohere": Provider.COHERE,
    "groq": Provider.GROQ,
    "deepseek": Provider.DEEPSEEK,
    "x-ai": Provider.XAI,
    "perplexity": Provider.PERPLEXITY,
    "openrouter": Provider.OPENROUTER,
    "together": Provider.TOGETHER,
    "fireworks": Provider.FIREWORKS,
    "cerebras": Provider.CEREBRAS,
    **{provider_id: name_of_genai_prices_id(provider_id) for provider_id in GENAI_PRICES_ONLY},
}
"""genai-prices provider id -> ``gen_ai.provider.name``."""

PRICE_KEYS: Mapping[str, tuple[str, ...]] = {
    "input_mtok": ("input",),
    "output_mtok": ("output",),
    "cache_read_mtok": ("input_breakdown", "cache_read"),
    "cache_write_mtok": ("input_breakdown", "cache_creation"),
    "cache_write_5m_mtok": ("input_breakdown", "cache_creation_5m"),
    "cache_write_1h_mtok": ("input_breakdown", "cache_creation_1h"),
    "input_audio_mtok": ("input_breakdown", "audio"),
    "input_image_mtok": ("input_breakdown", "image"),
    "input_video_mtok": ("input_breakdown", "video"),
    "input_text_mtok": ("input_breakdown", "text"),
    "output_reasoning_mtok": ("output_breakdown", "reasoning"),
    "output_audio_mtok": ("output_breakdown", "audio"),
    "output_image_mtok": ("output_breakdown", "image"),
    "cache_audio_read_mtok": ("input_breakdown", "cache_audio_read"),
    "cache_image_read_mtok": ("input_breakdown", "cache_image_read"),
    "output_video_mtok": ("output_breakdown", "video"),
    "output_citation_mtok": ("output_breakdown", "citation"),
    **{key: ("units", key) for key in sorted(UNIT_KEYS)},
}
"""genai-prices price key -> path of the same price in our entry."""

_REQUESTS_KEY = "requests_kcount"
_GENERATED_AT = re.compile(r'"generated_at":"[^"]*"')


@dataclass
class SyncReport:
    """What a sync produced and what it left out."""

    entries: int = 0
    """Entries written (generated + supplement)."""
    models: int = 0
    """genai-prices models converted (of the mapped providers)."""
    skipped_providers: list[str] = field(default_factory=list)
    """genai-prices providers without a ``gen_ai.provider.name`` mapping."""
    skipped: Counter[str] = field(default_factory=Counter)
    """Models or prices left out, by reason."""
    hosts: int = 0
    """API URL patterns written."""
    free: int = 0
    """Prices with no price key at all, written as free (input and output at 0)."""


def generate(*, generated_at: datetime | None = None) -> tuple[str, SyncReport]:
    """The text of ``prices.json`` built from the installed genai-prices, and a report."""
    from genai_prices import __version__ as genai_prices_version
    from genai_prices import data

    report = SyncReport()
    raw_entries = convert_providers(data.providers, report)
    supplement = read_document(SUPPLEMENT_PATH)
    raw_entries.extend(supplement["entries"])
    entries = check_layer(raw_entries, source="generated prices.json")
    report.entries = len(entries)
    header: dict[str, Any] = {
        "generated_by": "genai-cost pricing sync (genai_cost.pricing.sync); do not edit by hand",
        "generated_at": _iso_now(generated_at),
        "source": (
            f"genai-prices {genai_prices_version} package data "
            "(https://github.com/pydantic/genai-prices) and data/supplement.json"
        ),
        "license": (
            "Prices derived from genai-prices, MIT License, Copyright (c) Pydantic Services Inc. 2025 to present"
        ),
        "hosts": _api_hosts(data.providers),
    }
    report.hosts = len(header["hosts"])
    return dump_table(header, (entry.to_json() for entry in entries)), report


def convert_providers(providers: Iterable[Any], report: SyncReport | None = None) -> list[dict[str, Any]]:
    """Our entries (as JSON objects, not yet validated) for genai-prices ``Provider`` objects:
    the installed package's data, or a data JSON document parsed by genai-prices."""
    report = report if report is not None else SyncReport()
    raw_entries: list[dict[str, Any]] = []
    for provider in providers:
        ours = PROVIDER_MAP.get(provider.id)
        if ours is None:
            report.skipped_providers.append(provider.id)
            continue
        claimed: set[tuple[str | None, str]] = set()
        for model in provider.models:
            converted = list(_convert_model(ours, model, claimed, report))
            report.models += bool(converted)
            raw_entries.extend(converted)
    return raw_entries


def sync(output: str | Path = BUNDLED_PATH) -> SyncReport:
    """Regenerate the table into ``output`` (default: the bundled ``prices.json``)."""
    text, report = generate()
    Path(output).write_text(text, encoding="utf-8")
    logger.info("wrote %d entries to %s", report.entries, output)
    return report


def without_generated_at(text: str) -> str:
    """``text`` of a generated table with its ``generated_at`` value blanked."""
    return _GENERATED_AT.sub('"generated_at":""', text, count=1)


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _iso_now(now: datetime | None) -> str:
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


# --- API hosts -------------------------------------------------------------------------------


def _api_hosts(providers: Iterable[Any]) -> list[dict[str, str]]:
    """``{"provider", "api_pattern"}`` of each mapped provider that has one, in genai-prices' order.

    genai-prices tries the patterns in this order with ``re.match`` on an API base URL.
    """
    return [
        {"provider": PROVIDER_MAP[provider.id], "api_pattern": provider.api_pattern}
        for provider in providers
        if provider.id in PROVIDER_MAP and provider.api_pattern
    ]


# --- one model -------------------------------------------------------------------------------


def _convert_model(
    provider: str, model: Any, claimed: set[tuple[str | None, str]], report: SyncReport
) -> Iterator[dict[str, Any]]:
    conditional = model.prices if isinstance(model.prices, list) else None
    priced: list[tuple[Any, Any]] = (
        [(None, model.prices)] if conditional is None else [(cp.constraint, cp.prices) for cp in conditional]
    )
    starts: list[date] = sorted(c.start_date for c, _ in priced if type(c).__name__ == "StartDateConstraint")
    windows = [(c, p) for c, p in priced if type(c).__name__ == "TimeOfDateConstraint"]
    # genai-prices tries conditional prices last to first: a later window wins, over any date.
    time_of_day = [_convert_window(constraint, prices) for constraint, prices in reversed(windows)]
    for constraint, prices in priced:
        if type(constraint).__name__ == "TimeOfDateConstraint":
            continue
        valid_from: date | None = constraint.start_date if constraint is not None else None
        match = _own_leaves(_convert_clause(model.match), valid_from, claimed)
        if match is None:
            report.skipped["name already claimed by an earlier model"] += 1
            continue
        body, dropped = _convert_prices(prices)
        notes: list[str] = []
        if not body and not dropped:  # moderation, ":free" routes, bundled-in-a-subscription
            body = {"input": 0, "output": 0}
            notes.append("free: genai-prices lists no price")
            report.free += 1
        elif not body:
            report.skipped["only unmodelled price keys"] += 1
            continue
        until = next((start for start in starts if valid_from is None or start > valid_from), None)
        variants, variant_notes = _convert_variants(model.price_variants or (), valid_from, until, report)
        notes += variant_notes
        if variants:
            body["variants"] = variants
        if time_of_day:
            body["time_of_day"] = time_of_day
        if dropped:
            report.skipped["unmodelled price key"] += len(dropped)
            notes.append("not modelled: " + ", ".join(sorted(dropped)))
        entry: dict[str, Any] = {
            "id": f"{provider}:{model.id}" + (f"@{valid_from.isoformat()}" if valid_from else ""),
            "name": model.name or model.id,
            "provider": provider,
            "match": match,
            **body,
        }
        if valid_from is not None:
            entry["valid_from"] = valid_from.isoformat()
        if notes:
            entry["notes"] = "; ".join(notes)
        yield entry


def _convert_window(constraint: Any, prices: Any) -> dict[str, Any]:
    """A time-of-day window: its UTC start and end and the prices in it."""
    body, dropped = _convert_prices(prices)
    if dropped or not body:
        raise PricingError(f"a time-of-day price with unmodelled keys: {sorted(dropped)}", field="time_of_day")
    return {"start": _utc_clock(constraint.start_time), "end": _utc_clock(constraint.end_time), **body}


def _utc_clock(value: time) -> str:
    if value.tzinfo is not None:
        value = datetime.combine(date(1970, 1, 1), value).astimezone(timezone.utc).time()
    return value.isoformat(timespec="seconds" if value.second else "minutes")


def _convert_variants(
    variants: Iterable[Any], since: date | None, until: date | None, report: SyncReport
) -> tuple[list[dict[str, Any]], list[str]]:
    """Our ``variants`` for an entry in force from ``since`` to ``until``, and notes on what is left out."""
    converted: list[dict[str, Any]] = []
    notes: list[str] = []
    for variant in variants:
        kind = type(variant.constraint).__name__
        if kind == "TimeOfDateConstraint":
            report.skipped["time-of-day price variant"] += 1
            continue
        start: date | None = variant.constraint.start_date if variant.constraint is not None else None
        if start is not None and until is not None and start >= until:
            continue
        body, dropped = _convert_prices(variant.prices)
        out: dict[str, Any] = {"when": dict(variant.when), **body}
        if start is not None and (since is None or start > since):
            out["valid_from"] = start.isoformat()
        if dropped:
            report.skipped["unmodelled price key in a variant"] += len(dropped)
            when = ", ".join(f"{key}={value}" for key, value in variant.when.items())
            notes.append(f"not modelled ({when}): " + ", ".join(sorted(dropped)))
        converted.append(out)
    return converted, notes


def _convert_prices(prices: Any) -> tuple[dict[str, Any], list[str]]:
    """Our price fields for a genai-prices ModelPrice, and the keys left out."""
    body: dict[str, Any] = {}
    tiers: dict[int, dict[str, Any]] = {}
    dropped = []
    for key, value in vars(prices).items():
        if value is None or key.startswith("_"):
            continue
        tiered = hasattr(value, "tiers")
        if key == _REQUESTS_KEY and not tiered:
            body["per_request"] = value / 1000
            continue
        path = PRICE_KEYS.get(key)
        if path is None:
            dropped.append(key)
            continue
        _put(body, path, value.base if tiered else value)
        for tier in value.tiers if tiered else ():
            _put(tiers.setdefault(tier.start, {"above_input_tokens": tier.start}), path, tier.price)
    if body and tiers:
        body["tiers"] = [tiers[start] for start in sorted(tiers)]
    return body, dropped


def _put(target: dict[str, Any], path: tuple[str, ...], value: Decimal) -> None:
    *parents, last = path
    for parent in parents:
        target = target.setdefault(parent, {})
    target[last] = value


# --- match clauses ---------------------------------------------------------------------------


def _convert_clause(clause: Any) -> dict[str, Any]:
    kind = type(clause).__name__
    if kind == "ClauseEquals":
        return {"exact": clause.equals.lower()}
    if kind == "ClauseStartsWith":
        return {"prefix": clause.starts_with.lower()}
    if kind == "ClauseOr":
        return {"any": list(_flatten(_convert_clause(c) for c in clause.or_))}
    return {"regex": _regex(clause)}


def _flatten(clauses: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for clause in clauses:
        if "any" in clause:
            yield from clause["any"]
        else:
            yield clause


def _regex(clause: Any) -> str:
    """A pattern that fully matches exactly the names ``clause`` accepts."""
    kind = type(clause).__name__
    if kind == "ClauseEquals":
        return re.escape(str(clause.equals).lower())
    if kind == "ClauseStartsWith":
        return re.escape(str(clause.starts_with).lower()) + ".*"
    if kind == "ClauseContains":
        return ".*" + re.escape(str(clause.contains).lower()) + ".*"
    if kind == "ClauseEndsWith":
        return ".*" + re.escape(str(clause.ends_with).lower())
    if kind == "ClauseRegex":
        return _search_as_fullmatch(clause.regex)
    if kind == "ClauseOr":
        return "(?:" + "|".join(_regex(c) for c in clause.or_) + ")"
    if kind == "ClauseAnd":
        return "".join(rf"(?=(?:{_regex(c)})\Z)" for c in clause.and_) + ".*"
    raise PricingError(f"unsupported genai-prices clause {kind}", field="match")


def _search_as_fullmatch(pattern: str) -> str:
    """A fullmatch pattern equivalent to ``re.search(pattern)``, kept readable when possible."""
    if has_top_level_alternation(pattern):
        return f".*(?:{pattern}).*"
    head, body = ("", pattern[1:]) if pattern.startswith("^") else (".*", pattern)
    if body.endswith("$") and not body.endswith("\\$"):
        return head + body[:-1]
    return head + body + ".*"


def _own_leaves(
    match: dict[str, Any], valid_from: date | None, claimed: set[tuple[str | None, str]]
) -> dict[str, Any] | None:
    """``match`` without the leaves an earlier model of the provider already claimed."""
    since = valid_from.isoformat() if valid_from else None
    leaves = match.get("any", [match])
    own = []
    for leaf in leaves:
        key = (since, _dumps(leaf))
        if key not in claimed:
            own.append(leaf)
    claimed.update((since, _dumps(leaf)) for leaf in own)
    if not own:
        return None
    return own[0] if len(own) == 1 else {"any": own}
