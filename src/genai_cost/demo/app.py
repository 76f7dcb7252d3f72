"""The demo: a small app making real openai-SDK calls, and what genai-cost makes of them.

:func:`run_app` is the app (what ``examples/app.py`` runs under ``opentelemetry-instrument``):
a chat call, a streamed chat call, an embeddings call, a call with a cached prompt and one
with a reasoning model, all inside one parent span, with a ``track_usage`` summary.

:func:`main` (``genai-cost demo``) sets telemetry up the way ``opentelemetry-instrument`` does
(genai-cost's distro and configurator, then every genai-cost instrumentor), runs the app and
prints each span as exported, with its cost. Without ``OPENAI_API_KEY`` the calls go to the
built-in local OpenAI-compatible server (no network, no cost); without
``OTEL_EXPORTER_OTLP_ENDPOINT`` nothing is exported, only printed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import openai
from opentelemetry import trace

from genai_cost._install import pip_install
from genai_cost._text import counted
from genai_cost.demo.fake_openai import FakeOpenAIServer
from genai_cost.semconv import GenAI, Ours
from genai_cost.tracking import UsageTotals, track_usage
from genai_cost.usage import usage_from_attributes

__all__ = ["main", "openai_client", "run_app"]

logger = logging.getLogger(__name__)

CHAT_MODEL = "gpt-4o-mini"
REASONING_MODEL = "o4-mini"
EMBEDDING_MODEL = "text-embedding-3-small"
# Long enough (> 1024 tokens) for OpenAI's prompt cache to apply when it is sent twice.
_SHARED_CONTEXT = "You answer questions about the OpenTelemetry GenAI semantic conventions. " * 90
_FAKE = "x-fake-scenario"
"""Header the local server reads to answer with cached or reasoning usage; OpenAI ignores it."""


@contextlib.contextmanager
def openai_client() -> Iterator[tuple[openai.OpenAI, str]]:
    """An ``openai.OpenAI`` client and where it talks to: OpenAI with a key, else the local server."""
    if os.environ.get("OPENAI_API_KEY"):
        with openai.OpenAI() as client:
            yield client, f"OpenAI at {client.base_url} (OPENAI_API_KEY is set: real calls, real cost)"
        return
    with FakeOpenAIServer() as server, openai.OpenAI(base_url=server.base_url, api_key="demo-no-key") as client:
        yield (
            client,
            f"the local OpenAI-compatible server at {server.base_url} (no OPENAI_API_KEY: no network, no cost)",
        )


def run_app(client: Any) -> UsageTotals:
    """The demo app: five calls in one parent span; prints what the app gets back."""
    tracer = trace.get_tracer("genai_cost.demo")
    ask = [{"role": "user", "content": "Say something short."}]
    with track_usage() as usage, tracer.start_as_current_span("demo request"):
        reply = client.chat.completions.create(model=CHAT_MODEL, messages=ask)
        _said("chat", reply.choices[0].message.content)

        stream = client.chat.completions.create(
            model=CHAT_MODEL, messages=ask, stream=True, stream_options={"include_usage": True}
        )
        _said("chat, streamed", "".join(c.choices[0].delta.content or "" for c in stream if c.choices))

        vectors = client.embeddings.create(model=EMBEDDING_MODEL, input=["cost", "tokens"])
        _said("embeddings", f"{len(vectors.data)} vectors of {len(vectors.data[0].embedding)} dimensions")

        cached = [{"role": "system", "content": _SHARED_CONTEXT}, *ask]
        reply = client.chat.completions.create(model=CHAT_MODEL, messages=cached, extra_headers={_FAKE: "cached"})
        _said("chat, cached prompt", reply.choices[0].message.content)

        reply = client.chat.completions.create(model=REASONING_MODEL, messages=ask, extra_headers={_FAKE: "reasoning"})
        _said("chat, reasoning model", reply.choices[0].message.content)
    return usage


def _said(what: str, text: str | None) -> None:
    print(f"  {what:<22} -> {(text or '').strip()[:60]}")


# --- genai-cost demo -----------------------------------------------------------------------


def main() -> int:
    """``genai-cost demo``: run the app under auto-instrumentation and show the cost of each span."""
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    import genai_cost
    from genai_cost.autoinstrument import GenAICostConfigurator, GenAICostDistro

    exporting = "OTEL_EXPORTER_OTLP_ENDPOINT" in os.environ or "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" in os.environ
    os.environ.setdefault("OTEL_SERVICE_NAME", "genai-cost-demo")
    if not exporting:
        os.environ.setdefault("OTEL_TRACES_EXPORTER", "none")
        os.environ.setdefault("OTEL_METRICS_EXPORTER", "none")
    shown = InMemorySpanExporter()
    GenAICostDistro().configure()
    GenAICostConfigurator().configure(exporting_span_processors=[SimpleSpanProcessor(shown)])  # type: ignore[no-untyped-call]
    genai_cost.instrument()

    print("genai-cost demo\n")
    with openai_client() as (client, where):
        print(f"Calls go to {where}.")
        print(
            "Telemetry is set up as `opentelemetry-instrument python app.py` does it; spans and metrics "
            + ("are exported to OTEL_EXPORTER_OTLP_ENDPOINT." if exporting else "are only shown here.")
        )
        print("\nThe app's calls and what it got back:")
        try:
            usage = run_app(client)
        except openai.APIConnectionError as exc:
            hint = "" if os.environ.get("OPENAI_API_KEY") else " (the local server needs the loopback interface up)"
            print(f"genai-cost: error: the demo could not reach {client.base_url}: {exc}{hint}", file=sys.stderr)
            return 1

    print("\nThe spans genai-cost produced (cost from the bundled pricing table):")
    for line in span_lines(shown.get_finished_spans()):
        print(line)
    print("\ntrack_usage() summary:")
    print("  " + str(usage).replace("\n", "\n  "))
    print(
        f"\nYour own app, unchanged: {pip_install()}, then\n"
        "  OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 opentelemetry-instrument python app.py"
    )
    _shutdown()
    return 0


def span_lines(spans: Sequence[Any]) -> Iterator[str]:
    """One readable line per span: tokens and cost, or the subtree totals of a parent span."""
    for span in spans:
        attrs = span.attributes or {}
        usage = usage_from_attributes(attrs)
        if usage is not None:
            details = [f"{usage.cache_read_tokens} cached"] if usage.cache_read_tokens else []
            details += [f"{usage.reasoning_tokens} reasoning"] if usage.reasoning_tokens else []
            output = "" if usage.output_tokens is None else f" / {usage.output_tokens:>4} out"
            tokens = f"{usage.input_tokens or 0:>5} in{output}"
            tokens += f" ({', '.join(details)})" if details else ""
            yield f"  {span.name:<34} {tokens:<38} {_cost(attrs.get(GenAI.USAGE_COST_AMOUNT), attrs)}"
        elif Ours.SUBTREE_CALLS in attrs:
            tokens = f"{attrs[Ours.SUBTREE_INPUT_TOKENS]:>5} in / {attrs[Ours.SUBTREE_OUTPUT_TOKENS]:>4} out"
            label = f"{span.name} (parent: {counted(attrs[Ours.SUBTREE_CALLS], 'call')})"
            yield f"  {label:<34} {tokens:<38} {_cost(attrs[Ours.SUBTREE_COST_AMOUNT], attrs)}"


def _cost(amount: object, attrs: Any) -> str:
    if isinstance(amount, (int, float)):
        return f"${amount:.8f}"
    return f"not priced ({attrs.get(Ours.PRICING_STATUS, 'no usage')})"


def _shutdown() -> None:
    from opentelemetry import metrics

    for provider in (trace.get_tracer_provider(), metrics.get_meter_provider()):
        shutdown = getattr(provider, "shutdown", None)
        if shutdown is not None:
            shutdown()
