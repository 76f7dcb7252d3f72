"""The file rotel loads (``rotel-agent start --otlp-with-trace-processor <this file>``): prices
the GenAI spans passing through the collector (:mod:`genai_cost.gateway.rotel`).

rotel's embedded Python imports genai-cost and its dependencies from ``PYTHONPATH``;
``genai-cost gateway rotel`` prints the command line with it.
"""

try:
    from genai_cost.gateway.rotel import process_spans
except ImportError as exc:
    raise ImportError(
        f"genai-cost's rotel processor cannot import {exc.name!r}: start rotel with genai-cost "
        "and its dependencies on PYTHONPATH (`genai-cost gateway rotel` prints the command)"
    ) from exc

__all__ = ["process_spans"]
