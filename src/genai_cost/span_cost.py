"""Pricing a finished span from its attributes: shared by ``CostSpanProcessor`` (in the app)
and the collector gateway's processor (:mod:`genai_cost.gateway`), so a span is priced the
same way wherever it is priced.

A span carries usage when it has any of the token counts of the semconv
(``gen_ai.usage.*``), of the older ``prompt_tokens``/``completion_tokens`` names or of
OpenInference (``llm.token_count.*``). One priced already (a cost amount, or a pricing
status without one) is not priced again; it still contributes its cost and tokens to its
ancestors' subtree totals (:class:`Call`, :class:`Subtree`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from genai_cost import attribution
from genai_cost.compat import compat_for
from genai_cost.config import Settings
from genai_cost.costing import Costing, pricing_context
from genai_cost.metrics import Instruments
from genai_cost.pricing.providers import canonical_provider
from genai_cost.semconv import GenAI, Legacy, OpenInference, Ours
from genai_cost.usage import MAX_AMOUNT, MAX_COUNT, Usage, cost_amount, token_count, usage_from_attributes

__all__ = [
    "OUR_SCOPE",
    "USAGE_KEYS",
    "WATCHED_KEYS",
    "Call",
    "SaturationLog",
    "SpanCosting",
    "Subtree",
    "is_own_call",
    "plain_copy",
    "token_pair",
]

logger = logging.getLogger(__name__)

OUR_SCOPE = "genai_cost.instrumentation."
"""The instrumentation scope names of our instrumentors start so."""

USAGE_KEYS = frozenset(
    {
        GenAI.USAGE_INPUT_TOKENS,
        GenAI.USAGE_OUTPUT_TOKENS,
        Legacy.USAGE_PROMPT_TOKENS,
        Legacy.USAGE_COMPLETION_TOKENS,
        OpenInference.TOKEN_COUNT_PROMPT,
        OpenInference.TOKEN_COUNT_COMPLETION,
    }
)
"""A span with any of these carries usage."""
WATCHED_KEYS = USAGE_KEYS | {GenAI.USAGE_COST_AMOUNT, Ours.PRICING_STATUS}
"""The keys :meth:`SpanCosting.price` needs to know the presence of."""
_INPUT_KEYS = (GenAI.USAGE_INPUT_TOKENS, Legacy.USAGE_PROMPT_TOKENS, OpenInference.TOKEN_COUNT_PROMPT)
_OUTPUT_KEYS = (GenAI.USAGE_OUTPUT_TOKENS, Legacy.USAGE_COMPLETION_TOKENS, OpenInference.TOKEN_COUNT_COMPLETION)
_MODEL_KEYS = (GenAI.RESPONSE_MODEL, GenAI.REQUEST_MODEL, OpenInference.MODEL_NAME, OpenInference.EMBEDDING_MODEL_NAME)
_PROVIDER_KEYS = (GenAI.PROVIDER_NAME, Legacy.SYSTEM, OpenInference.PROVIDER, OpenInference.SYSTEM)


class Call:
    """What one span with usage contributes to its ancestors."""

    __slots__ = ("cost", "input_tokens", "output_tokens")

    def __init__(self, input_tokens: int, output_tokens: int, cost: Decimal) -> None:
        self.cost = cost
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens

    @classmethod
    def of(cls, usage: Usage, cost: Decimal | None = None) -> Call:
        return cls(usage.input_tokens or 0, usage.output_tokens or 0, cost or Decimal(0))


class Subtree:
    """Running totals of the priced spans below one span."""

    __slots__ = ("calls", "cost", "input_tokens", "output_tokens")

    def __init__(self) -> None:
        self.cost = Decimal(0)
        self.input_tokens = 0
        self.output_tokens = 0
        self.calls = 0

    def add(self, call: Call) -> bool:
        """Add one call; False when a token sum reached int64 and stays there (saturated)."""
        self.cost += call.cost
        self.input_tokens += call.input_tokens
        self.output_tokens += call.output_tokens
        self.calls += 1
        return self._saturate()

    def merge(self, other: Subtree) -> bool:
        """Add all the calls of ``other``; False when a token sum saturated."""
        self.cost += other.cost
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.calls += other.calls
        return self._saturate()

    def _saturate(self) -> bool:
        if self.input_tokens <= MAX_COUNT and self.output_tokens <= MAX_COUNT:
            return True
        self.input_tokens = min(self.input_tokens, MAX_COUNT)
        self.output_tokens = min(self.output_tokens, MAX_COUNT)
        return False

    def attributes(self) -> dict[str, Any]:
        return {
            Ours.SUBTREE_COST_AMOUNT: float(min(self.cost, MAX_AMOUNT)),
            Ours.SUBTREE_INPUT_TOKENS: self.input_tokens,
            Ours.SUBTREE_OUTPUT_TOKENS: self.output_tokens,
            Ours.SUBTREE_CALLS: self.calls,
        }


class SaturationLog:
    """Warns the first time a subtree token sum of its owner reached the int64 limit."""

    __slots__ = ("_logged",)

    def __init__(self) -> None:
        self._logged = False

    def note(self, saturated: bool) -> None:
        if saturated and not self._logged:
            self._logged = True
            logger.warning(
                "genai-cost: a subtree token sum reached the int64 limit (%d); it is reported at that limit",
                MAX_COUNT,
            )


def plain_copy(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """A plain ``dict`` copy of a span's attributes, made in C when the mapping offers it.

    An ended SDK span's ``attributes`` is a read-only proxy of the SDK's ``BoundedAttributes``,
    a Python ``MutableMapping``: ``dict()`` of it, and every ``get`` on it, run Python code per
    key (a ``get`` of an absent key raises and catches a ``KeyError`` inside). The proxy's
    public ``copy()`` calls ``BoundedAttributes.copy()``, which copies its inner dict in one C
    call; a plain dict (the collector gateway's spans) copies itself alike. Any other mapping,
    or one whose ``copy()`` is not a dict, is copied key by key.
    """
    copy = getattr(attributes, "copy", None)
    copied = copy() if copy is not None else None
    return copied if type(copied) is dict else dict(attributes)


def _count(attributes: Mapping[str, Any], keys: tuple[str, ...]) -> int:
    """The first of ``keys`` that holds a token count (by the one rule), else 0."""
    for key in keys:
        value = attributes.get(key)
        if value is not None and (tokens := token_count(value)) is not None:
            return tokens
    return 0


def is_own_call(scope: Any, attributes: Mapping[str, Any]) -> bool:
    """Whether a span of instrumentation ``scope`` is the span of one call our instrumentors made.
    A call billed apart (a Bedrock agent's invocation, a Groq compound system's call) is not:
    its model calls are spans below it."""
    return scope is not None and scope.name.startswith(OUR_SCOPE) and attributes.get(Ours.BILLED_APART) is not True


def token_pair(attributes: Mapping[str, Any]) -> tuple[int, int]:
    """The span's input and output token counts (0 when absent or not a count)."""
    return _count(attributes, _INPUT_KEYS), _count(attributes, _OUTPUT_KEYS)


def _first(attributes: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = attributes.get(key)
        if isinstance(value, str) and value:
            return value
    return None


class SpanCosting:
    """Prices finished spans from their attributes with one :class:`Costing`."""

    def __init__(self, costing: Costing, instruments: Instruments, settings: Settings) -> None:
        self._costing = costing
        self._instruments = instruments
        self._compat = compat_for(settings.compat)

    def price(
        self,
        attributes: Mapping[str, Any],
        watched: frozenset[str],
        *,
        started_ns: int | None,
        succeeded: bool,
        attributed: Mapping[str, str] | None = None,
    ) -> tuple[Call, dict[str, Any] | None] | None:
        """The span's contribution to its ancestors, and its attributes with the cost and the
        ``attributed`` attribution added (``None`` when it was priced already); ``None`` when
        it carries no usage. ``watched``: which of :data:`WATCHED_KEYS` it has.

        Records the cost metric and ``track_usage`` totals of a span priced here."""
        if GenAI.USAGE_COST_AMOUNT in watched:
            # Priced already (the common case), unless the amount is no amount: then priced here.
            amount = cost_amount(attributes[GenAI.USAGE_COST_AMOUNT])
            if amount is not None:
                return Call(*token_pair(attributes), amount), None
        if Ours.PRICING_STATUS in watched:  # priced before, without an amount (unknown model)
            usage = usage_from_attributes(attributes)
            return None if usage is None else (Call.of(usage), None)
        # Copied once: every read below is then a plain dict lookup, and the copy, with the cost
        # added, becomes the forwarded span's.
        values = plain_copy(attributes)
        usage = usage_from_attributes(values)
        if usage is None:
            return None
        model = _first(values, _MODEL_KEYS)
        provider = canonical_provider(_first(values, _PROVIDER_KEYS))
        service_tier = values.get(GenAI.RESPONSE_SERVICE_TIER)
        cost = self._costing.price(
            usage,
            model=model,
            provider=provider,
            started_ns=started_ns,
            requested_model=values.get(GenAI.REQUEST_MODEL),
            context=None if service_tier is None else pricing_context(service_tier=service_tier),
        )
        self._costing.settle(
            cost,
            usage,
            provider=provider,
            model=model,
            metric_attributes=self._instruments.metric_attributes(values, attribution=attributed),
            succeeded=succeeded,
            attribution=attributed,
        )
        cost_attributes = cost.attributes()
        if None in cost_attributes.values():  # one scan in C: values are rarely None
            cost_attributes = {name: value for name, value in cost_attributes.items() if value is not None}
        values.update(cost_attributes)
        if self._compat is not None:
            # The other instrumentation's own names stay as it wrote them (an OpenInference span kind).
            values.update({k: v for k, v in self._compat.attributes(values).items() if k not in values})
        if attributed:
            values.update(attribution.span_attributes(attributed))
        return Call.of(usage, cost.amount), values
