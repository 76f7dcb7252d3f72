"""Pricing: price entries, the layered pricing table, and the cost of a call.

>>> from genai_cost.pricing import PricingTable
>>> from genai_cost.usage import Usage
>>> table = PricingTable.default()
>>> table.cost(Usage(input_tokens=1200, output_tokens=300), "gpt-4o-mini", "openai")
"""

from __future__ import annotations

from genai_cost.pricing.calculate import CostBreakdown, calculate
from genai_cost.pricing.errors import PricingError
from genai_cost.pricing.schema import PriceEntry, Rates, Tier
from genai_cost.pricing.table import PricingTable

__all__ = [
    "CostBreakdown",
    "PriceEntry",
    "PricingError",
    "PricingTable",
    "Rates",
    "Tier",
    "calculate",
]
