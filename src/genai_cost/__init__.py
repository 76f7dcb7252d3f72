"""genai-cost: OpenTelemetry instrumentation that shows what every LLM call costs.

The public names are imported on first use, so ``import genai_cost.pricing`` (or the CLI)
does not pay for the OpenTelemetry SDK and the instrumentors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from genai_cost._lazy import lazy_names
from genai_cost.version import __version__

if TYPE_CHECKING:
    from genai_cost.attribution import attribute
    from genai_cost.batch import price_batch_results
    from genai_cost.budgets import Budget, budget
    from genai_cost.instrumentors import instrument, uninstrument
    from genai_cost.pricing import PricingTable
    from genai_cost.processor import CostSpanProcessor
    from genai_cost.tracking import BudgetExceeded, UsageTotals, track_usage
    from genai_cost.usage import Usage

__all__ = [
    "Budget",
    "BudgetExceeded",
    "CostSpanProcessor",
    "PricingTable",
    "Usage",
    "UsageTotals",
    "__version__",
    "attribute",
    "budget",
    "instrument",
    "price_batch_results",
    "track_usage",
    "uninstrument",
]

_HOMES = {
    "Budget": "genai_cost.budgets",
    "BudgetExceeded": "genai_cost.tracking",
    "CostSpanProcessor": "genai_cost.processor",
    "PricingTable": "genai_cost.pricing",
    "Usage": "genai_cost.usage",
    "UsageTotals": "genai_cost.tracking",
    "attribute": "genai_cost.attribution",
    "budget": "genai_cost.budgets",
    "instrument": "genai_cost.instrumentors",
    "price_batch_results": "genai_cost.batch",
    "track_usage": "genai_cost.tracking",
    "uninstrument": "genai_cost.instrumentors",
}


__getattr__, __dir__ = lazy_names(globals(), _HOMES)
