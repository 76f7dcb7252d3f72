"""The one span lifecycle every provider wrapper shares, sync and async.

A provider describes a wrapped SDK method with an :class:`Operation`: how to read the request
and how to read the response or wrap a stream. Everything else happens here: start the
CLIENT span with the request attributes (samplers see them), run the SDK call with the span
current, then on success extract, price, record metrics and end; on failure set
``error.type`` and the ERROR status (still pricing the billed response an exception may carry,
:attr:`Operation.read_error`), end, and re-raise the SDK's exception unchanged. A call is
priced at the prices in force when it started, as ``CostSpanProcessor`` prices spans.
Only exceptions from the SDK call reach the app: our own failures are logged and skipped.
The one exception: a spent hard budget raises ``BudgetExceeded`` before the SDK is called.
"""

from __future__ import annotations

import atexit
import gc
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import cache, partial
from typing import Any, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from genai_cost import attribution, budgets, tracking
from genai_cost.compat import compat_for
from genai_cost.config import Settings
from genai_cost.costing import Costing
from genai_cost.metrics import Instruments
from genai_cost.semconv import GenAI, Ours
from genai_cost.semconv import Operation as OperationName
from genai_cost.usage import Usage

__all__ = [
    "INSIDE_COVERING_CALL",
    "Invocation",
    "Operation",
    "Request",
    "Response",
    "Started",
    "Telemetry",
    "Unfinished",
    "async_wrapper",
    "finish_abandoned",
    "log_failure",
    "record_now",
    "safe",
    "sync_wrapper",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

_logged_failures: set[str] = set()


def safe(what: Callable[..., T], *args: Any) -> T | None:
    """Run our own code; on failure log (a warning the first time per function) and return None."""
    try:
        return what(*args)
    except Exception:
        log_failure(what)
        return None


def log_failure(what: Callable[..., Any]) -> None:
    """Inside ``except``: log our own failure, a warning the first time per function."""
    name = getattr(what, "__qualname__", repr(what))
    first = name not in _logged_failures and len(_logged_failures) < 1_000
    if first:
        _logged_failures.add(name)
    logger.log(logging.WARNING if first else logging.DEBUG, "genai-cost: %s failed", name, exc_info=True)


@dataclass(slots=True)
class Request:
    """What a provider read from the call's arguments."""

    attributes: dict[str, Any]
    """Span attributes known before the call: operation, provider, model, server, parameters."""
    kwargs: dict[str, Any]
    """The keyword arguments to send (a provider may add options, e.g. stream usage)."""
    options: Any = None
    """Provider state handed on to its stream accumulator."""
    covers_inner_calls: bool = False
    """This call is the logical call (LiteLLM's ``completion``): SDK calls made inside it, which
    our SDK instrumentors would trace too, are not traced again (:data:`INSIDE_COVERING_CALL`)."""
    price_by_request_model: bool = False
    """Price by ``gen_ai.request.model`` even when the response names a model: a cloud-hosted
    model whose response reports the vendor's short name (``claude-haiku-4-5-20251001``) while the
    requested id (``global.anthropic.claude-haiku-4-5-20251001-v1:0``) selects the price."""


@dataclass(frozen=True, init=False)
class Response:
    """What a provider read from a result: usage and response attributes."""

    usage: Usage | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    provider_cost: object = None
    """A cost reported by the API itself (e.g. OpenRouter's ``usage.cost``)."""
    pricing_context: Mapping[str, str] | None = None
    """What the provider served that selects other prices (``{"service_tier": "flex"}``), from
    :func:`~genai_cost.costing.pricing_context`."""
    billed_apart: bool = False
    """The call's billed model calls were recorded as spans of their own, children of this one
    (a Bedrock agent's model invocations): this span is neither priced nor counted as a call,
    and its tokens (theirs) do not enter the token metrics again."""
    parts: tuple[tuple[str | None, Usage], ...] = ()
    """The model calls the API billed the call as, (model, usage) each (a Groq compound
    system's underlying models): each becomes a priced ``chat {model}`` span below this one
    when it ends, over the same time (the API does not say when each ran). Implies
    ``billed_apart``."""

    def __init__(
        self,
        usage: Usage | None = None,
        attributes: Mapping[str, Any] | None = None,
        provider_cost: object = None,
        pricing_context: Mapping[str, str] | None = None,
        billed_apart: bool = False,
        parts: tuple[tuple[str | None, Usage], ...] = (),
    ) -> None:
        # One per call: the fields at once, not one object.__setattr__ each (frozen dataclass).
        self.__dict__.update(
            usage=usage,
            attributes={} if attributes is None else attributes,
            provider_cost=provider_cost,
            pricing_context=pricing_context,
            billed_apart=billed_apart,
            parts=parts,
        )


@dataclass(frozen=True, slots=True)
class Operation:
    """One wrapped SDK method, described by small pure functions."""

    read_request: Callable[[Any, Telemetry, tuple[Any, ...], dict[str, Any]], Request]
    """(SDK resource instance, telemetry, args, kwargs) -> Request."""
    read_response: Callable[[Any], Response]
    """Non-streamed result -> Response."""
    wrap_result: Callable[[Any, Invocation, Request], Any] | None = None
    """Returns a proxy for results that arrive over time (streams, raw responses), or None."""
    read_error: Callable[[BaseException], Response | None] | None = None
    """The billed response an SDK exception carries (a structured-output parse failure's
    completion), or None: its usage and cost are recorded, and the span still fails."""
    wrap_manager: Callable[[Any, Callable[[], Invocation | None]], Any] | None = None
    """For a method that only builds a context manager which sends the request when entered
    (Anthropic's ``messages.stream()``): wraps that manager, given how to start the call then.
    Nothing is recorded for a manager never entered."""
    observe: Callable[[Telemetry, Any, Any], Any] | None = None
    """For a method traced only when its result says so (a retrieve that first sees a
    background response's usage): no span around the call; (telemetry, SDK resource instance,
    result) -> what the app gets (the result or a proxy of it), recording with :func:`record_now`."""


Started = tuple[int, float]
"""When a call started (or ended), if not now: (``time.time_ns()``, ``time.perf_counter()``) then."""


class Telemetry:
    """Everything a wrapper needs: tracer, instruments, costing and settings (and the
    ``GENAI_COST_COMPAT`` plan they ask for, ``None`` when none)."""

    def __init__(self, tracer: Tracer, instruments: Instruments, costing: Costing, settings: Settings) -> None:
        self.tracer = tracer
        self.instruments = instruments
        self.costing = costing
        self.settings = settings
        self.compat = compat_for(settings.compat)
        self.agent_from_ancestors = attribution.AGENT in settings.metric_attribution
        """Read the ancestor agent that ``CostSpanProcessor`` puts on the span when it starts."""

    def start(
        self,
        operation: Operation,
        instance: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        trackers: tuple[tracking.UsageTotals, ...],
        attributed: Mapping[str, str] | None = None,
        started: Started | None = None,
    ) -> Invocation:
        request = operation.read_request(instance, self, args, kwargs)
        return Invocation(self, operation, request, trackers, attributed, started)


INSIDE_COVERING_CALL = otel_context.create_key("genai-cost-inside-covering-call")
"""Set in the context of a call whose request ``covers_inner_calls``: a wrapper that starts
inside it traces nothing. A context key rather than a flag of ours, so it follows the call
into threads and tasks as OpenTelemetry's context does (LiteLLM copies it into its executor)."""


class _Current:
    """``with``: the span is current inside. A plain attach/detach, a few times cheaper than
    ``trace.use_span`` (a generator context manager) on every call."""

    __slots__ = ("_context", "_token")

    def __init__(self, span: trace.Span, covers_inner_calls: bool = False) -> None:
        context = trace.set_span_in_context(span)
        if covers_inner_calls:
            context = otel_context.set_value(INSIDE_COVERING_CALL, True, context)
        self._context = context

    def __enter__(self) -> None:
        self._token = otel_context.attach(self._context)

    def __exit__(self, *exc: object) -> None:
        otel_context.detach(self._token)


class Invocation:
    """One call in flight; :meth:`finish` runs exactly once, whichever path ends the call."""

    __slots__ = (
        "_attribution",
        "_done",
        "_first_chunk",
        "_started",
        "_started_ns",
        "_telemetry",
        "_trackers",
        "operation",
        "request",
        "span",
    )

    def __init__(
        self,
        telemetry: Telemetry,
        operation: Operation,
        request: Request,
        trackers: tuple[tracking.UsageTotals, ...],
        attributed: Mapping[str, str] | None = None,
        started: Started | None = None,
    ) -> None:
        attributes = request.attributes
        if attributed:
            attributes.update(attribution.span_attributes(attributed))
        self._telemetry = telemetry
        self.operation = operation
        self.request = request
        self._trackers = trackers
        self._attribution = attributed
        self._done = False
        self._first_chunk: float | None = None
        name = f"{attributes.get(GenAI.OPERATION_NAME)} {attributes.get(GenAI.REQUEST_MODEL) or ''}".rstrip()
        # Prices are those in force when the call started. The span starts at that instant too, so
        # that durations measured from it (time to first chunk) fit inside the span.
        self._started_ns, self._started = started or (time.time_ns(), time.perf_counter())
        self.span = telemetry.tracer.start_span(
            name, kind=SpanKind.CLIENT, attributes=attributes, start_time=self._started_ns
        )

    def activated(self) -> AbstractContextManager[Any]:
        """Make the span current around the SDK call only."""
        return _Current(self.span, self.request.covers_inner_calls)

    @property
    def done(self) -> bool:
        return self._done

    def first_chunk(self) -> None:
        if self._first_chunk is None:
            self._first_chunk = time.perf_counter()

    def succeed(self, result: Any) -> Any:
        """Finish with the SDK's result, or hand back a proxy that finishes later."""
        wrap = self.operation.wrap_result
        if wrap is not None:
            proxy = safe(wrap, result, self, self.request)
            if proxy is not None:
                return proxy
        self.finish(safe(self.operation.read_response, result))
        return result

    def fail(self, error: BaseException) -> None:
        read_error = self.operation.read_error
        self.finish(None if read_error is None else safe(read_error, error), error)

    def finish(
        self, response: Response | None, error: BaseException | None = None, ended: Started | None = None
    ) -> None:
        """``ended``: when the call ended, if not now."""
        if self._done:
            return
        self._done = True
        safe(self._finish, response, error, ended)

    def abandon(self, read_response: Callable[[], Response] | None) -> None:
        """Hand the call, ended now, to :func:`finish_abandoned`; for finalizers.

        A finalizer runs in whatever thread the garbage collector interrupts, possibly inside
        one of our locks or OpenTelemetry's context machinery: this takes no lock, ends no span
        and leaves the context alone. ``read_response`` says later what the call amounted to.
        """
        if self._done:
            return
        self._done = True
        _abandoned.append((self, read_response, time.time_ns(), time.perf_counter()))

    def _finish(
        self, response: Response | None, error: BaseException | None, end: tuple[int, float] | None = None
    ) -> None:
        """``end``: when an abandoned call ended, as (epoch ns for the span, perf_counter)."""
        telemetry = self._telemetry
        end_time, ended = end or (None, time.perf_counter())
        request_attributes = self.request.attributes
        attributes: dict[str, Any] = {}
        usage = None
        if response is not None:
            usage = response.usage
            attributes.update(response.attributes)
            if usage is not None:
                attributes.update(usage.to_attributes())
        if self._first_chunk is not None:
            attributes[GenAI.RESPONSE_TIME_TO_FIRST_CHUNK] = self._first_chunk - self._started
        provider = request_attributes.get(GenAI.PROVIDER_NAME)
        requested = request_attributes.get(GenAI.REQUEST_MODEL)
        model = (self.request.price_by_request_model and requested) or attributes.get(GenAI.RESPONSE_MODEL) or requested
        cost = None
        billed_apart = response is not None and (response.billed_apart or bool(response.parts))
        if response is not None and response.parts:
            self._record_parts(response.parts, end)
        # A result, or the billed response an error carried; not one whose model calls have spans of their own.
        if (error is None or response is not None) and not billed_apart:
            cost = telemetry.costing.price(
                usage,
                model=model,
                provider=provider,
                started_ns=self._started_ns,
                provider_cost=response and response.provider_cost,
                requested_model=requested,
                context=response.pricing_context if response is not None else None,
            )
            attributes.update(cost.attributes())
        if error is not None:
            attributes[GenAI.ERROR_TYPE] = _error_type(error)
        compat = telemetry.compat
        if compat is not None:
            attributes.update(compat.attributes({**request_attributes, **attributes}))
        span = self.span
        if None in attributes.values():  # one scan in C: values are rarely None
            attributes = {k: v for k, v in attributes.items() if v is not None}
        span.set_attributes(attributes)
        if error is not None:
            # The type only: SDK error messages can quote secrets ("Incorrect API key provided: sk-...").
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
        span.end(end_time=end_time)

        instruments = telemetry.instruments
        attributed = self._attributed_with_agent() if telemetry.agent_from_ancestors else self._attribution
        metric_attributes = instruments.metric_attributes(request_attributes, attributes, attribution=attributed)
        # track_usage first (budgets depend on it): a failing meter must not lose the call there.
        if cost is not None:
            telemetry.costing.settle(
                cost,
                usage,
                provider=provider,
                model=model,
                metric_attributes=metric_attributes,
                succeeded=error is None,
                trackers=self._trackers,
                attribution=attributed,
            )
        elif not billed_apart:
            tracking.record_call(
                self._trackers,
                provider=provider,
                model=model,
                usage=None,
                cost=None,
                succeeded=False,
                attribution=attributed,
            )
        instruments.duration.record(ended - self._started, metric_attributes)
        first_chunk = None if self._first_chunk is None else self._first_chunk - self._started
        if first_chunk is not None:
            instruments.time_to_first_chunk.record(first_chunk, metric_attributes)
        if instruments.latest is not None:
            instruments.latest.record_duration(ended - self._started, first_chunk, metric_attributes)
        if usage is not None and not billed_apart:
            instruments.record_tokens(usage, metric_attributes)

    def _record_parts(self, parts: tuple[tuple[str | None, Usage], ...], end: tuple[int, float] | None) -> None:
        """One priced ``chat`` span per billed part, below this call's span, over its time."""
        parent = self.request.attributes
        started = (self._started_ns, self._started)
        with self.activated():
            for model, usage in parts:
                attributes = {key: parent[key] for key in _PART_ATTRIBUTES if key in parent}
                attributes[GenAI.OPERATION_NAME] = OperationName.CHAT
                attributes[GenAI.REQUEST_MODEL] = model
                request = Request({k: v for k, v in attributes.items() if v is not None}, {})
                part = Invocation(self._telemetry, _PART, request, self._trackers, self._attribution, started)
                part.finish(Response(usage, {GenAI.RESPONSE_MODEL: model} if model else {}), None, end)

    def _attributed_with_agent(self) -> Mapping[str, str] | None:
        """The call's attribution, with the ancestor agent ``CostSpanProcessor`` found when the span
        started (``attribute(agent=...)`` wins over it)."""
        attributed = self._attribution
        if attributed and attribution.AGENT in attributed:
            return attributed
        span_attributes = getattr(self.span, "attributes", None)
        agent = span_attributes.get(_AGENT_ATTRIBUTE) if span_attributes is not None else None
        if not isinstance(agent, str):
            return attributed
        return {**(attributed or {}), attribution.AGENT: agent}


_AGENT_ATTRIBUTE = Ours.ATTRIBUTION_PREFIX + attribution.AGENT

_PART_ATTRIBUTES = (GenAI.PROVIDER_NAME, GenAI.SERVER_ADDRESS, GenAI.SERVER_PORT)
"""What a billed part's span takes from its call's request attributes."""
_PART = Operation(lambda instance, telemetry, args, kwargs: Request({}, kwargs), lambda result: Response())
"""The operation of a billed part's span (its request and response are known already)."""

# Calls abandoned by the app (their proxies garbage-collected), waiting to be finished. No
# bound is needed: every instrumented call drains it first, so it holds at most the calls the
# app had open at the previous call and dropped since.
_abandoned: deque[tuple[Invocation, Callable[[], Response] | None, int, float]] = deque()


def finish_abandoned() -> None:
    """Finish the abandoned calls, each exactly once whichever thread or nested drain pops it.

    Runs where no lock of ours is held: before each instrumented call, in
    ``CostSpanProcessor.force_flush``/``shutdown``, and at exit.
    """
    while _abandoned:
        try:
            invocation, read_response, end_time, ended = _abandoned.popleft()
        except IndexError:  # another thread took the last one
            return
        response = None if read_response is None else safe(read_response)
        safe(invocation._finish, response, None, (end_time, ended))


class Unfinished:
    """A call whose result the app still holds, shared by every proxy of it (a raw response,
    the stream parsed from it, copies). Once the app has dropped them all, its finalizer
    abandons the call (:meth:`Invocation.abandon`) with what ``read_response`` will say."""

    __slots__ = ("invocation", "read_response")

    def __init__(self, invocation: Invocation, read_response: Callable[[], Response] | None = None) -> None:
        self.invocation = invocation
        self.read_response = read_response
        _finish_abandoned_at_exit()

    def __del__(self) -> None:
        self.invocation.abandon(self.read_response)


@cache
def _finish_abandoned_at_exit() -> None:
    # Registered with the first unfinished call rather than at import: exit hooks run last
    # registered first, so this one runs before those of the tracer and meter providers, built
    # before the first call, that flush and shut the pipeline down.
    atexit.register(_finish_at_exit)


def _finish_at_exit() -> None:
    gc.collect()  # streams the app dropped in reference cycles are abandoned now, not after the pipeline is gone
    finish_abandoned()


# A forked child must not finish (and export) its parent's abandoned calls a second time.
os.register_at_fork(after_in_child=_abandoned.clear)


def _error_type(error: BaseException) -> str:
    cls = type(error)
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


Wrapper = Callable[[Callable[..., Any], Any, tuple[Any, ...], dict[str, Any]], Any]


def _begin(
    telemetry: Telemetry, operation: Operation, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Invocation | None:
    if _abandoned:
        finish_abandoned()
    # The second check is one context lookup: cheap when no covering call is running.
    if not is_instrumentation_enabled() or otel_context.get_value(INSIDE_COVERING_CALL) is True:
        return None
    trackers = tracking.active_trackers()
    if trackers:
        tracking.check_budgets(trackers)
    attributed = attribution.current(telemetry.settings.attribution_baggage)
    if budgets.active():
        budgets.check(attributed)  # BudgetExceeded: the one exception of ours the app sees
    return safe(telemetry.start, operation, instance, args, kwargs, trackers, attributed)


def record_now(
    telemetry: Telemetry,
    operation: Operation,
    instance: Any,
    kwargs: dict[str, Any],
    response: Response,
    started: Started | None = None,
    ended: Started | None = None,
) -> None:
    """Record a call whose billed result became known only after the SDK returned (a retrieved
    background response, a Realtime response, a Bedrock agent's model invocation): one span,
    started then (``started``) or now, ended then (``ended``) or now. No budget check: the money
    is spent."""
    if not is_instrumentation_enabled() or otel_context.get_value(INSIDE_COVERING_CALL) is True:
        return
    trackers = tracking.active_trackers()
    attributed = attribution.current(telemetry.settings.attribution_baggage)
    telemetry.start(operation, instance, (), kwargs, trackers, attributed, started).finish(response, None, ended)


def _observed(telemetry: Telemetry, observe: Callable[[Telemetry, Any, Any], Any], instance: Any, result: Any) -> Any:
    observed = safe(observe, telemetry, instance, result)
    return result if observed is None else observed


def sync_wrapper(telemetry: Telemetry, operation: Operation) -> Wrapper:
    """A wrapt wrapper for a synchronous SDK method."""
    if operation.wrap_manager is not None:
        return _manager_wrapper(telemetry, operation, operation.wrap_manager)
    observe = operation.observe
    if observe is not None:

        def observing(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            return _observed(telemetry, observe, instance, wrapped(*args, **kwargs))

        return observing

    def traced(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        invocation = _begin(telemetry, operation, instance, args, kwargs)
        if invocation is None:
            return wrapped(*args, **kwargs)
        try:
            with invocation.activated():
                result = wrapped(*args, **invocation.request.kwargs)
        except BaseException as error:
            invocation.fail(error)
            raise
        return invocation.succeed(result)

    return traced


def _manager_wrapper(
    telemetry: Telemetry, operation: Operation, wrap_manager: Callable[[Any, Callable[[], Invocation | None]], Any]
) -> Wrapper:
    """For a method that only builds a context manager (synchronous on both clients): the call
    (request read, span, track_usage) starts when the manager is entered."""

    def traced(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        manager = wrapped(*args, **kwargs)
        start = partial(_begin, telemetry, operation, instance, args, kwargs)
        proxy = safe(wrap_manager, manager, start)
        return manager if proxy is None else proxy

    return traced


def async_wrapper(telemetry: Telemetry, operation: Operation) -> Wrapper:
    """A wrapt wrapper for an asynchronous SDK method; same lifecycle, awaited."""
    observe = operation.observe
    if observe is not None:

        async def observing(
            wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
        ) -> Any:
            return _observed(telemetry, observe, instance, await wrapped(*args, **kwargs))

        return observing

    async def traced(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        invocation = _begin(telemetry, operation, instance, args, kwargs)
        if invocation is None:
            return await wrapped(*args, **kwargs)
        try:
            with invocation.activated():
                result = await wrapped(*args, **invocation.request.kwargs)
        except BaseException as error:
            invocation.fail(error)
            raise
        return invocation.succeed(result)

    return traced
