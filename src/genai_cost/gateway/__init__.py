"""Pricing at the collector gateway: GenAI spans of every service, whatever language or
instrumentation emitted them, priced where their telemetry meets.

The processor runs inside rotel (an OpenTelemetry collector with embedded Python trace
processors): :mod:`genai_cost.gateway.rotel`, loaded from :data:`ROTEL_PROCESSOR`;
``genai-cost gateway rotel`` prints the command line (:mod:`genai_cost.gateway.launch`).
Spans are priced by the code that prices other instrumentations' spans in an app
(:mod:`genai_cost.span_cost`), with the same pricing table and settings.

What a gateway sees is one batch at a time (what one export request carried), so the cost
rollup (``genai_cost.subtree.*``) covers the descendants that arrive in the same batch as
their ancestor. A span exported in an earlier or later batch than its ancestor is priced but
does not reach that ancestor's totals, and a framework span with usage around an SDK span of
the same call that travelled in another batch is priced as well (the in-app processor, which
sees spans end, does not have these limits). Agents in front of the gateways that route by
trace id (the ``loadbalancing`` exporter with ``routing_key: traceID``,
``collector-config/two-tier-rotel/``) keep all of a trace on one gateway, so a batch never
misses part of a trace because another gateway received it; their ``batch`` processor decides
how much of a trace travels together.

Price in the app or at the gateway, not both: a span priced already (a cost amount or a
pricing status) is never priced again, but a span the in-app processor deliberately left
unpriced (counted on another span) cannot be told apart here.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["ROTEL_PROCESSOR"]

ROTEL_PROCESSOR = Path(__file__).with_name("rotel_processor.py")
"""The file to give ``rotel-agent start --otlp-with-trace-processor``."""
