"""Price entries: rates per token type, tiers by prompt size, activation dates.

The JSON/TOML form of an entry (token prices in ``currency`` per 1M tokens; ``units`` prices per
what their key names, :mod:`genai_cost.pricing.units`)::

    {"id": "openai:gpt-4o", "name": "GPT-4o", "provider": "openai",
     "match": {"exact": "gpt-4o"}, "input": 2.5, "output": 10,
     "input_breakdown": {"cache_read": 1.25}, "output_breakdown": {"reasoning": 10},
     "units": {"web_searches_kcount": 10},
     "per_request": 0.001, "tiers": [{"above_input_tokens": 200000, "input": 5}],
     "variants": [{"when": {"service_tier": "flex"}, "input": 1.25, "output": 5}],
     "time_of_day": [{"start": "16:30", "end": "00:30", "input": 1.25, "output": 5}],
     "valid_from": "2024-05-13", "currency": "USD", "strip_date_suffix": false,
     "source": "https://openai.com/api/pricing", "notes": "..."}

:func:`parse_entry` validates one such object and raises :class:`PricingError` naming the
entry and the field on any problem.

A variant holds the prices that differ in one request context (``{"service_tier": "flex"}``,
``{"processing": "batch"}``): it applies when every key of its ``when`` has that value in the
call's pricing context (and, with a ``valid_from``, from that instant on). Variants are
resolved per price key, as genai-prices resolves them: each price (input, output, a breakdown
type with its tiers, per_request) comes from the first applicable variant that sets it, else
from the entry.

A time-of-day window (off-peak hours, UTC) replaces all of the entry's prices (base, tiers,
per_request) for calls that start inside it; the first window containing the time wins. Its
variants still apply on top of it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, NamedTuple, TypeAlias

from genai_cost.pricing.calculate import as_utc
from genai_cost.pricing.errors import PricingError
from genai_cost.pricing.match import Clause, parse_match
from genai_cost.pricing.providers import KNOWN_PROVIDERS, PROVIDER_ALIASES
from genai_cost.pricing.units import INPUT_TYPES, OUTPUT_TYPES, UNIT_KEYS, UNITS, Unit, is_part_of, joins

__all__ = [
    "Charge",
    "PriceEntry",
    "PricingContext",
    "Rates",
    "Tier",
    "TimeOfDay",
    "Variant",
    "parse_entry",
]


PricingContext: TypeAlias = Mapping[str, str]
"""Request context of one call, e.g. ``{"service_tier": "flex"}``: selects price variants."""


class Charge(NamedTuple):
    """One priced unit as ``calculate`` charges it."""

    key: str
    """Name in the cost breakdown."""
    usage_field: str
    """The ``Usage`` field holding its count."""
    price: Decimal
    """Price of one (the file's price scaled exactly), or of ``divisor`` of them."""
    divisor: int | None
    """``None`` when ``price`` is per one; else what it is per (3,600 seconds: not a power of ten,
    so dividing the price would round)."""
    side: str | None
    """``"input"``/``"output"``: the subtotal its cost belongs to."""
    parts: tuple[int, ...]
    """Positions (earlier in the plan) of the priced units counted inside this one."""


def _plan(prices: Mapping[tuple[str, str], Decimal]) -> tuple[Charge, ...]:
    """The units ``prices`` sets, most specific first, each with its priced parts."""
    priced = sorted(
        (unit for unit in UNITS if (unit.section, unit.price_key) in prices),
        key=lambda unit: (-len(unit.dimensions), unit.key),
    )
    plan = []
    for position, unit in enumerate(priced):
        price = prices[unit.section, unit.price_key]
        exponent = len(str(unit.per)) - 1
        per_one = unit.per == 10**exponent
        plan.append(
            Charge(
                unit.key,
                unit.usage_field,
                price.scaleb(-exponent) if per_one else price,
                None if per_one else unit.per,
                unit.side,
                tuple(i for i, part in enumerate(priced[:position]) if is_part_of(part, unit)),
            )
        )
    return tuple(plan)


@dataclass(frozen=True, slots=True)
class Rates:
    """Prices per 1M tokens for each token type an entry (or a tier) charges."""

    input: Decimal | None = None
    """Base input price: input tokens not charged at a more specific price."""
    output: Decimal | None = None
    """Base output price: output tokens not charged at a more specific price."""
    input_breakdown: Mapping[str, Decimal] = field(default_factory=dict)
    """Prices of specific input token types (``cache_read``, ``cache_creation``, ``audio``...)."""
    output_breakdown: Mapping[str, Decimal] = field(default_factory=dict)
    """Prices of specific output token types (``reasoning``, ``audio``, ``image``)."""
    units: Mapping[str, Decimal] = field(default_factory=dict)
    """Prices of non-token units, by a key naming what they are per (``web_searches_kcount``)."""
    _plans: list[tuple[Charge, ...]] = field(default_factory=list, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "input_breakdown", MappingProxyType(dict(self.input_breakdown)))
        object.__setattr__(self, "output_breakdown", MappingProxyType(dict(self.output_breakdown)))
        object.__setattr__(self, "units", MappingProxyType(dict(self.units)))

    @property
    def plan(self) -> tuple[Charge, ...]:
        """The priced units, most specific first, with their prices per one.

        Built on first use: most entries of a table are never used.
        """
        if not self._plans:
            self._plans.append(_plan(dict(_flat(self))))
        return self._plans[0]

    def price_of(self, unit: Unit) -> Decimal | None:
        """The price these rates set for ``unit``, if any."""
        if unit.section in ("input", "output"):
            value: Decimal | None = getattr(self, unit.section)
            return value
        prices: Mapping[str, Decimal] = getattr(self, unit.section)
        return prices.get(unit.price_key)

    def overridden_by(self, other: Rates) -> Rates:
        """These rates with every price ``other`` sets replaced by its value."""
        return Rates(
            input=self.input if other.input is None else other.input,
            output=self.output if other.output is None else other.output,
            input_breakdown={**self.input_breakdown, **other.input_breakdown},
            output_breakdown={**self.output_breakdown, **other.output_breakdown},
            units={**self.units, **other.units},
        )

    @property
    def is_empty(self) -> bool:
        return not _flat(self)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.input is not None:
            out["input"] = _number(self.input)
        if self.output is not None:
            out["output"] = _number(self.output)
        if self.input_breakdown:
            out["input_breakdown"] = {k: _number(v) for k, v in self.input_breakdown.items()}
        if self.output_breakdown:
            out["output_breakdown"] = {k: _number(v) for k, v in self.output_breakdown.items()}
        if self.units:
            out["units"] = {k: _number(v) for k, v in self.units.items()}
        return out


@dataclass(frozen=True, slots=True)
class Tier:
    """Prices that replace the base ones for the whole request above a prompt size."""

    above_input_tokens: int
    """The tier applies when the request's ``input_tokens`` is greater than this."""
    rates: Rates
    """The prices this tier sets; prices it does not list come from lower tiers or the base."""


@dataclass(frozen=True, slots=True)
class Variant:
    """Prices that replace the entry's in one request context."""

    when: Mapping[str, str]
    """Context values that select it: every key must have exactly this value."""
    rates: Rates = field(default_factory=Rates)
    """The prices it sets; those it does not set come from later variants or the entry."""
    tiers: tuple[Tier, ...] = ()
    """Prompt-size tiers of the prices it sets (a price it sets replaces the entry's tiers of it)."""
    per_request: Decimal | None = None
    """Fixed price per request in this context."""
    valid_from: datetime | None = None
    """First instant (UTC) it applies; ``None`` for the whole life of the entry."""
    _since: float = field(init=False, repr=False, compare=False)
    _conditions: tuple[tuple[str, str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "when", MappingProxyType(dict(self.when)))
        object.__setattr__(self, "_since", -math.inf if self.valid_from is None else self.valid_from.timestamp())
        object.__setattr__(self, "_conditions", tuple(self.when.items()))

    def applies(self, context: PricingContext, at: float) -> bool:
        """Whether a call with ``context`` at ``at`` (seconds since the epoch) gets these prices."""
        return self._since <= at and all(context.get(key) == value for key, value in self._conditions)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"when": dict(self.when), **self.rates.to_json()}
        if self.per_request is not None:
            out["per_request"] = _number(self.per_request)
        if self.tiers:
            out["tiers"] = _tiers_json(self.tiers)
        if self.valid_from is not None:
            out["valid_from"] = _iso(self.valid_from)
        return out


@dataclass(frozen=True, slots=True)
class TimeOfDay:
    """Prices for the calls that start within a daily window (UTC), e.g. off-peak hours."""

    start: time
    """First time of day (UTC) in the window."""
    end: time
    """First time of day (UTC) after the window; before ``start`` for a window across midnight."""
    rates: Rates
    """The prices in the window: they replace all of the entry's."""
    tiers: tuple[Tier, ...] = ()
    """Prompt-size tiers in the window."""
    per_request: Decimal | None = None
    """Fixed price per request in the window."""
    _bounds: tuple[float, float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_bounds", (_seconds(self.start), _seconds(self.end)))

    def contains(self, at: float) -> bool:
        """Whether ``at`` (seconds since the epoch) falls in the window."""
        moment = at % _DAY  # UTC days have 86400 s in epoch time (no leap seconds)
        start, end = self._bounds
        if end < start:
            return moment >= start or moment < end
        return start <= moment < end

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"start": _clock(self.start), "end": _clock(self.end), **self.rates.to_json()}
        if self.per_request is not None:
            out["per_request"] = _number(self.per_request)
        if self.tiers:
            out["tiers"] = _tiers_json(self.tiers)
        return out


_DAY = 86_400


def _seconds(value: time) -> float:
    return value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6


def _clock(value: time) -> str:
    return value.isoformat(timespec="seconds" if value.second else "minutes")


_Column = tuple[Decimal | None, dict[int, Decimal]]
"""One price of an entry: its base value and its value per tier threshold."""
_MAX_RESOLVED = 64
"""Resolved price sets remembered per entry (one per distinct set of applicable variants)."""


def _columns(rates: Rates, tiers: tuple[Tier, ...]) -> dict[tuple[str, str], _Column]:
    """Prices by (field, token type) key: ``("input", "")``, ``("input_breakdown", "cache_read")``."""
    columns: dict[tuple[str, str], _Column] = {key: (value, {}) for key, value in _flat(rates)}
    for tier in tiers:
        for key, value in _flat(tier.rates):
            columns.setdefault(key, (None, {}))[1][tier.above_input_tokens] = value
    return columns


def _flat(rates: Rates) -> list[tuple[tuple[str, str], Decimal]]:
    flat = [(("input", ""), rates.input), (("output", ""), rates.output)]
    flat += [(("input_breakdown", k), v) for k, v in rates.input_breakdown.items()]
    flat += [(("output_breakdown", k), v) for k, v in rates.output_breakdown.items()]
    flat += [(("units", k), v) for k, v in rates.units.items()]
    return [(key, value) for key, value in flat if value is not None]


def _from_columns(columns: Mapping[tuple[str, str], _Column]) -> tuple[Rates, tuple[Tier, ...]]:
    """The rates and tiers holding ``columns``."""

    def rates(prices: Mapping[tuple[str, str], Decimal]) -> Rates:
        return Rates(
            input=prices.get(("input", "")),
            output=prices.get(("output", "")),
            input_breakdown={k: v for (f, k), v in prices.items() if f == "input_breakdown"},
            output_breakdown={k: v for (f, k), v in prices.items() if f == "output_breakdown"},
            units={k: v for (f, k), v in prices.items() if f == "units"},
        )

    base = {key: value for key, (value, _) in columns.items() if value is not None}
    thresholds = sorted({threshold for _, by_tier in columns.values() for threshold in by_tier})
    tiers = tuple(
        Tier(
            threshold, rates({key: by_tier[threshold] for key, (_, by_tier) in columns.items() if threshold in by_tier})
        )
        for threshold in thresholds
    )
    return rates(base), tiers


@dataclass(frozen=True, slots=True)
class PriceEntry:
    """The price of one model (or family of model names) at one provider from one date."""

    id: str
    """Unique id; a later layer's entry with the same id replaces this one."""
    match: Clause
    """Which (normalized, lowercased) model names this entry prices."""
    rates: Rates
    """Base prices per 1M tokens."""
    name: str = ""
    """Display name (defaults to the id)."""
    provider: str | None = None
    """The ``gen_ai.provider.name`` this price is for; ``None`` for any provider."""
    tiers: tuple[Tier, ...] = ()
    """Prompt-size tiers, ascending by ``above_input_tokens``."""
    per_request: Decimal | None = None
    """Fixed price per request, on top of the token prices."""
    valid_from: datetime | None = None
    """First instant (UTC) the price applies; ``None`` for "always". Calls before it are not
    priced by this entry."""
    currency: str = "USD"
    """ISO 4217 code of every price in the entry."""
    strip_date_suffix: bool = False
    """Also match names with a date suffix (``-2024-08-06``, ``-20240806``, ``-0806``)."""
    source: str | None = None
    """Where the price comes from (URL or data set)."""
    notes: str | None = None
    """Free text, e.g. prices of the model that this schema does not model."""
    variants: tuple[Variant, ...] = ()
    """Prices by request context, first applicable first (see :meth:`for_call`)."""
    time_of_day: tuple[TimeOfDay, ...] = ()
    """Prices by time of day (UTC), first containing window first (see :meth:`for_call`)."""
    _tier_rates: tuple[tuple[int, Rates], ...] = field(init=False, repr=False, compare=False)
    _resolved: dict[tuple[int, ...], PriceEntry] = field(default_factory=dict, init=False, repr=False, compare=False)
    _windows: tuple[PriceEntry, ...] = field(init=False, repr=False, compare=False)
    _outside_windows: PriceEntry = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", self.id)
        merged, current = [], self.rates
        for tier in sorted(self.tiers, key=lambda t: t.above_input_tokens):
            current = current.overridden_by(tier.rates)
            merged.append((tier.above_input_tokens, current))
        object.__setattr__(self, "_tier_rates", tuple(reversed(merged)))
        windows = tuple(
            replace(self, rates=w.rates, tiers=w.tiers, per_request=w.per_request, time_of_day=())
            for w in self.time_of_day
        )
        object.__setattr__(self, "_windows", windows)
        outside = replace(self, time_of_day=()) if self.time_of_day else self
        object.__setattr__(self, "_outside_windows", outside)

    def __hash__(self) -> int:
        return hash(self.id)

    def rates_for(self, input_tokens: int) -> tuple[Rates, int | None]:
        """The prices for a request with this many input tokens, and the tier threshold used."""
        for threshold, rates in self._tier_rates:
            if input_tokens > threshold:
                return rates, threshold
        return self.rates, None

    def for_call(self, context: PricingContext | None, at: float) -> PriceEntry:
        """This entry as it prices a call in ``context`` starting at ``at`` (seconds since the
        epoch): the time-of-day window containing ``at`` replaces its prices, then the variants
        that apply to ``context`` replace the prices they set. The result has no windows left,
        so pricing it later (at another instant) keeps the prices of ``at``."""
        entry = self._outside_windows
        for window, window_entry in zip(self.time_of_day, self._windows, strict=True):
            if window.contains(at):
                entry = window_entry
                break
        if not context or not entry.variants:
            return entry
        return entry._with_variants(context, at)

    def _with_variants(self, context: PricingContext, at: float) -> PriceEntry:
        chosen = tuple(i for i, variant in enumerate(self.variants) if variant.applies(context, at))
        if not chosen:
            return self
        resolved = self._resolved.get(chosen)
        if resolved is None:
            resolved = self._resolve([self.variants[i] for i in chosen])
            if len(self._resolved) < _MAX_RESOLVED:
                self._resolved[chosen] = resolved
        return resolved

    def _resolve(self, variants: list[Variant]) -> PriceEntry:
        columns = _columns(self.rates, self.tiers)
        per_request = self.per_request
        for variant in reversed(variants):  # the first variant setting a price wins
            columns.update(_columns(variant.rates, variant.tiers))
            if variant.per_request is not None:
                per_request = variant.per_request
        rates, tiers = _from_columns(columns)
        return replace(self, rates=rates, tiers=tiers, per_request=per_request, variants=())

    def to_json(self) -> dict[str, Any]:
        """The entry in its file form."""
        out: dict[str, Any] = {"id": self.id}
        if self.name != self.id:
            out["name"] = self.name
        if self.provider is not None:
            out["provider"] = self.provider
        out["match"] = self.match.to_json()
        out.update(self.rates.to_json())
        if self.per_request is not None:
            out["per_request"] = _number(self.per_request)
        if self.tiers:
            out["tiers"] = _tiers_json(self.tiers)
        if self.variants:
            out["variants"] = [variant.to_json() for variant in self.variants]
        if self.time_of_day:
            out["time_of_day"] = [window.to_json() for window in self.time_of_day]
        if self.valid_from is not None:
            out["valid_from"] = _iso(self.valid_from)
        if self.currency != "USD":
            out["currency"] = self.currency
        if self.strip_date_suffix:
            out["strip_date_suffix"] = True
        if self.source is not None:
            out["source"] = self.source
        if self.notes is not None:
            out["notes"] = self.notes
        return out


def _tiers_json(tiers: tuple[Tier, ...]) -> list[dict[str, Any]]:
    return [{"above_input_tokens": t.above_input_tokens, **t.rates.to_json()} for t in tiers]


def _number(value: Decimal) -> int | float | str:
    """A JSON number that round-trips to the same Decimal, else the exact string."""
    if value == value.to_integral_value():
        return int(value)
    as_float = float(value)
    return as_float if Decimal(repr(as_float)) == value else format(value, "f")


def _iso(value: datetime) -> str:
    if value.hour == value.minute == value.second == value.microsecond == 0:
        return value.date().isoformat()
    return value.isoformat().replace("+00:00", "Z")


# --- parsing -------------------------------------------------------------------------------

_ENTRY_FIELDS = frozenset(
    {
        "id",
        "name",
        "provider",
        "match",
        "input",
        "output",
        "input_breakdown",
        "output_breakdown",
        "units",
        "per_request",
        "tiers",
        "valid_from",
        "currency",
        "strip_date_suffix",
        "source",
        "notes",
        "variants",
        "time_of_day",
    }
)
_RATE_FIELDS = frozenset({"input", "output", "input_breakdown", "output_breakdown", "units"})
_WINDOW_FIELDS = _RATE_FIELDS | {"start", "end", "per_request", "tiers"}
_VARIANT_FIELDS = _RATE_FIELDS | {"when", "per_request", "tiers", "valid_from"}
_TIER_FIELDS = _RATE_FIELDS | {"above_input_tokens"}


def parse_entry(raw: object, *, position: int = 0, check_regex: bool = True) -> PriceEntry:
    """Validate one entry object; errors carry the entry id (or ``#position``) and the field."""
    label = f"#{position}"
    if isinstance(raw, PriceEntry):
        return raw
    if not isinstance(raw, Mapping):
        raise PricingError("expected an object", entry=label)
    entry_id = raw.get("id")
    if isinstance(entry_id, str) and entry_id.strip():
        label = entry_id
    # Unknown names (typos: ``ouput``, ``cache_reed``) are collected and parsing goes on, so one
    # run reports them all; any other problem ends the entry's parsing, reported with them.
    unknown: list[PricingError] = []
    try:
        entry = _parse_entry(raw, unknown, check_regex=check_regex)
    except PricingError as exc:
        unknown.append(exc)
    if unknown:
        raise PricingError.of(unknown).located(entry=label) from None
    return entry


def _parse_entry(raw: Mapping[str, Any], unknown: list[PricingError], *, check_regex: bool) -> PriceEntry:
    _reject_unknown(raw, _ENTRY_FIELDS, "", unknown)
    entry_id = raw.get("id")
    if not isinstance(entry_id, str) or not entry_id.strip():
        raise PricingError("required: a non-empty string", field="id")
    if "match" not in raw:
        raise PricingError("required: one of exact, prefix, regex, any", field="match")
    rates = _parse_rates(raw, "", unknown)
    tiers = _parse_tiers(raw.get("tiers"), "", unknown)
    per_request = _optional_price(raw, "per_request", "per_request")
    if rates.is_empty and per_request is None:
        raise PricingError(
            "the entry sets no price (input, output, breakdowns, units or per_request)",
            field="input",
        )
    entry = PriceEntry(
        id=entry_id.strip(),
        match=parse_match(raw["match"], check=check_regex),
        rates=rates,
        name=_optional_str(raw, "name") or "",
        provider=_parse_provider(raw.get("provider")),
        tiers=tiers,
        per_request=per_request,
        valid_from=_parse_valid_from(raw.get("valid_from"), "valid_from"),
        currency=_parse_currency(raw.get("currency", "USD")),
        strip_date_suffix=_parse_bool(raw.get("strip_date_suffix", False), "strip_date_suffix"),
        source=_optional_str(raw, "source"),
        notes=_optional_str(raw, "notes"),
        variants=_parse_variants(raw.get("variants"), unknown),
        time_of_day=_parse_windows(raw.get("time_of_day"), unknown),
    )
    _check_overlaps(entry)
    return entry


def _check_overlaps(entry: PriceEntry) -> None:
    """Refuse prices for two overlapping units (cached input, audio input) without a price for
    what both count (cached audio): a token in both would have no defined price."""
    choices: list[PriceEntry | Variant | TimeOfDay] = [entry, *entry.variants, *entry.time_of_day]
    sets = [rates for choice in choices for rates in (choice.rates, *(t.rates for t in choice.tiers))]
    keys = {key for rates in sets for key, _ in _flat(rates)}
    missing = joins([unit for unit in UNITS if (unit.section, unit.price_key) in keys])
    if missing:
        a, b, join = missing[0]
        raise PricingError(
            f"{a.path} and {b.path} are priced, so {join.path} must be too (what a token in both costs)",
            field=join.path,
        )


def _objects(
    value: object, field: str, what: str, allowed: frozenset[str], unknown: list[PricingError]
) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Each object of the optional list ``field``, with its path (``tiers[0].``); unknown names collected."""
    if value is None:
        return
    if not isinstance(value, list):
        raise PricingError(f"expected a list of {what}", field=field)
    for i, raw in enumerate(value):
        path = f"{field}[{i}]."
        if not isinstance(raw, Mapping):
            raise PricingError("expected an object", field=path[:-1])
        _reject_unknown(raw, allowed, path, unknown)
        yield path, raw


def _parse_windows(value: object, unknown: list[PricingError]) -> tuple[TimeOfDay, ...]:
    windows = []
    for path, raw in _objects(value, "time_of_day", "time-of-day windows", _WINDOW_FIELDS, unknown):
        start, end = _parse_clock(raw.get("start"), f"{path}start"), _parse_clock(raw.get("end"), f"{path}end")
        if start == end:
            raise PricingError("the window is empty (start == end)", field=f"{path}end")
        rates = _parse_rates(raw, path, unknown)
        per_request = _optional_price(raw, "per_request", f"{path}per_request")
        if rates.is_empty and per_request is None:
            raise PricingError("the window sets no price", field=path[:-1])
        windows.append(TimeOfDay(start, end, rates, _parse_tiers(raw.get("tiers"), path, unknown), per_request))
    return tuple(windows)


def _parse_clock(value: object, where: str) -> time:
    if isinstance(value, time):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = time.fromisoformat(value)
        except ValueError:
            raise PricingError(f"expected a UTC time of day HH:MM[:SS], got {value!r}", field=where) from None
    else:
        raise PricingError("required: a UTC time of day HH:MM[:SS]", field=where)
    if parsed.tzinfo is not None:
        raise PricingError("expected a UTC time of day without an offset", field=where)
    return parsed


def _parse_variants(value: object, unknown: list[PricingError]) -> tuple[Variant, ...]:
    variants = []
    for path, raw in _objects(value, "variants", "variants", _VARIANT_FIELDS, unknown):
        rates = _parse_rates(raw, path, unknown)
        tiers = _parse_tiers(raw.get("tiers"), path, unknown)
        for tier in tiers:
            unset = {key for key, _ in _flat(tier.rates)} - {key for key, _ in _flat(rates)}
            if unset:
                field_name, token_type = min(unset)
                where = f"{field_name}.{token_type}" if token_type else field_name
                raise PricingError(f"the variant's tier sets {where}, which the variant does not", field=f"{path}tiers")
        variants.append(
            Variant(
                when=_parse_when(raw.get("when"), f"{path}when"),
                rates=rates,
                tiers=tiers,
                per_request=_optional_price(raw, "per_request", f"{path}per_request"),
                valid_from=_parse_valid_from(raw.get("valid_from"), f"{path}valid_from"),
            )
        )
    return tuple(variants)


def _parse_when(value: object, where: str) -> dict[str, str]:
    if (
        not isinstance(value, Mapping)
        or not value
        or not all(isinstance(k, str) and k and isinstance(v, str) and v for k, v in value.items())
    ):
        raise PricingError('required: an object of context key -> value, e.g. {"service_tier": "flex"}', field=where)
    return dict(value)


def _reject_unknown(raw: Mapping[str, Any], allowed: frozenset[str], path: str, unknown: list[PricingError]) -> None:
    expected = ", ".join(sorted(allowed))
    unknown.extend(
        PricingError(f"unknown field (expected one of: {expected})", field=f"{path}{key}")
        for key in raw
        if key not in allowed
    )


def _parse_rates(raw: Mapping[str, Any], path: str, unknown: list[PricingError]) -> Rates:
    return Rates(
        input=_optional_price(raw, "input", f"{path}input"),
        output=_optional_price(raw, "output", f"{path}output"),
        input_breakdown=_parse_breakdown(raw, "input_breakdown", INPUT_TYPES, path, unknown),
        output_breakdown=_parse_breakdown(raw, "output_breakdown", OUTPUT_TYPES, path, unknown),
        units=_parse_breakdown(raw, "units", UNIT_KEYS, path, unknown),
    )


def _parse_breakdown(
    raw: Mapping[str, Any], key: str, allowed: frozenset[str], path: str, unknown: list[PricingError]
) -> dict[str, Decimal]:
    value = raw.get(key)
    if value is None:
        return {}
    what = "unit" if key == "units" else "token type"
    if not isinstance(value, Mapping):
        raise PricingError(f"expected an object of {what} -> price", field=f"{path}{key}")
    out = {}
    for token_type, price in value.items():
        where = f"{path}{key}.{token_type}"
        if token_type not in allowed:
            expected = ", ".join(sorted(allowed))
            unknown.append(PricingError(f"unknown {what} (expected one of: {expected})", field=where))
            continue
        out[token_type] = _price(price, where)
    return out


def _parse_tiers(value: object, prefix: str, unknown: list[PricingError]) -> tuple[Tier, ...]:
    tiers: list[Tier] = []
    for path, raw in _objects(value, f"{prefix}tiers", "tiers", _TIER_FIELDS, unknown):
        threshold = raw.get("above_input_tokens")
        if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0:
            raise PricingError("required: a non-negative integer", field=f"{path}above_input_tokens")
        if any(t.above_input_tokens == threshold for t in tiers):
            raise PricingError("two tiers start at the same size", field=f"{path}above_input_tokens")
        rates = _parse_rates(raw, path, unknown)
        if rates.is_empty:
            raise PricingError("the tier sets no price", field=path[:-1])
        tiers.append(Tier(threshold, rates))
    return tuple(sorted(tiers, key=lambda t: t.above_input_tokens))


def _optional_price(raw: Mapping[str, Any], key: str, where: str) -> Decimal | None:
    value = raw.get(key)
    return None if value is None else _price(value, where)


def _price(value: object, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise PricingError(f"expected a number, got {type(value).__name__}", field=where)
    if isinstance(value, float) and not math.isfinite(value):
        raise PricingError(f"price must be finite, got {value}", field=where)
    try:
        price = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        raise PricingError(f"expected a number, got {value!r}", field=where) from None
    if not price.is_finite():
        raise PricingError(f"price must be finite, got {value}", field=where)
    if price < 0:
        raise PricingError(f"price must not be negative, got {value}", field=where)
    return price


def _parse_provider(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value not in KNOWN_PROVIDERS:
        hint = PROVIDER_ALIASES.get(value.lower()) if isinstance(value, str) else None
        expected = f"did you mean {hint!r}?" if hint else "expected a gen_ai.provider.name value"
        raise PricingError(f"unknown provider {value!r}: {expected}", field="provider")
    return value


def _parse_valid_from(value: object, where: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise PricingError(f"expected an ISO date or datetime, got {value!r}", field=where) from None
    else:
        raise PricingError("expected an ISO date or datetime string", field=where)
    return as_utc(parsed)


def _parse_currency(value: object) -> str:
    if not isinstance(value, str) or not (len(value) == 3 and value.isascii() and value.isalpha() and value.isupper()):
        raise PricingError(f"expected a 3-letter ISO 4217 code, got {value!r}", field="currency")
    return value


def _parse_bool(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise PricingError("expected true or false", field=where)
    return value


def _optional_str(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise PricingError("expected a string", field=key)
    return value
