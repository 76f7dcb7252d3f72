"""Pricing one batch of finished spans at a collector, and the cost rollup inside the batch.

Independent of any collector: the adapter (:mod:`genai_cost.gateway.rotel`) reads the spans
into :class:`FinishedSpan` records and writes back the attributes :meth:`BatchPricer.price`
returns. Each span with usage is priced by :class:`~genai_cost.span_cost.SpanCosting`, the
same code that prices other instrumentations' spans inside an app.

The rollup sees only the batch: a span gets ``genai_cost.subtree.*`` totals from its
descendants that arrive in the same batch, through parents that are in the batch too. One call
is counted once, by the rules of the in-app processor that a batch can apply: a span with usage
above another span of the batch that contributed (a framework span around the SDK span of the
same call) and a span under one of genai-cost's own LLM spans are neither priced nor counted.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from genai_cost.instrumentation._core import safe
from genai_cost.semconv import Ours
from genai_cost.span_cost import USAGE_KEYS, WATCHED_KEYS, Call, SaturationLog, SpanCosting, Subtree

__all__ = ["BatchPricer", "FinishedSpan"]

_MISSING = object()


@dataclass(frozen=True, slots=True)
class FinishedSpan:
    """What pricing and the rollup read of one span."""

    trace_id: bytes
    span_id: bytes
    parent_span_id: bytes
    attributes: dict[str, Any]
    """Its attributes with a plain value (str, bool, int, float, bytes); arrays and maps left out."""
    started_ns: int | None
    succeeded: bool
    ours: bool
    """The span of one call genai-cost's own instrumentors made (:func:`genai_cost.span_cost.is_own_call`)."""


class BatchPricer:
    """Prices the spans of a batch and rolls their cost up to their ancestors in the batch."""

    def __init__(self, span_costing: SpanCosting) -> None:
        self._span_costing = span_costing
        self._saturation = SaturationLog()

    def price(self, spans: Sequence[FinishedSpan]) -> list[dict[str, Any] | None]:
        """Per span (same order), the attributes to set on it (new or changed), or ``None``."""
        parents = _parents(spans)
        order = list(_children_first(parents))
        below_ours = _below_ours(spans, parents, order)
        totals: dict[int, Subtree] = {}
        updates: list[dict[str, Any] | None] = [None] * len(spans)
        saturated = False
        for index in order:
            span = spans[index]
            subtree = totals.pop(index, None)
            call = None
            if subtree is None and not below_ours[index]:
                call, updates[index] = self._price(span)
            if subtree is not None and Ours.SUBTREE_COST_AMOUNT not in span.attributes:
                updates[index] = {**(updates[index] or {}), **subtree.attributes()}
            parent = parents[index]
            if parent is None or (subtree is None and call is None):
                continue
            into = totals.setdefault(parent, Subtree())
            if subtree is not None:
                saturated |= not into.merge(subtree)
            if call is not None:
                saturated |= not into.add(call)
        self._saturation.note(saturated)
        return updates

    def _price(self, span: FinishedSpan) -> tuple[Call | None, dict[str, Any] | None]:
        """The span's contribution, and its new or changed attributes (priced here)."""
        attributes = span.attributes
        watched = WATCHED_KEYS.intersection(attributes)
        if watched.isdisjoint(USAGE_KEYS):
            return None, None
        priced = safe(self._price_attributes, span, watched)
        if priced is None:
            return None, None
        call, values = priced
        if values is None:
            return call, None
        return call, {key: value for key, value in values.items() if attributes.get(key, _MISSING) != value}

    def _price_attributes(
        self, span: FinishedSpan, watched: frozenset[str]
    ) -> tuple[Call, dict[str, Any] | None] | None:
        return self._span_costing.price(
            span.attributes, watched, started_ns=span.started_ns or None, succeeded=span.succeeded
        )


def _parents(spans: Sequence[FinishedSpan]) -> list[int | None]:
    """Per span, the index of its parent in the batch (``None``: not in the batch)."""
    index = {(span.trace_id, span.span_id): i for i, span in enumerate(spans) if span.span_id}
    return [index.get((span.trace_id, span.parent_span_id)) if span.parent_span_id else None for span in spans]


def _children_first(parents: list[int | None]) -> Iterator[int]:
    """Every span once, each after all its descendants (a bogus parent cycle is cut somewhere)."""
    children: list[list[int]] = [[] for _ in parents]
    for child, parent in enumerate(parents):
        if parent is not None:
            children[parent].append(child)
    visited = [False] * len(parents)
    roots = [i for i, parent in enumerate(parents) if parent is None]
    for start in [*roots, *range(len(parents))]:
        if visited[start]:
            continue
        visited[start] = True
        stack = [(start, iter(children[start]))]
        while stack:
            node, pending = stack[-1]
            following = next((c for c in pending if not visited[c]), None)
            if following is None:
                stack.pop()
                yield node
            else:
                visited[following] = True
                stack.append((following, iter(children[following])))


def _below_ours(spans: Sequence[FinishedSpan], parents: list[int | None], order: list[int]) -> list[bool]:
    """Per span, whether one of genai-cost's own LLM spans is among its ancestors in the batch."""
    below = [False] * len(spans)
    for index in reversed(order):  # parents before children
        parent = parents[index]
        below[index] = parent is not None and (spans[parent].ours or below[parent])
    return below
