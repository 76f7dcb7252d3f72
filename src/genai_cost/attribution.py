"""Attribution: whom an LLM call is for (tenant, feature, user, agent, ...).

``with genai_cost.attribute(tenant="acme"):`` puts keys in the OpenTelemetry context, so they
reach every call made inside: nested functions, asyncio tasks created inside, threads started
with a copied context (``contextvars.copy_context().run``, ``asyncio.to_thread``, OpenTelemetry's
threading instrumentation). Blocks nest; the inner value wins per key, ``None`` removes a key.
Operators can also name OpenTelemetry baggage entries to read (``GENAI_COST_ATTRIBUTION_BAGGAGE``),
so attribution set at the edge of a request (HTTP middleware, an upstream service's ``baggage``
header) needs no change in the code that calls the LLM. ``attribute()`` wins over baggage.

The OpenTelemetry context (rather than a private ``ContextVar``) is the carrier because it is
what the rest of the pipeline already propagates: whatever carries the current span into a
thread or task carries the attribution, and baggage lives there too.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from opentelemetry import baggage
from opentelemetry import context as otel_context

from genai_cost._scope import ScopeDecorator
from genai_cost.config import ATTRIBUTION_KEY
from genai_cost.semconv import GenAI, Ours

__all__ = [
    "AGENT",
    "MAX_VALUE_LENGTH",
    "agent_name",
    "attribute",
    "clean_value",
    "current",
    "span_attributes",
    "valid_key",
]

logger = logging.getLogger(__name__)

AGENT = "agent"
"""The key an ancestor agent or workflow span's name is attributed under."""
MAX_VALUE_LENGTH = 256
"""Longer values are cut to this many characters: a baggage header is written by whoever calls the app."""

_CONTEXT_KEY = otel_context.create_key("genai_cost.attribution")
_entered = False
"""True once an ``attribute()`` block was entered in this process: until then reading the
attribution of a call costs one flag test (a plain bool: set once, never reset)."""


def valid_key(key: object) -> bool:
    """Keys become attribute and metric label names: letters, digits, ``_``, ``.``, ``-``; at most 64."""
    return isinstance(key, str) and ATTRIBUTION_KEY.fullmatch(key) is not None


def clean_value(value: object) -> str | None:
    """An attribution value as carried: a string of at most ``MAX_VALUE_LENGTH`` characters; ``None`` stays ``None``."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text[:MAX_VALUE_LENGTH]


class _Frame:
    """One entered ``attribute()`` block: the attribution in force inside it, and the one outside."""

    __slots__ = ("owner", "parent", "values")

    def __init__(self, values: Mapping[str, str], parent: _Frame | None, owner: attribute) -> None:
        self.values = values
        self.parent = parent
        self.owner = owner


class attribute(ScopeDecorator):
    """Attribute every LLM call made inside to ``keys``: ``with attribute(tenant="acme", feature="search"):``.

    Also ``async with`` and a decorator (functions, coroutines, generators). Values are
    strings (others are converted with ``str``, ``None`` removes the key in an inner block).
    Calls carry them on their span (``genai_cost.attribution.<key>``), in ``track_usage``
    (``usage.by("tenant")``) and in budgets; metrics carry only the keys the operator allows
    (``GENAI_COST_METRIC_ATTRIBUTION``).
    """

    def __init__(self, **keys: object) -> None:
        bad = [key for key in keys if not valid_key(key)]
        if bad:
            raise ValueError(f"attribution keys must match [A-Za-z0-9_.-]{{1,64}}, got {bad!r}")
        self._values = {key: clean_value(value) for key, value in keys.items()}

    # Entering pushes a frame that names this object; leaving pops this object's innermost frame
    # from whichever context leaves. No token is kept on ``self``: threads and tasks that run one
    # decorated function at once cannot pop each other's frames.
    def __enter__(self) -> Mapping[str, str]:
        global _entered
        _entered = True
        context = otel_context.get_current()
        parent = context.get(_CONTEXT_KEY)
        merged = dict(parent.values) if isinstance(parent, _Frame) else {}
        for key, value in self._values.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        frame = _Frame(merged, parent if isinstance(parent, _Frame) else None, self)
        otel_context.attach(otel_context.set_value(_CONTEXT_KEY, frame, context))
        return merged

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        context = otel_context.get_current()
        frame = context.get(_CONTEXT_KEY)
        while isinstance(frame, _Frame) and frame.owner is not self:
            frame = frame.parent
        if isinstance(frame, _Frame):
            otel_context.attach(otel_context.set_value(_CONTEXT_KEY, frame.parent, context))

    async def __aenter__(self) -> Mapping[str, str]:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def __repr__(self) -> str:
        return f"attribute({', '.join(f'{k}={v!r}' for k, v in self._values.items())})"


def current(baggage_keys: tuple[str, ...] = ()) -> Mapping[str, str] | None:
    """The attribution in force in the current context, ``None`` when there is none.

    ``baggage_keys``: the baggage entries to read (``Settings.attribution_baggage``). Never raises.
    """
    if not _entered and not baggage_keys:
        return None
    try:
        return _read(otel_context.get_current(), baggage_keys)
    except Exception:
        logger.debug("genai-cost: reading the attribution failed", exc_info=True)
        return None


def _read(context: otel_context.Context, baggage_keys: tuple[str, ...]) -> Mapping[str, str] | None:
    frame = context.get(_CONTEXT_KEY)
    values: Mapping[str, str] | None = frame.values if isinstance(frame, _Frame) and frame.values else None
    if not baggage_keys:
        return values
    entries = baggage.get_all(context)
    if not entries:
        return values
    found = {key: value for key in baggage_keys if (value := _baggage_value(entries.get(key))) is not None}
    if not found:
        return values
    if values:
        found.update(values)
    return found


def _baggage_value(value: object) -> str | None:
    """A baggage entry's value without W3C properties: OpenTelemetry Python's propagator keeps
    ``search;ttl=60`` whole (its baggage API has no properties, opentelemetry-specification#3972)."""
    if isinstance(value, str):
        value = value.split(";", 1)[0].strip()
    return clean_value(value) or None


def span_attributes(attribution: Mapping[str, str]) -> dict[str, Any]:
    """``genai_cost.attribution.<key>`` for each key."""
    return {Ours.ATTRIBUTION_PREFIX + key: value for key, value in attribution.items()}


def agent_name(attributes: Mapping[str, Any]) -> str | None:
    """The agent or workflow a span stands for (``gen_ai.agent.name``, else ``gen_ai.workflow.name``), if any."""
    for name in (GenAI.AGENT_NAME, GenAI.WORKFLOW_NAME):
        value = attributes.get(name)
        if isinstance(value, str) and value:
            return value[:MAX_VALUE_LENGTH]
    return None
