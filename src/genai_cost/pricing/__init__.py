"""Pricing: price entries, the layered pricing table, and the cost of a call.

>>> from genai_cost.pricing import PricingTable
>>> from genai_cost.usage import Usage
>>> table = PricingTable.default()
>>> table.cost(Usage(input_tokens=1200, output_tokens=300), "gpt-4o-mini", "openai")

Only ``calculate`` is imported with the package (it is light, and it must be bound here: the
submodule of the same name would shadow it). The other names are imported on first use, so
setting up an instrumentor does not load the table's modules (entry schema, matching,
loading); they come with the table itself, on the first priced call or at the startup check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from genai_cost._lazy import lazy_names
from genai_cost.pricing.calculate import CostBreakdown, calculate

if TYPE_CHECKING:
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

_HOMES = {
    "PriceEntry": "genai_cost.pricing.schema",
    "PricingError": "genai_cost.pricing.errors",
    "PricingTable": "genai_cost.pricing.table",
    "Rates": "genai_cost.pricing.schema",
    "Tier": "genai_cost.pricing.schema",
}


__getattr__, __dir__ = lazy_names(globals(), _HOMES)
