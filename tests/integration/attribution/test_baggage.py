"""Attribution from OpenTelemetry baggage: set in an outer span's context, or sent by a client in a
W3C ``baggage`` header to a real WSGI server, and read for the keys the operator lists."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import openai
import pytest
from opentelemetry import baggage
from opentelemetry import context as otel_context
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from tests.integration.attribution.conftest import (
    FEATURE,
    MESSAGES,
    MODEL,
    PREFIX,
    TENANT,
    USER,
    Telemetry,
    one_call_cost,
)

import genai_cost
from genai_cost.semconv import Metrics

BAGGAGE_ENV = {
    "GENAI_COST_ATTRIBUTION_BAGGAGE": "tenant,feature,user",
    "GENAI_COST_METRIC_ATTRIBUTION": "tenant,feature",
}


def test_baggage_of_an_outer_span_context_reaches_spans_and_metric_points(
    instrument: Callable[..., Telemetry], tracer_provider: TracerProvider, client: openai.OpenAI
) -> None:
    telemetry = instrument(**BAGGAGE_ENV)
    tracer = tracer_provider.get_tracer("app")
    context = baggage.set_baggage("tenant", "acme")
    context = baggage.set_baggage("user", "user-7", context)
    context = baggage.set_baggage("session", "not-listed", context)
    token = otel_context.attach(context)
    try:
        with tracer.start_as_current_span("handle request"), genai_cost.track_usage() as usage:
            client.chat.completions.create(model=MODEL, messages=MESSAGES)
            with genai_cost.attribute(tenant="override", feature="search"):  # attribute() wins over baggage
                client.chat.completions.create(model=MODEL, messages=MESSAGES)
    finally:
        otel_context.detach(token)

    first, second = telemetry.llm_spans()
    assert {k: v for k, v in (first.attributes or {}).items() if k.startswith(PREFIX)} == {
        TENANT: "acme",
        USER: "user-7",
    }
    assert (second.attributes or {})[TENANT] == "override"
    assert (second.attributes or {})[USER] == "user-7"
    one = float(one_call_cost())
    assert telemetry.cost_by(TENANT) == pytest.approx({"acme": one, "override": one})
    assert telemetry.count_by(FEATURE) == {None: 1, "search": 1}
    assert set(usage.by("tenant")) == {"acme", "override"}


def test_baggage_is_ignored_unless_listed(instrument: Callable[..., Telemetry], client: openai.OpenAI) -> None:
    telemetry = instrument(GENAI_COST_METRIC_ATTRIBUTION="tenant,feature", GENAI_COST_ATTRIBUTION_BAGGAGE="feature")
    context = baggage.set_baggage("tenant", "acme")  # not listed: stays baggage
    token = otel_context.attach(baggage.set_baggage("feature", "search", context))
    try:
        client.chat.completions.create(model=MODEL, messages=MESSAGES)
    finally:
        otel_context.detach(token)

    (span,) = telemetry.llm_spans()
    assert {name: value for name, value in (span.attributes or {}).items() if name.startswith(PREFIX)} == {
        FEATURE: "search"
    }
    assert telemetry.cost_by(TENANT) == pytest.approx({None: float(one_call_cost())})
    assert telemetry.count_by(FEATURE) == {"search": 1}


# --- a real WSGI server receiving a W3C baggage header -----------------------------------------

_PROPAGATORS = (TraceContextTextMapPropagator(), W3CBaggagePropagator())


def _llm_app(client: openai.OpenAI) -> Callable[..., Any]:
    """A WSGI app whose middleware extracts the incoming context (as OpenTelemetry's WSGI
    instrumentation does) and whose handler calls the LLM, knowing nothing of attribution."""

    def handler() -> bytes:
        completion = client.chat.completions.create(model=MODEL, messages=MESSAGES)
        return json.dumps({"answer": completion.choices[0].message.content}).encode()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        carrier = {
            name[5:].lower().replace("_", "-"): value for name, value in environ.items() if name.startswith("HTTP_")
        }
        context = otel_context.get_current()
        for propagator in _PROPAGATORS:
            context = propagator.extract(carrier, context=context)
        token = otel_context.attach(context)
        try:
            body = handler()
        finally:
            otel_context.detach(token)
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]

    return app


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def _serving(app: Callable[..., Any]) -> Iterator[WSGIServer]:
    server = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _get(server: WSGIServer, headers: dict[str, str]) -> dict[str, Any]:
    request = urllib.request.Request(f"http://127.0.0.1:{server.server_port}/ask", headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        answer: dict[str, Any] = json.load(response)
    return answer


def test_w3c_baggage_header_through_a_wsgi_server_reaches_the_metric_points(
    instrument: Callable[..., Telemetry], client: openai.OpenAI
) -> None:
    telemetry = instrument(**BAGGAGE_ENV)

    with _serving(_llm_app(client)) as server:
        # Percent-encoded, with a property and an entry nobody listed: the propagator's job.
        _get(server, {"baggage": "tenant=acme%20corp,feature=search;ttl=60,session=s-1"})
        _get(server, {"baggage": "tenant=globex, user=u-42"})
        _get(server, {"baggage": "tenant=acme%20corp,feature=chat"})
        _get(server, {})

    one = float(one_call_cost())
    assert telemetry.cost_by(TENANT) == pytest.approx({"acme corp": 2 * one, "globex": one, None: one})
    assert telemetry.count_by(FEATURE, Metrics.OPERATION_DURATION) == {"search": 1, "chat": 1, None: 2}
    spans = telemetry.llm_spans()
    assert [(s.attributes or {}).get(USER) for s in spans] == [None, "u-42", None, None]
    assert all("genai_cost.attribution.session" not in (s.attributes or {}) for s in spans)
    for point in telemetry.points(Metrics.OPERATION_DURATION):
        assert USER not in point.attributes  # type: ignore[attr-defined]
