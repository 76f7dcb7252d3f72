"""An instrumented app for the dashboard, alert and collector tests; run as a subprocess.

It drives the real ``openai`` SDK against the local fake OpenAI server with
``OpenAIInstrumentor`` installed and makes a known mix of calls (two priced models, a cached
call, a reasoning call, a stream, an unknown model, an error), each attributed to a tenant and
a feature (``GENAI_COST_METRIC_ATTRIBUTION=tenant,feature``, so metrics carry both). Metrics go to the SDK's
Prometheus exporter (``--metrics prometheus``), spans to an in-memory exporter and, with
``--otlp-endpoint``, also over OTLP/HTTP (to a collector).

Protocol on stdin/stdout (one JSON object per line):

1. The app makes the mix once (``warm-up``), then starts the metrics endpoint and prints
   ``{"event": "ready", "metrics_port": N, "tenant_spend": {...}}`` (the warm-up's cost per
   tenant, which every round repeats). Every metric series therefore exists before
   Prometheus scrapes it for the first time, so ``increase()`` sees the second round whole.
2. On the line ``run`` it makes the mix again, writes that round's spans to ``--spans-out``
   and prints ``{"event": "done", "calls": N}``.
3. On ``stop`` (or end of input) it flushes its exporters and exits.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import openai
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import genai_cost
from genai_cost.demo.fake_openai import FakeOpenAIServer
from genai_cost.instrumentation.openai import OpenAIInstrumentor
from genai_cost.pricing import PricingTable
from genai_cost.semconv import GenAI, Ours

# Stated prices (USD per 1M tokens). The tests never copy a cost: they sum the spans' costs.
PRICES: list[dict[str, Any]] = [
    {"id": "e2e:gpt-4o-mini", "provider": "openai", "match": {"exact": "gpt-4o-mini"},
     "input": 0.15, "output": 0.6, "input_breakdown": {"cache_read": 0.075}},
    {"id": "e2e:o4-mini", "provider": "openai", "match": {"exact": "o4-mini"},
     "input": 1.1, "output": 4.4, "input_breakdown": {"cache_read": 0.275}},
]  # fmt: skip

UNKNOWN_MODEL = "in-house-model-7b"


def make_calls(client: openai.OpenAI) -> int:
    """The known mix of calls; returns how many calls were made."""
    message = [{"role": "user", "content": "Say something short."}]
    calls: list[tuple[str, str, str]] = [
        ("gpt-4o-mini", "default", "globex"),
        ("gpt-4o-mini", "cached", "globex"),
        ("o4-mini", "reasoning", "acme"),
        ("o4-mini", "default", "acme"),
        (UNKNOWN_MODEL, "default", "initech"),
    ]
    for model, scenario, tenant in calls:
        with genai_cost.attribute(tenant=tenant, feature="chat"):
            client.chat.completions.create(model=model, messages=message, extra_headers={"x-fake-scenario": scenario})
    with genai_cost.attribute(tenant="globex", feature="stream"):
        stream = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=message,
            stream=True,
            stream_options={"include_usage": True},
            extra_headers={"x-fake-chunks": "5"},
        )
        for _chunk in stream:
            pass
    try:
        with genai_cost.attribute(tenant="acme", feature="chat"):
            client.chat.completions.create(
                model="gpt-4o-mini", messages=message, extra_headers={"x-fake-scenario": "error_429"}
            )
    except openai.RateLimitError:
        pass
    else:
        raise AssertionError("the fake server should have answered 429")
    return len(calls) + 2


def tenant_spend(spans: list[ReadableSpan]) -> dict[str, float]:
    """Cost per tenant, from the spans."""
    spend: dict[str, float] = defaultdict(float)
    for span in spans:
        attributes = span.attributes or {}
        tenant = attributes.get(Ours.ATTRIBUTION_PREFIX + "tenant")
        cost = attributes.get(GenAI.USAGE_COST_AMOUNT)
        if isinstance(tenant, str) and isinstance(cost, float):
            spend[tenant] += cost
    return dict(spend)


def span_record(span: ReadableSpan) -> dict[str, Any]:
    context = span.get_span_context()
    return {
        "name": span.name,
        "trace_id": f"{context.trace_id:032x}" if context else None,
        "span_id": f"{context.span_id:016x}" if context else None,
        "status": span.status.status_code.name,
        "attributes": dict(span.attributes or {}),
    }


def _emit(**event: Any) -> None:
    print(json.dumps(event), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--service", required=True, help="service.name of the app")
    parser.add_argument("--spans-out", type=Path, required=True)
    parser.add_argument("--metrics", choices=["prometheus", "none"], default="prometheus")
    parser.add_argument("--otlp-endpoint", help="also export spans over OTLP/HTTP to this URL")
    args = parser.parse_args(argv)
    os.environ.setdefault("GENAI_COST_METRIC_ATTRIBUTION", "tenant,feature")  # read when instrumenting

    resource = Resource.create({"service.name": args.service})
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    if args.otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        otlp = OTLPSpanExporter(endpoint=f"{args.otlp_endpoint}/v1/traces")
        tracer_provider.add_span_processor(BatchSpanProcessor(otlp, schedule_delay_millis=200))
    readers: list[MetricReader] = []
    if args.metrics == "prometheus":
        from opentelemetry.exporter.prometheus import PrometheusMetricReader

        readers.append(PrometheusMetricReader())
    meter_provider = MeterProvider(resource=resource, metric_readers=readers)
    pricing = PricingTable.load(entries=PRICES, include_bundled=False)
    OpenAIInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, pricing=pricing)
    # The process-wide table: its age is reported, and with GENAI_COST_PRICING_URL set (the live
    # test points it at a closed port) its refresher runs and fails, counted.
    PricingTable.default()

    with (
        FakeOpenAIServer() as fake,
        openai.OpenAI(base_url=fake.base_url, api_key="sk-e2e", max_retries=0) as client,
    ):
        make_calls(client)
        warm_up_spend = tenant_spend(list(spans.get_finished_spans()))
        spans.clear()
        metrics_port = None
        if readers:
            from prometheus_client import start_http_server

            server, _thread = start_http_server(0, addr="127.0.0.1")
            metrics_port = server.server_port
        _emit(event="ready", metrics_port=metrics_port, tenant_spend=warm_up_spend)
        for line in sys.stdin:
            command = line.strip()
            if command == "run":
                calls = make_calls(client)
                records = [span_record(span) for span in spans.get_finished_spans()]
                args.spans_out.write_text(json.dumps(records))
                tracer_provider.force_flush()
                _emit(event="done", calls=calls)
            elif command == "stop":
                break
    tracer_provider.shutdown()
    meter_provider.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
