"""The metric instruments genai-cost records, with the semconv bucket advisories."""

from __future__ import annotations

import logging
import sys
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from opentelemetry.metrics import CallbackOptions, Meter, MeterProvider, Observation, get_meter, get_meter_provider

from genai_cost._fork import fork_safe_lock
from genai_cost.attribution import MAX_VALUE_LENGTH
from genai_cost.latest_metrics import LatestInstruments
from genai_cost.pricing.normalize import MAX_MODEL_NAME_LENGTH
from genai_cost.semconv import GenAI, Metrics, Ours, TokenType
from genai_cost.usage import MAX_COUNT, Usage
from genai_cost.version import __version__

if TYPE_CHECKING:
    from genai_cost.config import Settings

__all__ = ["OTHER", "OTHER_MODEL", "Instruments", "ModelNameLimiter", "ValueLimiter"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Explicit bucket boundaries advised by the GenAI semantic conventions.
_TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]
_DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
# Most calls cost fractions of a cent: resolve down to a millionth of a dollar.
_COST_BUCKETS = [
    1e-6, 5e-6, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 50.0,
]  # fmt: skip

OTHER = "_other"
"""Metric attribute value that stands for every value beyond a cardinality limit."""
OTHER_MODEL = OTHER
"""Model attribute value that stands for every model name beyond the cardinality limit."""

_MODEL_ATTRIBUTES = (GenAI.REQUEST_MODEL, GenAI.RESPONSE_MODEL)


class ValueLimiter:
    """Keeps metric cardinality and memory bounded: the first ``limit`` values pass, the rest fold.

    A value longer than ``max_length`` always folds into ``_other``: whoever controls it (the
    server for a model name, the caller for a baggage entry) must not grow every series it
    lands on. ``folded`` counts the values folded; with a ``name`` the first fold logs a warning.
    """

    def __init__(self, limit: int, *, max_length: int = MAX_MODEL_NAME_LENGTH, name: str | None = None) -> None:
        self._limit = limit
        self._max_length = max_length
        self._name = name
        self._seen: set[str] = set()
        self.folded = 0
        self._lock = fork_safe_lock(self)

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        with self._lock:
            if len(value) <= self._max_length and len(self._seen) < self._limit:
                self._seen.add(value)
                return value
            self.folded += 1
            first = self.folded == 1
        if first and self._name is not None:
            logger.warning(
                "genai-cost: more than %d distinct values of %s; metrics record further ones as %r",
                self._limit,
                self._name,
                OTHER,
            )
        return OTHER


ModelNameLimiter = ValueLimiter
"""The limiter of model names (``GENAI_COST_METRIC_MODEL_LIMIT``)."""


class Instruments:
    """Histograms, the token detail counter, the unpriced-call and attribution overflow counters
    on one meter provider.

    Every instrumentor and ``CostSpanProcessor`` builds its own; on one meter provider they
    share the same instruments (the SDK hands back the instrument already registered under a
    name), the same token detail totals and the same attribution value limiters
    (:class:`_PerMeterProvider`).
    """

    def __init__(
        self,
        meter_provider: MeterProvider | None = None,
        *,
        model_limit: int,
        attribution_keys: tuple[str, ...] = (),
        attribution_limit: int = 100,
        latest_semconv: bool = False,
    ) -> None:
        meter: Meter = get_meter(
            "genai_cost", __version__, meter_provider, schema_url="https://opentelemetry.io/schemas/1.37.0"
        )
        self._limit_model = ModelNameLimiter(model_limit)
        self._points: dict[tuple[tuple[str, Any], ...], _Point] = {}
        self._points_of_values: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._attribution = _attribution_limiters(meter_provider, attribution_keys, attribution_limit)
        """(key, metric attribute name, the key's limiter, shared per meter provider) per allowlisted key."""
        self._attribution_overflow = meter.create_counter(
            Metrics.ATTRIBUTION_OVERFLOW,
            unit="{call}",
            description="Calls whose attribution value was recorded as _other (beyond the limit of distinct values).",
        )
        self.token_usage = meter.create_histogram(
            Metrics.TOKEN_USAGE,
            unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=_TOKEN_BUCKETS,
        )
        self.duration = meter.create_histogram(
            Metrics.OPERATION_DURATION,
            unit="s",
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self.time_to_first_chunk = meter.create_histogram(
            Metrics.TIME_TO_FIRST_CHUNK,
            unit="s",
            description="Time from the request until the first chunk of a streamed response.",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self.cost = meter.create_histogram(
            Metrics.OPERATION_COST,
            unit="USD",
            description="Cost of one GenAI operation.",
            explicit_bucket_boundaries_advisory=_COST_BUCKETS,
        )
        # The semconv histogram only knows input/output; cache-hit and reasoning shares need the
        # parts too. A separate counter keeps sum(gen_ai.client.token.usage) an honest total.
        self._token_parts = _shared_totals.get(meter_provider, lambda: _RunningTotals.observed_by(meter))
        self.unpriced = meter.create_counter(
            Metrics.UNPRICED_CALLS,
            unit="{call}",
            description="GenAI calls that could not be priced, by reason.",
        )
        # Process-wide values: every Instruments registers the same callbacks, the SDK keeps one.
        meter.create_observable_gauge(
            Metrics.PRICING_AGE,
            callbacks=[_observe_pricing_age],
            unit="s",
            description="Seconds since the prices of the process-wide pricing table were generated.",
        )
        meter.create_observable_counter(
            Metrics.PRICING_REFRESH_FAILURES,
            callbacks=[_observe_refresh_failures],
            unit="{failure}",
            description="Failed checks of the pricing refresh source, by error.type.",
        )
        self.latest = (
            LatestInstruments(meter, token_buckets=_TOKEN_BUCKETS, duration_buckets=_DURATION_BUCKETS)
            if latest_semconv
            else None
        )
        """The GenAI conventions' unreleased metrics (``OTEL_SEMCONV_STABILITY_OPT_IN``), or ``None``."""

    @classmethod
    def from_settings(cls, meter_provider: MeterProvider | None, settings: Settings) -> Instruments:
        """Instruments with the model and attribution limits of ``settings``."""
        return cls(
            meter_provider,
            model_limit=settings.metric_model_limit,
            attribution_keys=settings.metric_attribution,
            attribution_limit=settings.metric_attribution_limit,
            latest_semconv=settings.latest_semconv,
        )

    def metric_attributes(
        self, *sources: Mapping[str, Any], attribution: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """The low-cardinality subset of span attributes (later sources win), with model names
        capped; plus the allowlisted keys of ``attribution``, each capped in distinct values."""
        attributed = bool(attribution and self._attribution)
        if len(sources) == 1 and not attributed:
            return self._point_of(sources[0])
        picked = {name: source[name] for source in sources for name in _METRIC_ATTRIBUTES if name in source}
        if attributed:
            self._limit_models(picked)
            self._add_attribution(picked, cast("Mapping[str, str]", attribution))
            return picked
        return self._point(picked)[0]

    def _point_of(self, source: Mapping[str, Any]) -> dict[str, Any]:
        """:meth:`metric_attributes` of one source without attribution (a span's attributes).

        Its values of the metric attributes, read in C (``map`` over ``source.get``, absent ones
        as a marker), look up the point handed out for the same values last time: the picked
        dict, its key and the model limits are built only the first time.
        """
        values = tuple(map(source.get, _METRIC_ATTRIBUTES, _ABSENT_EACH))
        point = self._points_of_values.get(values)
        if point is None:
            picked = {
                name: value for name, value in zip(_METRIC_ATTRIBUTES, values, strict=True) if value is not _ABSENT
            }
            point, kept = self._point(picked)
            if kept and len(self._points_of_values) < _MAX_POINTS:
                self._points_of_values[values] = point
        return point

    def _point(self, picked: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """The one :class:`_Point` of ``picked`` and True; a new one with its models capped and
        False when a model name folded (a server-controlled name is not kept)."""
        key = tuple(picked.items())
        point = self._points.get(key)
        if point is not None:
            return point, True
        point = _Point(picked)
        if self._limit_models(point) or len(self._points) >= _MAX_POINTS:
            return point, False
        self._points[key] = point  # models kept as they are: bounded in number and length
        return point, True

    def _limit_models(self, picked: dict[str, Any]) -> bool:
        """Cap the model names of ``picked`` in place; True when one was folded."""
        folded = False
        for name in _MODEL_ATTRIBUTES:
            model = picked.get(name)
            if isinstance(model, str):
                limited = picked[name] = self._limit_model(model)
                folded |= limited is not model
        return folded

    def _add_attribution(self, picked: dict[str, Any], attribution: Mapping[str, str]) -> None:
        for key, name, limit in self._attribution:
            value = attribution.get(key)
            if value is None:
                continue
            capped = limit(value)
            if capped is not value:
                self._attribution_overflow.add(1, {Ours.OVERFLOW_KEY: key})
            picked[name] = capped

    def record_tokens(self, usage: Usage, attributes: Mapping[str, Any]) -> None:
        """Input/output into the semconv histogram, their non-zero parts into the detail counter."""
        typed = attributes.typed if isinstance(attributes, _Point) else partial(_typed, attributes)
        if usage.input_tokens is not None:
            self.token_usage.record(usage.input_tokens, typed(TokenType.INPUT))
        if usage.output_tokens is not None:
            self.token_usage.record(usage.output_tokens, typed(TokenType.OUTPUT))
        if usage.cache_read_tokens:
            self._token_parts.add(usage.cache_read_tokens, typed(TokenType.CACHE_READ))
        if usage.cache_creation_tokens:
            self._token_parts.add(usage.cache_creation_tokens, typed(TokenType.CACHE_CREATION))
        if usage.reasoning_tokens:
            self._token_parts.add(usage.reasoning_tokens, typed(TokenType.REASONING))
        if self.latest is not None:
            self.latest.record_tokens(usage, attributes)

    def record_unpriced(self, reason: str, attributes: Mapping[str, Any]) -> None:
        self.unpriced.add(1, {**attributes, Ours.UNPRICED_REASON: reason})


def _observe_pricing_age(options: CallbackOptions) -> Iterable[Observation]:
    from genai_cost.pricing.table import default_generated_at

    generated_at = default_generated_at()
    if generated_at is None:
        return []
    return [Observation(max(0.0, time.time() - generated_at.timestamp()))]


def _observe_refresh_failures(options: CallbackOptions) -> Iterable[Observation]:
    refresh = sys.modules.get("genai_cost.pricing.refresh")  # not imported: refresh is off
    if refresh is None:
        return []
    return [Observation(count, {GenAI.ERROR_TYPE: kind}) for kind, count in refresh.failure_counts().items()]


_METRIC_ATTRIBUTES = (
    GenAI.OPERATION_NAME,
    GenAI.PROVIDER_NAME,
    GenAI.REQUEST_MODEL,
    GenAI.RESPONSE_MODEL,
    GenAI.SERVER_ADDRESS,
    GenAI.ERROR_TYPE,
)
"""What metric points carry (each attribute costs the SDK ~1.4 µs per point, so no more)."""
_ABSENT = object()
_ABSENT_EACH = (_ABSENT,) * len(_METRIC_ATTRIBUTES)


def _typed(attributes: Mapping[str, Any], token_type: str) -> dict[str, Any]:
    return {**attributes, GenAI.TOKEN_TYPE: token_type}


class _Point(dict[str, Any]):
    """The metric attributes of every call that has them (:meth:`Instruments.metric_attributes`
    hands out one per distinct set, never mutated), with their per-token-type variants built
    on first use rather than on every call."""

    __slots__ = ("_typed",)

    def __init__(self, attributes: dict[str, Any]) -> None:
        super().__init__(attributes)
        self._typed: dict[str, dict[str, Any]] = {}

    def typed(self, token_type: str) -> dict[str, Any]:
        """These attributes with ``gen_ai.token.type``."""
        found = self._typed.get(token_type)
        if found is None:
            found = self._typed[token_type] = _typed(self, token_type)
        return found


_MAX_POINTS = 1000
"""Distinct metric attribute sets kept by an :class:`Instruments` (further ones are built per call)."""

_MAX_SERIES = 2000
"""Attribute sets kept by :class:`_RunningTotals`; the SDK's default cardinality limit."""
_OVERFLOW: tuple[tuple[str, Any], ...] = ((Metrics.OVERFLOW, True),)


class _PerMeterProvider(Generic[T]):
    """One ``T`` per meter provider, shared by every ``Instruments`` built on it.

    The SDK keeps only the first callback registered under a name: an instrumentor (or
    ``CostSpanProcessor``) creating its own token detail counter would leave every other one's
    totals unreported; and a cardinality cap per instrumentor would multiply the cap. The global
    meter provider has one ``T`` whether it was asked for before the SDK was configured (the
    API's proxy: ``CostSpanProcessor`` built by the distro) or after (the instrumentors). Other
    providers are held weakly: one that is gone takes its ``T`` along.
    """

    def __init__(self) -> None:
        self._global: T | None = None
        self._by_provider: weakref.WeakKeyDictionary[MeterProvider, T] = weakref.WeakKeyDictionary()
        self._lock = fork_safe_lock(self)

    def get(self, meter_provider: MeterProvider | None, make: Callable[[], T]) -> T:
        """The ``T`` of ``meter_provider`` (``None``: the global one), made by ``make`` the first time."""
        provider = None if meter_provider is get_meter_provider() else meter_provider
        with self._lock:
            found = self._global if provider is None else self._by_provider.get(provider)
            if found is None:
                found = make()
                if provider is None:
                    self._global = found
                else:
                    self._by_provider[provider] = found
        return found


_shared_totals: _PerMeterProvider[_RunningTotals] = _PerMeterProvider()
_shared_limiters: _PerMeterProvider[dict[str, ValueLimiter]] = _PerMeterProvider()


def _attribution_limiters(
    meter_provider: MeterProvider | None, keys: tuple[str, ...], limit: int
) -> tuple[tuple[str, str, ValueLimiter], ...]:
    """The distinct-value limiters of ``keys``: one per key and meter provider, so the cap holds
    per process however many instrumentors record."""
    if not keys:
        return ()
    limiters = _shared_limiters.get(meter_provider, dict)
    found = []
    for key in keys:
        limiter = limiters.get(key)
        if limiter is None:
            new = ValueLimiter(limit, max_length=MAX_VALUE_LENGTH, name=f"attribution key {key!r}")
            limiter = limiters.setdefault(key, new)
        found.append((key, Ours.ATTRIBUTION_PREFIX + key, limiter))
    return tuple(found)


class _RunningTotals:
    """Token counts summed per attribute set, reported by an observable counter at collection;
    one per meter provider (see :class:`_PerMeterProvider`).

    These parts are only ever read as totals, so a dict update per call replaces a synchronous
    counter's SDK measurement (~15 µs). Beyond ``_MAX_SERIES`` attribute sets, counts fold into
    one overflow set, as the SDK does. A total stops at the int64 limit: the OTLP encoder
    fails the whole export on a wider integer.
    """

    def __init__(self) -> None:
        self._totals: dict[tuple[tuple[str, Any], ...], int] = {}
        self._lock = fork_safe_lock(self)

    @classmethod
    def observed_by(cls, meter: Meter) -> _RunningTotals:
        """New totals, reported by a new observable counter on ``meter``."""
        totals = cls()
        meter.create_observable_counter(
            Metrics.TOKEN_DETAIL,
            callbacks=[totals.observe],
            unit="{token}",
            description="Cached and reasoning tokens (parts of the input and output token counts).",
        )
        return totals

    def add(self, count: int, attributes: Mapping[str, Any]) -> None:
        """Add ``count`` to the total of ``attributes`` (which name the token type)."""
        key = tuple(attributes.items())
        with self._lock:
            total = self._totals.get(key)
            if total is None and len(self._totals) >= _MAX_SERIES:
                key = (*_OVERFLOW, (GenAI.TOKEN_TYPE, attributes[GenAI.TOKEN_TYPE]))
                total = self._totals.get(key)
            self._totals[key] = min((total or 0) + count, MAX_COUNT)  # OTLP sends int64

    def observe(self, options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            totals = list(self._totals.items())
        return [Observation(total, dict(key)) for key, total in totals]
