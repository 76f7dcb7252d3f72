"""Usage -> cost attributes, cost metrics and usage trackers; shared by instrumentors and the processor.

Whoever prices a call (our instrumentors just before ending their span, or
``CostSpanProcessor`` for other instrumentations' spans) goes through :meth:`Costing.settle`,
so the cost metric and ``track_usage`` blocks see every priced call exactly once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from genai_cost import budgets, tracking
from genai_cost._fork import fork_safe_lock
from genai_cost.config import get_settings
from genai_cost.metrics import Instruments
from genai_cost.pricing.calculate import calculate
from genai_cost.pricing.normalize import MAX_MODEL_NAME_LENGTH
from genai_cost.semconv import CostSource, GenAI, Ours, PricingModelSource, PricingStatus, Provider
from genai_cost.usage import Usage, cost_amount

if TYPE_CHECKING:
    from genai_cost.pricing.calculate import CostBreakdown
    from genai_cost.pricing.schema import PriceEntry, PricingContext
    from genai_cost.pricing.table import PricingTable

__all__ = ["Cost", "Costing", "pricing_context"]

logger = logging.getLogger(__name__)

_MAX_WARNED_MODELS = 1_000
_STANDARD_VALUES = frozenset({"default", "standard", "auto", "global", "unspecified"})
"""Context values that mean the standard price (OpenAI ``default``, Anthropic and Gemini
``standard``, Anthropic's default ``inference_geo`` ``global``, Gemini ``unspecified``)."""


def pricing_context(**served: object) -> dict[str, str] | None:
    """The pricing context of what a provider served: its string values that are not the
    standard one (``pricing_context(service_tier="flex")``); ``None`` when there are none, so
    a standard call is priced exactly as a call without context."""
    context = None
    for key, value in served.items():  # a loop, not a comprehension: most calls find nothing
        if isinstance(value, str) and value and value not in _STANDARD_VALUES:
            context = context or {}
            context[key] = value
    return context


_BREAKDOWN_NAMES: dict[str, str] = {}
"""The span attribute of each breakdown part (``genai_cost.cost.<type>``), made once per type:
the types are the price keys of the pricing schema, a bounded set."""


@dataclass(frozen=True, init=False)
class Cost:
    """The priced outcome of one call."""

    status: str
    """A ``PricingStatus`` value."""
    amount: Decimal | None = None
    """Total cost; ``None`` unless priced locally or reported by the provider."""
    currency: str = "USD"
    source: str | None = None
    """A ``CostSource`` value when there is an amount."""
    breakdown: Mapping[str, Decimal] = field(default_factory=dict)
    """Cost per token type (``input``, ``cache_read``, ``output``, ...)."""
    entry_id: str | None = None
    """Id of the pricing entry used."""
    model_source: str | None = None
    """A ``PricingModelSource`` value when the entry was not matched by the call's primary model name."""
    context: Mapping[str, str] | None = None
    """The pricing context the call was priced in (non-standard values only)."""
    version: str | None = None
    """The version of the pricing table consulted, when the span is to name it."""

    def __init__(
        self,
        status: str,
        amount: Decimal | None = None,
        currency: str = "USD",
        source: str | None = None,
        breakdown: Mapping[str, Decimal] | None = None,
        entry_id: str | None = None,
        model_source: str | None = None,
        context: Mapping[str, str] | None = None,
        version: str | None = None,
    ) -> None:
        # Every priced call builds one: fill the fields at once rather than through the frozen
        # dataclass's one object.__setattr__ call per field.
        self.__dict__.update(
            status=status,
            amount=amount,
            currency=currency,
            source=source,
            breakdown={} if breakdown is None else breakdown,
            entry_id=entry_id,
            model_source=model_source,
            context=context,
            version=version,
        )

    def attributes(self) -> dict[str, Any]:
        """The span attributes that describe this cost."""
        attributes: dict[str, Any] = {Ours.PRICING_STATUS: self.status}
        if self.context:
            for key, value in self.context.items():
                attributes[Ours.PRICING_CONTEXT_PREFIX + key] = value
        if self.version is not None:
            attributes[Ours.PRICING_VERSION] = self.version
        if self.amount is None:
            return attributes
        attributes[GenAI.USAGE_COST_AMOUNT] = float(self.amount)
        attributes[GenAI.USAGE_COST_CURRENCY] = self.currency
        attributes[GenAI.USAGE_COST_SOURCE] = self.source
        if self.entry_id is not None:
            attributes[Ours.PRICING_ENTRY] = self.entry_id
        if self.model_source is not None:
            attributes[Ours.PRICING_MODEL_SOURCE] = self.model_source
        for token_type, amount in self.breakdown.items():
            name = _BREAKDOWN_NAMES.get(token_type)
            if name is None:
                name = _BREAKDOWN_NAMES.setdefault(token_type, Ours.COST_PREFIX + token_type)
            attributes[name] = float(amount)
        return attributes


_NO_USAGE = Cost(PricingStatus.NO_USAGE)
_UNKNOWN_MODEL = Cost(PricingStatus.UNKNOWN_MODEL)
_PRICING_FAILED = Cost(PricingStatus.ERROR)
# A model Ollama runs on the user's machine costs nothing per token (the tokens still count);
# an entry of the user's table for it wins. Ollama's cloud models (``gpt-oss:120b-cloud``) are
# billed by ollama.com and stay unpriced without one.
_OLLAMA_LOCAL = Cost(PricingStatus.PRICED, Decimal(0), source=CostSource.LOCAL, entry_id="ollama:local")


def _priced(breakdown: CostBreakdown, model_source: str | None, version: str | None) -> Cost:
    """The :class:`Cost` of a call priced by the table: what ``Cost(PricingStatus.PRICED, ...)``
    builds, with every field set in one dict rather than bound as keywords first (a third
    less time; every priced call builds one)."""
    cost = object.__new__(Cost)
    cost.__dict__.update(
        {
            "status": PricingStatus.PRICED,
            "amount": breakdown.total,
            "currency": breakdown.currency,
            "source": CostSource.LOCAL,
            "breakdown": breakdown.by_type,
            "entry_id": breakdown.entry_id,
            "model_source": model_source,
            "context": None,
            "version": version,
        }
    )
    return cost


def _is_ollama_cloud(model: str | None) -> bool:
    return model is not None and (model.endswith("-cloud") or model.endswith(":cloud"))


class Costing:
    """Prices calls against a pricing table and records the outcome."""

    def __init__(
        self,
        instruments: Instruments,
        pricing: PricingTable | None = None,
        *,
        providers: Iterable[str] = (),
        version_on_span: bool | None = None,
    ) -> None:
        """Price with ``pricing``, else with the process-wide table, read at each call (the
        refresher may replace it).

        The process-wide table is built here, where instrumentation is set up, and the bundled
        prices of ``providers`` decoded: the first call pays for neither. ``version_on_span``
        (default: when the table can change, i.e. runtime refresh is on for the process-wide
        table) puts ``genai_cost.pricing.version`` on every priced span; otherwise it belongs
        on the instrumentation scope (:attr:`scope_version`), and a span names the table only
        when it is not that one (replaced since).
        """
        # The pricing engine comes with instrumentation (not with the first call).
        from genai_cost.pricing.table import PricingTable

        self._instruments = instruments
        self._pricing = pricing
        self._default = PricingTable.default
        initial = pricing if pricing is not None else self._default()
        initial.prepare(providers)
        if version_on_span is None:
            version_on_span = pricing is None and get_settings().pricing_url is not None
        self._initial = None if version_on_span else initial
        """The table the scope names (``None``: spans name theirs); not kept when refresh replaces tables."""
        self._warned_models: set[tuple[str | None, str]] = set()
        self._failure_logged = False
        self._lock = fork_safe_lock(self)
        tracking.note_call_counter()

    @property
    def scope_version(self) -> str | None:
        """The table version for the instrumentation scope; ``None`` when spans carry it."""
        return None if self._initial is None else self._initial.version

    @property
    def pricing(self) -> PricingTable:
        """The table the next call is priced with."""
        return self._pricing if self._pricing is not None else self._default()

    def price(
        self,
        usage: Usage | None,
        *,
        model: str | None,
        provider: str | None,
        started_ns: int | None = None,
        provider_cost: object = None,
        requested_model: object = None,
        context: PricingContext | None = None,
    ) -> Cost:
        """Price one call at the prices in force when it started (``started_ns``: ns since the
        epoch, as ``time.time_ns()`` and span start times; default now). A cost reported by the
        provider wins over the local table.

        When ``model`` (the model that answered) matches no entry, the call is priced by
        ``requested_model`` and the cost says so: a legacy ``davinci-002`` completion answers
        ``davinci:2023-07-21-v2``, a name no price list carries.

        ``context`` is what the provider served (``{"service_tier": "flex"}``, see
        :func:`pricing_context`): it selects the entry's price variants.
        """
        cost = self._price(usage, model, provider, started_ns, provider_cost, requested_model, context)
        return replace(cost, context=context) if context else cost

    def _price(
        self,
        usage: Usage | None,
        model: str | None,
        provider: str | None,
        started_ns: int | None,
        provider_cost: object,
        requested_model: object,
        context: PricingContext | None,
    ) -> Cost:
        reported = None if provider_cost is None else cost_amount(provider_cost)
        if reported is not None:
            return Cost(PricingStatus.PROVIDER, reported, source=CostSource.PROVIDER)
        if usage is None or usage.is_empty:
            return _NO_USAGE
        try:
            table = self.pricing  # one table for the whole call, whatever a refresh does meanwhile
            when = time.time() if started_ns is None else started_ns / 1e9
            entry, model_source = self._match(table, model, requested_model, provider, when, context)
            breakdown = None if entry is None else calculate(usage, entry)
        except Exception:
            self._log_failure()
            return _PRICING_FAILED
        version = None if table is self._initial else table.version
        if breakdown is None and provider == Provider.OLLAMA and not _is_ollama_cloud(model):
            return _OLLAMA_LOCAL if version is None else replace(_OLLAMA_LOCAL, version=version)
        if breakdown is None:
            self._warn_unknown(provider, model or "")
            return _UNKNOWN_MODEL if version is None else replace(_UNKNOWN_MODEL, version=version)
        return _priced(breakdown, model_source, version)

    @staticmethod
    def _match(
        table: PricingTable,
        model: str | None,
        requested_model: object,
        provider: str | None,
        when: float,
        context: PricingContext | None,
    ) -> tuple[PriceEntry | None, str | None]:
        """The entry for ``model``, else for ``requested_model``, for a call starting ``when``
        (seconds since the epoch); and the ``PricingModelSource`` of a fallback."""
        entry = table.match_epoch(model, provider, when, context) if model else None
        if entry is not None or not isinstance(requested_model, str) or requested_model in ("", model):
            return entry, None
        entry = table.match_epoch(requested_model, provider, when, context)
        return entry, None if entry is None else PricingModelSource.REQUEST_MODEL

    def settle(
        self,
        cost: Cost,
        usage: Usage | None,
        *,
        provider: str | None,
        model: str | None,
        metric_attributes: Mapping[str, Any],
        succeeded: bool = True,
        trackers: tuple[tracking.UsageTotals, ...] | None = None,
        attribution: Mapping[str, str] | None = None,
    ) -> None:
        """Record the cost metric (or the unpriced counter), count the call in ``track_usage``
        blocks and its cost in the budgets its ``attribution`` matches.

        ``trackers`` are the blocks active when the call started; by default those active now.
        """
        if trackers is None:
            trackers = tracking.active_trackers()
        if trackers:
            tracking.record_call(
                trackers,
                provider=provider,
                model=model,
                usage=usage,
                cost=cost,
                succeeded=succeeded,
                attribution=attribution,
            )
        amount = cost.amount
        if amount is not None:
            if budgets.active():
                budgets.record(attribution, amount)
            self._instruments.cost.record(float(amount), metric_attributes)
        elif succeeded:
            self._instruments.record_unpriced(cost.status, metric_attributes)

    def _log_failure(self) -> None:
        """A failing table fails every call alike: the traceback once, then debug lines."""
        first = not self._failure_logged
        self._failure_logged = True
        level = logging.WARNING if first else logging.DEBUG
        logger.log(level, "genai-cost: pricing failed; the call is recorded without cost", exc_info=first)

    def _warn_unknown(self, provider: str | None, model: str) -> None:
        """One warning per unknown model; names are remembered truncated (the server controls them)."""
        key = (provider, model[:MAX_MODEL_NAME_LENGTH])
        if key in self._warned_models:
            return
        with self._lock:
            if len(self._warned_models) >= _MAX_WARNED_MODELS or key in self._warned_models:
                return
            self._warned_models.add(key)
        logger.warning(
            "genai-cost: no price for model %r (provider %r); add it with GENAI_COST_PRICING_FILE",
            key[1],
            provider,
        )
