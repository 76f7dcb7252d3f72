"""The metric instruments genai-cost records, with the semconv bucket advisories."""

from __future__ import annotations

import sys
import time
import weakref
from collections.abc import Iterable, Mapping
from typing import Any

from opentelemetry.metrics import CallbackOptions, Meter, MeterProvider, Observation, get_meter, get_meter_provider

from genai_cost._fork import fork_safe_lock
from genai_cost.latest_metrics import LatestInstruments
from genai_cost.pricing.normalize import MAX_MODEL_NAME_LENGTH
from genai_cost.semconv import GenAI, Metrics, Ours, TokenType
from genai_cost.usage import MAX_COUNT, Usage
from genai_cost.version import __version__

__all__ = ["OTHER_MODEL", "Instruments", "ModelNameLimiter"]

# Explicit bucket boundaries advised by the GenAI semantic conventions.
_TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]
_DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
# Most calls cost fractions of a cent: resolve down to a millionth of a dollar.
_COST_BUCKETS = [
    1e-6, 5e-6, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 50.0,
]  # fmt: skip

OTHER_MODEL = "_other"
"""Model attribute value that stands for every model name beyond the cardinality limit."""

_MODEL_ATTRIBUTES = (GenAI.REQUEST_MODEL, GenAI.RESPONSE_MODEL)


class ModelNameLimiter:
    """Keeps metric cardinality and memory bounded: the first ``limit`` model names pass, the rest fold.

    A name longer than :data:`~genai_cost.pricing.normalize.MAX_MODEL_NAME_LENGTH` always folds
    into ``_other``: the server controls it, and every metric series would keep it.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._seen: set[str] = set()
        self._lock = fork_safe_lock(self)

    def __call__(self, model: str) -> str:
        if model in self._seen:
            return model
        if len(model) > MAX_MODEL_NAME_LENGTH:
            return OTHER_MODEL
        with self._lock:
            if len(self._seen) < self._limit:
                self._seen.add(model)
                return model
        return OTHER_MODEL


class Instruments:
    """Histograms, the token detail counter and the unpriced-call counter on one meter provider.

    Every instrumentor and ``CostSpanProcessor`` builds its own; on one meter provider they
    share the same instruments (the SDK hands back the instrument already registered under a
    name) and the same token detail totals (:class:`_SharedTotals`).
    """

    def __init__(
        self, meter_provider: MeterProvider | None = None, *, model_limit: int, latest_semconv: bool = False
    ) -> None:
        meter: Meter = get_meter(
            "genai_cost", __version__, meter_provider, schema_url="https://opentelemetry.io/schemas/1.37.0"
        )
        self._limit_model = ModelNameLimiter(model_limit)
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
        self._token_parts = _shared_totals.of(meter_provider, meter)
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

    def metric_attributes(self, *sources: Mapping[str, Any]) -> dict[str, Any]:
        """The low-cardinality subset of span attributes (later sources win), with model names capped."""
        picked = {name: source[name] for source in sources for name in _METRIC_ATTRIBUTES if name in source}
        for name in _MODEL_ATTRIBUTES:
            model = picked.get(name)
            if isinstance(model, str):
                picked[name] = self._limit_model(model)
        return picked

    def record_tokens(self, usage: Usage, attributes: Mapping[str, Any]) -> None:
        """Input/output into the semconv histogram, their non-zero parts into the detail counter."""
        if usage.input_tokens is not None:
            self.token_usage.record(usage.input_tokens, {**attributes, GenAI.TOKEN_TYPE: TokenType.INPUT})
        if usage.output_tokens is not None:
            self.token_usage.record(usage.output_tokens, {**attributes, GenAI.TOKEN_TYPE: TokenType.OUTPUT})
        if usage.cache_read_tokens:
            self._token_parts.add(usage.cache_read_tokens, attributes, TokenType.CACHE_READ)
        if usage.cache_creation_tokens:
            self._token_parts.add(usage.cache_creation_tokens, attributes, TokenType.CACHE_CREATION)
        if usage.reasoning_tokens:
            self._token_parts.add(usage.reasoning_tokens, attributes, TokenType.REASONING)
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

_MAX_SERIES = 2000
"""Attribute sets kept by :class:`_RunningTotals`; the SDK's default cardinality limit."""
_OVERFLOW: tuple[tuple[str, Any], ...] = ((Metrics.OVERFLOW, True),)


class _SharedTotals:
    """One set of token detail totals, and one observable counter, per meter provider.

    The SDK keeps only the first callback registered under a name: an instrumentor (or
    ``CostSpanProcessor``) creating its own counter would leave every other one's totals
    unreported. The global meter provider has one set whether it was asked for before the
    SDK was configured (the API's proxy: ``CostSpanProcessor`` built by the distro) or after
    (the instrumentors). Other providers are held weakly: one that is gone takes its totals along.
    """

    def __init__(self) -> None:
        self._global: _RunningTotals | None = None
        self._by_provider: weakref.WeakKeyDictionary[MeterProvider, _RunningTotals] = weakref.WeakKeyDictionary()
        self._lock = fork_safe_lock(self)

    def of(self, meter_provider: MeterProvider | None, meter: Meter) -> _RunningTotals:
        """The totals of ``meter_provider`` (``None``: the global one), whose ``meter`` gets the counter."""
        provider = None if meter_provider is get_meter_provider() else meter_provider
        with self._lock:
            totals = self._global if provider is None else self._by_provider.get(provider)
            if totals is None:
                totals = _RunningTotals()
                meter.create_observable_counter(
                    Metrics.TOKEN_DETAIL,
                    callbacks=[totals.observe],
                    unit="{token}",
                    description="Cached and reasoning tokens (parts of the input and output token counts).",
                )
                if provider is None:
                    self._global = totals
                else:
                    self._by_provider[provider] = totals
        return totals


_shared_totals = _SharedTotals()


class _RunningTotals:
    """Token counts summed per attribute set, reported by an observable counter at collection.

    These parts are only ever read as totals, so a dict update per call replaces a synchronous
    counter's SDK measurement (~15 µs). Beyond ``_MAX_SERIES`` attribute sets, counts fold into
    one overflow set, as the SDK does. A total stops at the int64 limit: the OTLP encoder
    fails the whole export on a wider integer.
    """

    def __init__(self) -> None:
        self._totals: dict[tuple[tuple[str, Any], ...], int] = {}
        self._lock = fork_safe_lock(self)

    def add(self, count: int, attributes: Mapping[str, Any], token_type: str) -> None:
        key = (*attributes.items(), (GenAI.TOKEN_TYPE, token_type))
        with self._lock:
            total = self._totals.get(key)
            if total is None and len(self._totals) >= _MAX_SERIES:
                key = (*_OVERFLOW, (GenAI.TOKEN_TYPE, token_type))
                total = self._totals.get(key)
            self._totals[key] = min((total or 0) + count, MAX_COUNT)  # OTLP sends int64

    def observe(self, options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            totals = list(self._totals.items())
        return [Observation(total, dict(key)) for key, total in totals]
