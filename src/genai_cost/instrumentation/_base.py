"""``GenAIInstrumentor``: a ``BaseInstrumentor`` driven by a table of SDK methods to wrap.

A provider instrumentor only lists its ``(module, class, method, Operation)`` rows and its
``_instruments``; this class wraps the sync class and its ``Async`` twin for every row, and
unwraps the same rows.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Collection, Iterator, Sequence
from functools import partial
from types import ModuleType
from typing import Any, NamedTuple

import wrapt
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.utils import unwrap
from opentelemetry.trace import get_tracer

from genai_cost.config import get_settings
from genai_cost.costing import Costing
from genai_cost.instrumentation._core import Operation, Telemetry, async_wrapper, sync_wrapper
from genai_cost.metrics import Instruments
from genai_cost.version import __version__

__all__ = ["GenAIInstrumentor", "Wrap"]

logger = logging.getLogger(__name__)

# wrapt 2 wrappers derive from BaseObjectProxy, not from ObjectProxy (its pure-Python subclass).
_ANY_PROXY: type = getattr(wrapt, "BaseObjectProxy", wrapt.ObjectProxy)

_SCHEMA_URL = "https://opentelemetry.io/schemas/1.37.0"


# A NamedTuple rather than a frozen dataclass: defining the class costs ~0.1 ms instead of ~1 ms.
class Wrap(NamedTuple):
    """Wrap ``module.cls.method`` and, when present, ``module.Async<cls>.method``."""

    module: str
    cls: str
    method: str
    operation: Operation
    has_async_twin: bool = True

    def targets(self) -> Iterator[tuple[str, bool]]:
        yield self.cls, False
        if self.has_async_twin:
            yield f"Async{self.cls}", True


def _classes(module: ModuleType, row: Wrap) -> Iterator[tuple[type, bool]]:
    """The row's classes that this SDK version has (and that own the method), with is-async."""
    for cls_name, is_async in row.targets():
        cls = getattr(module, cls_name, None)
        if isinstance(cls, type) and hasattr(cls, row.method):
            yield cls, is_async


class GenAIInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Base of every genai-cost provider instrumentor.

    ``instrument(tracer_provider=..., meter_provider=..., pricing=...)`` accepts the usual
    providers and an optional ``PricingTable``; all default to the global ones.
    """

    _instruments: Collection[str] = ()
    _wraps: Sequence[Wrap] = ()
    _active: Telemetry | None = None

    def instrumentation_dependencies(self) -> Collection[str]:
        return self._instruments

    def _telemetry(self, **kwargs: Any) -> Telemetry:
        """Tracer, instruments, costing and settings from ``instrument()``'s keyword arguments."""
        settings = get_settings()
        tracer = get_tracer(__name__, __version__, kwargs.get("tracer_provider"), schema_url=_SCHEMA_URL)
        instruments = Instruments(kwargs.get("meter_provider"), model_limit=settings.metric_model_limit)
        return Telemetry(tracer, instruments, Costing(instruments, kwargs.get("pricing")), settings)

    def _instrument(self, **kwargs: Any) -> None:
        # A module the app has not imported yet is wrapped when it is imported: importing the
        # SDK's lazily loaded resources here (openai's Responses types alone take ~100 ms)
        # would slow every app's start-up for APIs it may never call.
        telemetry = self._active = self._telemetry(**kwargs)
        for row in self._wraps:
            wrapt.register_post_import_hook(partial(self._wrap_row, row, telemetry), row.module)

    def _wrap_row(self, row: Wrap, telemetry: Telemetry, module: ModuleType) -> None:
        if self._active is not telemetry:  # uninstrumented (or instrumented anew) since
            return
        for cls, is_async in _classes(module, row):
            self._warn_if_wrapped_by_another(cls, row.method)
            factory = async_wrapper if is_async else sync_wrapper
            wrapt.wrap_function_wrapper(cls, row.method, factory(telemetry, row.operation))

    def _uninstrument(self, **kwargs: Any) -> None:
        self._active = None
        for row in self._wraps:
            module = sys.modules.get(row.module)
            for cls, _is_async in _classes(module, row) if module is not None else ():
                unwrap(cls, row.method)

    def _warn_if_wrapped_by_another(self, cls: type, method: str) -> None:
        if not isinstance(cls.__dict__.get(method), _ANY_PROXY):
            return
        target = f"{cls.__module__}.{cls.__qualname__}.{method}"
        logger.warning(
            "genai-cost: %s is already wrapped by another instrumentation; both will create spans. "
            "Disable one (OTEL_PYTHON_DISABLED_INSTRUMENTATIONS) or keep it and add only "
            "genai_cost.CostSpanProcessor to price its spans.",
            target,
        )
