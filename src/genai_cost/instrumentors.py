"""``instrument()`` / ``uninstrument()``: every genai-cost provider instrumentor at once.

The instrumentors are found through the ``opentelemetry_instrumentor`` entry points whose
names start with ``genai_cost_`` (the ones ``opentelemetry-instrument`` loads), so a provider
package added later is picked up without touching this module. An instrumentor whose provider
SDK is not installed (or is outside the supported versions) is skipped silently.
"""

from __future__ import annotations

import logging
from typing import Any

from opentelemetry.instrumentation.dependencies import get_dependency_conflicts
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider
from opentelemetry.util._importlib_metadata import entry_points

from genai_cost.pricing import PricingTable

__all__ = ["ENTRY_POINT_GROUP", "ENTRY_POINT_PREFIX", "instrument", "uninstrument"]

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "opentelemetry_instrumentor"
ENTRY_POINT_PREFIX = "genai_cost_"
"""Our instrumentor entry points are named ``genai_cost_<provider>``."""


def _available() -> dict[str, BaseInstrumentor]:
    """Our instrumentors whose provider SDK is importable, by entry point name."""
    found: dict[str, BaseInstrumentor] = {}
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        if not entry_point.name.startswith(ENTRY_POINT_PREFIX):
            continue
        try:
            instrumentor = entry_point.load()()
        except ImportError as exc:
            logger.debug("genai-cost: skipping %s: %s", entry_point.name, exc)
            continue
        conflict = get_dependency_conflicts(instrumentor.instrumentation_dependencies())
        if conflict is not None:
            logger.debug("genai-cost: skipping %s: %s", entry_point.name, conflict)
            continue
        found[entry_point.name] = instrumentor
    return found


def instrument(
    *,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
    pricing: PricingTable | None = None,
) -> tuple[str, ...]:
    """Instrument every provider SDK that is installed; returns the entry point names used.

    Providers default to the global ones, ``pricing`` to the bundled table layered with
    ``GENAI_COST_PRICING_FILE`` (those files are read here, not in the first call). Already
    instrumented providers are left as they are.
    """
    options: dict[str, Any] = {"tracer_provider": tracer_provider, "meter_provider": meter_provider, "pricing": pricing}
    instrumented = []
    for name, instrumentor in _available().items():
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(skip_dep_check=True, **options)
        instrumented.append(name)
    return tuple(instrumented)


def uninstrument() -> None:
    """Undo :func:`instrument` (and ``opentelemetry-instrument``) for every genai-cost instrumentor."""
    for instrumentor in _available().values():
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
