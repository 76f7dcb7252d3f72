"""``CostSpanProcessor``: prices the spans of any GenAI instrumentation and rolls cost up.

A span is immutable once it ends, so the processor sits *in front of* an exporting
processor: ``CostSpanProcessor(BatchSpanProcessor(exporter))``. In ``on_end`` it

* prices a span that carries token usage (semconv ``gen_ai.usage.*``, the older
  ``prompt_tokens``/``completion_tokens``, or OpenInference ``llm.token_count.*``) but no
  cost yet, forwards a copy with the cost attributes added (and the ``GENAI_COST_COMPAT``
  names the span does not have yet), and records the cost metric
  and ``track_usage`` totals (spans our own instrumentors priced pass through untouched
  and are not counted twice);
* adds the cost and tokens of every span with usage to each of its ancestors in the same
  trace that is still open, so that an ancestor is forwarded with
  ``genai_cost.subtree.*`` totals (an agent run or an HTTP request shows what it cost).

One call is counted once: a span with usage is neither priced nor rolled up when a span
below it already was (a framework span around an SDK span of the same call) or when it runs
inside one of genai-cost's own LLM spans (the SDK's native span, or another
instrumentation's, of a call genai-cost already priced). A framework may also start its span
of a call in another trace than the SDK span under it (OpenInference's LangChain tracer does
not make its spans current): a foreign span with usage is then counted elsewhere when one of
genai-cost's own call spans with the same input and output token counts ran within its
lifetime (started no earlier, ended no later than the span was ended, whatever end time it was
given: OpenInference's llama-index span of a stream) and is not matched yet. A count of 0 on
the foreign span matches any: it saw part of the usage only (OpenInference's LangChain span of
a ChatAnthropic stream reports the output tokens and 0 input). Each own span matches one
foreign span at most; the last ``_RECENT_OWN_CALLS`` own spans are kept for this. The foreign
span is then not priced again, but its ancestors get the call's cost, up to the first one that
the own span's call reached already (an app span above both).

Values read from another instrumentation's span pass the rule every reader shares
(:func:`genai_cost.usage.token_count`, :func:`genai_cost.usage.cost_amount`): a token count
that is negative, not finite or wider than int64 is ignored, and a span whose
pre-set cost amount is not an amount (NaN, infinite, negative) is priced here instead.
Subtree token sums stop at the int64 limit (OTLP's integer), with one warning.

Only spans that end before their ancestor count towards its subtree; a span whose parent
ended first (a stream read after the call that returned it ended) counts towards the ancestors
above that parent that are still open. A span with usage that ends while one of genai-cost's
own call spans below it is still open (a framework's LLM span that ends when it has read a
stream's last chunk, before the SDK's stream is closed) is counted by that own span: it is not
priced. Memory is bounded: at most ``max_traces`` traces are tracked (the oldest is dropped
beyond it) with at most ``max_spans_per_trace`` open spans each (a span beyond that cap is not
tracked as an ancestor: its own cost still reaches the tracked spans above it, the cost below
it does not).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator, Mapping
from time import time_ns
from typing import Any

from opentelemetry.context import Context
from opentelemetry.metrics import MeterProvider
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import SpanContext, StatusCode

from genai_cost import attribution
from genai_cost._fork import fork_safe_lock
from genai_cost.config import get_settings
from genai_cost.costing import Costing
from genai_cost.instrumentation._core import finish_abandoned, safe
from genai_cost.metrics import Instruments
from genai_cost.pricing import PricingTable
from genai_cost.semconv import GenAI, Ours
from genai_cost.span_cost import (
    USAGE_KEYS,
    WATCHED_KEYS,
    Call,
    SaturationLog,
    SpanCosting,
    Subtree,
    is_own_call,
    token_pair,
)

__all__ = ["DEFAULT_MAX_SPANS_PER_TRACE", "CostSpanProcessor"]

logger = logging.getLogger(__name__)

DEFAULT_MAX_SPANS_PER_TRACE = 1_000
"""Open spans tracked per trace by the rollup."""

"""Instrumentation scope (tracer name) prefix of genai-cost's provider instrumentors' spans."""
_RECENT_OWN_CALLS = 256
"""Own call spans remembered for a foreign span of the same call in another trace to match."""


class _OwnCall:
    """One of genai-cost's own priced call spans, as a foreign span of the same call matches it,
    and the open spans (of its trace) it credited already."""

    __slots__ = ("call", "credited", "end", "start", "tokens", "trace_id")

    def __init__(self, span: ReadableSpan, tokens: tuple[int, int], call: Call, credited: frozenset[int]) -> None:
        self.start = span.start_time or 0
        self.end = span.end_time or 0
        self.tokens = tokens
        self.call = call
        self.trace_id = span.context.trace_id if span.context is not None else None
        self.credited = credited

    def within(self, span: ReadableSpan, tokens: tuple[int, int], ended: int) -> bool:
        """Of ``tokens``, and ran while ``span`` was open: from its start time until it ended,
        the later of its end time and ``ended`` (when it was ended: a span may be ended late
        with an earlier end time, as OpenInference's llama-index span of a stream is)."""
        start, end = span.start_time, span.end_time
        if not self.counts(tokens) or start is None or end is None:
            return False
        return start <= self.start <= self.end <= max(end, ended)

    def counts(self, tokens: tuple[int, int]) -> bool:
        """``tokens`` (input, output) are this call's, or the part of them another span saw:
        each the same or 0 (unseen), one of them not 0."""
        return any(tokens) and all(seen in (0, own) for seen, own in zip(tokens, self.tokens, strict=True))


class _Trace:
    """Open spans of one trace (span id -> parent span id), how many open children each has,
    their subtree totals, which of them are genai-cost's own LLM call spans, and the agent each
    one runs under (when tracked)."""

    __slots__ = ("agents", "children", "ours", "parents", "subtrees")

    def __init__(self) -> None:
        self.parents: dict[int, int | None] = {}
        self.children: dict[int, int] = {}
        self.subtrees: dict[int, Subtree] = {}
        self.ours: set[int] = set()
        self.agents: dict[int, str] = {}

    def add(self, span_id: int, parent: int | None) -> None:
        self.parents[span_id] = parent
        if parent is not None:
            self.children[parent] = self.children.get(parent, 0) + 1

    def remove(self, span_id: int) -> int | None:
        """Forget the open span ``span_id``; returns its parent. Its open children (it ended
        before them: a stream read after the call returned) now hang from that parent, so that
        their calls still reach the ancestors that are open."""
        parent = self.parents.pop(span_id)
        if parent is not None:
            left = self.children.pop(parent, 1) - 1
            if left > 0:
                self.children[parent] = left
        orphans = self.children.pop(span_id, 0)
        if orphans:
            for child, of in self.parents.items():
                if of == span_id:
                    self.parents[child] = parent
            if parent is not None:
                self.children[parent] = self.children.get(parent, 0) + orphans
        return parent

    def open_below(self, span_id: int) -> bool:
        """One of the open own LLM spans runs below ``span_id``."""
        return any(span_id in self.ancestors(self.parents.get(own)) for own in self.ours)

    def ancestors(self, parent: int | None) -> Iterator[int]:
        """The open ancestors, nearest first (bounded: a bogus parent cycle cannot hang us)."""
        for _ in range(len(self.parents)):
            if parent is None or parent not in self.parents:
                return
            yield parent
            parent = self.parents[parent]


class _AnnotatedSpan(ReadableSpan):
    """A copy of an ended span with other attributes; the original is left untouched."""

    def __init__(self, span: ReadableSpan, attributes: dict[str, Any]) -> None:
        super().__init__(
            name=span.name,
            context=span.context,
            parent=span.parent,
            resource=span.resource,
            attributes=attributes,
            events=span.events,
            links=span.links,
            kind=span.kind,
            status=span.status,
            start_time=span.start_time,
            end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope,
        )
        self._dropped = (span.dropped_attributes, span.dropped_events, span.dropped_links)

    @property
    def dropped_attributes(self) -> int:
        return self._dropped[0]

    @property
    def dropped_events(self) -> int:
        return self._dropped[1]

    @property
    def dropped_links(self) -> int:
        return self._dropped[2]


_AGENT_ATTRIBUTE = Ours.ATTRIBUTION_PREFIX + attribution.AGENT


def _stamp_agent(span: Span, agent: str) -> None:
    """Put the ancestor agent on our LLM span, unless the call's own attribution named one."""
    if (span.attributes or {}).get(_AGENT_ATTRIBUTE) is None:
        span.set_attribute(_AGENT_ATTRIBUTE, agent)


def _same_trace_parent(trace_id: int, parent: SpanContext | None) -> int | None:
    if parent is None or parent.trace_id != trace_id:
        return None
    return parent.span_id


class CostSpanProcessor(SpanProcessor):
    """Prices GenAI spans of any instrumentation and rolls cost up to their ancestors.

    ``next_processor`` receives every span (the priced copy when cost was added);
    ``pricing`` defaults to the process-wide table and ``meter_provider`` to the global one.
    """

    def __init__(
        self,
        next_processor: SpanProcessor,
        pricing: PricingTable | None = None,
        meter_provider: MeterProvider | None = None,
        *,
        max_traces: int | None = None,
        max_spans_per_trace: int = DEFAULT_MAX_SPANS_PER_TRACE,
    ) -> None:
        settings = get_settings()
        self._next = next_processor
        self._instruments = Instruments.from_settings(meter_provider, settings)
        self._baggage_keys = settings.attribution_baggage
        self._agents = attribution.AGENT in settings.metric_attribution
        """Track the agent each open span runs under: the nearest span (itself included) that
        names an agent or workflow (``gen_ai.agent.name``, ``gen_ai.workflow.name``)."""
        # The span is copied anyway: naming the table on it costs a dict entry, and the scope is not ours.
        costing = Costing(self._instruments, pricing, version_on_span=True)
        self._span_costing = SpanCosting(costing, self._instruments, settings)
        self._max_traces = max_traces if max_traces is not None else settings.rollup_max_traces
        self._max_spans_per_trace = max_spans_per_trace
        self._traces: dict[int, _Trace] = {}
        self._own_calls: deque[_OwnCall] = deque(maxlen=_RECENT_OWN_CALLS)
        self._lock = fork_safe_lock(self)
        self.evicted_traces = 0
        """Traces dropped from the rollup because ``max_traces`` were open at once."""
        self.untracked_spans = 0
        """Spans not tracked as ancestors because their trace had ``max_spans_per_trace`` open."""
        self._saturation = SaturationLog()

    @property
    def tracked_traces(self) -> int:
        """Traces with open spans currently held by the rollup."""
        return len(self._traces)

    # --- SpanProcessor ------------------------------------------------------------------

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        context = span.context
        if context is not None:
            ours = is_own_call(span.instrumentation_scope, span.attributes or {})
            own_agent = attribution.agent_name(span.attributes or {}) if self._agents else None
            agent = self._open(context.trace_id, context.span_id, span.parent, ours, own_agent)
            if ours and agent is not None:
                # Our instrumentor records the call's metrics before the span ends: it reads this.
                safe(_stamp_agent, span, agent)
        self._next.on_start(span, parent_context=parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        attributes = span.attributes or {}
        # One pass over the keys in C: a `key in` test on the SDK's BoundedAttributes runs
        # Python code and raises KeyError inside when the key is absent (~0.5 µs per key).
        watched = WATCHED_KEYS.intersection(attributes)
        trace, parent, subtree, counted_elsewhere, agent = self._close(span)
        annotated: dict[str, Any] | None = None
        if not counted_elsewhere and not watched.isdisjoint(USAGE_KEYS):
            ours = is_own_call(span.instrumentation_scope, attributes)
            own = None if ours else self._match_own_call(span, attributes)
            if own is not None:
                if trace is not None:  # up to the spans that the own span's call reached already
                    same_trace = span.context is not None and own.trace_id == span.context.trace_id
                    self._credit(trace, parent, own.call, own.credited if same_trace else frozenset())
            else:
                priced = safe(self._price, span, attributes, watched, agent)
                if priced is not None:
                    call, annotated = priced
                    credited = self._credit(trace, parent, call) if trace is not None else frozenset()
                    if ours:
                        with self._lock:
                            self._own_calls.append(_OwnCall(span, token_pair(attributes), call, credited))
        if subtree is not None:
            annotated = dict(attributes) if annotated is None else annotated
            annotated.update(subtree.attributes())
        self._next.on_end(span if annotated is None else _AnnotatedSpan(span, annotated))

    def shutdown(self) -> None:
        finish_abandoned()  # calls whose streams the app dropped end before the pipeline does
        self._next.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        finish_abandoned()
        return self._next.force_flush(timeout_millis)

    # --- pricing ------------------------------------------------------------------------

    def _price(
        self, span: ReadableSpan, attributes: Mapping[str, Any], watched: frozenset[str], agent: str | None = None
    ) -> tuple[Call, dict[str, Any] | None] | None:
        """The span's contribution to its ancestors, and its attributes with the cost and the
        attribution added (``None`` when it was priced already). ``watched``: which of
        ``WATCHED_KEYS`` it has; ``agent``: the agent it ran under, if tracked.

        The attribution is the one in force where the span ends (as for ``track_usage``)."""
        priced_already = GenAI.USAGE_COST_AMOUNT in watched or Ours.PRICING_STATUS in watched
        return self._span_costing.price(
            attributes,
            watched,
            started_ns=span.start_time or None,
            succeeded=span.status.status_code is not StatusCode.ERROR,
            attributed=None if priced_already else self._attributed(agent),
        )

    def _match_own_call(self, span: ReadableSpan, attributes: Mapping[str, Any]) -> _OwnCall | None:
        """An unmatched own span of the same tokens that ran within ``span`` (taken)."""
        if not self._own_calls:
            return None
        tokens = token_pair(attributes)
        ended = time_ns()
        with self._lock:
            for own in self._own_calls:
                if own.within(span, tokens, ended):
                    self._own_calls.remove(own)
                    return own
        return None

    def _attributed(self, agent: str | None) -> Mapping[str, str] | None:
        """The attribution in force now, with the ancestor ``agent`` unless it names one itself."""
        attributed = attribution.current(self._baggage_keys)
        if agent is None or (attributed and attribution.AGENT in attributed):
            return attributed
        return {**(attributed or {}), attribution.AGENT: agent}

    # --- rollup -------------------------------------------------------------------------

    def _open(
        self, trace_id: int, span_id: int, parent: SpanContext | None, ours: bool, agent: str | None = None
    ) -> str | None:
        """Track an open span; returns the agent it runs under (its own ``agent``, else its parent's)."""
        parent_id = _same_trace_parent(trace_id, parent)
        with self._lock:
            trace = self._traces.get(trace_id)
            if trace is None:
                if len(self._traces) >= self._max_traces:
                    del self._traces[next(iter(self._traces))]
                    self.evicted_traces += 1
                    if self.evicted_traces == 1:
                        logger.warning(
                            "genai-cost: more than %d traces open at once; the cost rollup drops "
                            "the oldest (raise GENAI_COST_ROLLUP_MAX_TRACES if this is expected)",
                            self._max_traces,
                        )
                trace = self._traces[trace_id] = _Trace()
            if self._agents and agent is None and parent_id is not None:
                agent = trace.agents.get(parent_id)
            if len(trace.parents) >= self._max_spans_per_trace:
                self.untracked_spans += 1
                return agent
            trace.add(span_id, parent_id)
            if ours:
                trace.ours.add(span_id)
            if agent is not None:
                trace.agents[span_id] = agent
        return agent

    def _close(self, span: ReadableSpan) -> tuple[_Trace | None, int | None, Subtree | None, bool, str | None]:
        """Forget an ended span. Returns its trace and parent span id (``None`` when untracked),
        its subtree totals, whether its call is counted elsewhere, and the agent it ran under.

        A span's usage is counted elsewhere when a span below it already contributed (an
        aggregate, or an outer span of a doubly instrumented call) or when it runs inside one
        of genai-cost's own LLM spans (the SDK's or another instrumentation's span of the same
        call, e.g. the Anthropic SDK's native span), or when one of genai-cost's own LLM spans
        below it is still open (it will count the call).
        """
        context = span.context
        if context is None:
            return None, None, None, False, None
        trace_id = context.trace_id
        with self._lock:
            trace = self._traces.get(trace_id)
            if trace is None:
                return None, None, None, False, None
            span_id = context.span_id
            # An own span still open below this one (a stream read after this span ended) is
            # the call's count: its cost goes on to this span's ancestors through its children.
            outlived = bool(trace.ours) and trace.open_below(span_id)
            tracked = span_id in trace.parents
            parent = trace.remove(span_id) if tracked else _same_trace_parent(trace_id, span.parent)
            trace.ours.discard(span_id)
            agent = trace.agents.pop(span_id, None) if trace.agents else None
            subtree = trace.subtrees.pop(span_id, None)
            inside_ours = any(ancestor in trace.ours for ancestor in trace.ancestors(parent)) if trace.ours else False
            if not trace.parents:
                del self._traces[trace_id]
        return trace, parent, subtree, subtree is not None or inside_ours or outlived, agent

    def _credit(
        self, trace: _Trace, parent: int | None, call: Call, counted: frozenset[int] = frozenset()
    ) -> frozenset[int]:
        """Add a call's cost and tokens to every ancestor still open, from ``parent`` up to the
        first one in ``counted`` (which has the call already, as have those above it); returns
        the ancestors credited.

        ``trace`` may have been dropped meanwhile (its last span ended, or evicted): then
        nothing is open in it, or nobody reads it again.
        """
        saturated = False
        credited: list[int] = []
        with self._lock:
            for ancestor in trace.ancestors(parent):
                if ancestor in counted:
                    break
                credited.append(ancestor)
                totals = trace.subtrees.get(ancestor)
                if totals is None:
                    totals = trace.subtrees[ancestor] = Subtree()
                saturated |= not totals.add(call)
        self._saturation.note(saturated)
        return frozenset(credited)
