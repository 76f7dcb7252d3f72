"""genai-cost: OpenTelemetry instrumentation that shows what every LLM call costs."""

from __future__ import annotations

from genai_cost.instrumentors import instrument, uninstrument
from genai_cost.pricing import PricingTable
from genai_cost.processor import CostSpanProcessor
from genai_cost.tracking import BudgetExceeded, UsageTotals, track_usage
from genai_cost.usage import Usage
from genai_cost.version import __version__

__all__ = [
    "BudgetExceeded",
    "CostSpanProcessor",
    "PricingTable",
    "Usage",
    "UsageTotals",
    "__version__",
    "instrument",
    "track_usage",
    "uninstrument",
]
