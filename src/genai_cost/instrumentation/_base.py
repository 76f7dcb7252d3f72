"""``GenAIInstrumentor``: a ``BaseInstrumentor`` driven by a table of SDK methods to wrap.

A provider instrumentor only lists its ``(module, class, method, Operation)`` rows and its
``_instruments``; this class wraps the sync class and its ``Async`` twin for every row, and
unwraps the same rows.

Each SDK function gets one genai-cost layer (:func:`wrap_once`), placed right above the
function itself, below any other instrumentation's wrapt layers: their unwrap (which removes
the top layer) then removes their own. A class that copied an already wrapped function (as
``anthropic.lib.bedrock``/``vertex`` do) holds our layer already and gets no second one.
:func:`unwrap_ours` removes our layer only, wherever it sits. Another instrumentation's layer
is reported once per method: at wrapping when it came first, at the first call through our
layer when it came later.
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
from opentelemetry.trace import get_tracer

from genai_cost.config import get_settings
from genai_cost.costing import Costing
from genai_cost.instrumentation._core import Operation, Telemetry, Wrapper, async_wrapper, sync_wrapper
from genai_cost.metrics import Instruments
from genai_cost.semconv import Ours
from genai_cost.version import __version__

__all__ = ["GenAIInstrumentor", "Wrap", "unwrap_ours", "wrap_once"]

logger = logging.getLogger(__name__)

# wrapt 2 wrappers derive from BaseObjectProxy, not from ObjectProxy (its pure-Python subclass).
_ANY_PROXY: Any = getattr(wrapt, "BaseObjectProxy", wrapt.ObjectProxy)

_SCHEMA_URL = "https://opentelemetry.io/schemas/1.37.0"

_OURS = "_genai_cost_layer"
"""The attribute that marks our wrapper functions: a wrapt layer whose ``_self_wrapper`` has it is ours."""


# A NamedTuple rather than a frozen dataclass: defining the class costs ~0.1 ms instead of ~1 ms.
class Wrap(NamedTuple):
    """Wrap ``module.cls.method`` and, when present, ``module.Async<cls>.method``."""

    module: str
    cls: str
    method: str
    operation: Operation
    has_async_twin: bool = True
    is_async: bool = False
    """``method`` itself is a coroutine function (``generate_content_async`` beside ``generate_content``)."""

    def targets(self) -> Iterator[tuple[str, bool]]:
        yield self.cls, self.is_async
        if self.has_async_twin:
            yield f"Async{self.cls}", True


def _classes(module: ModuleType, row: Wrap) -> Iterator[tuple[type, bool]]:
    """The row's classes that this SDK version has and that define the method, with is-async."""
    for cls_name, is_async in row.targets():
        cls = getattr(module, cls_name, None)
        if isinstance(cls, type) and row.method in cls.__dict__:
            yield cls, is_async


# opentelemetry's unwrap() reads the class attribute with getattr(), which binds the layer below
# to None: our layer can sit in a class as a BoundFunctionWrapper.
_FUNCTION_WRAPPERS = (wrapt.FunctionWrapper, wrapt.BoundFunctionWrapper)


def _is_ours(layer: Any) -> bool:
    # Only a function wrapper has a _self_wrapper of its own; other proxies forward the lookup.
    return isinstance(layer, _FUNCTION_WRAPPERS) and getattr(layer._self_wrapper, _OURS, False) is True


def _layers(owner: type, name: str) -> list[Any]:
    """The wrapt proxies stacked on ``owner.name``, outermost first."""
    layers: list[Any] = []
    layer: Any = owner.__dict__.get(name)
    while isinstance(layer, _ANY_PROXY):
        layers.append(layer)
        layer = layer.__wrapped__
    return layers


class _Outermost:
    """Whether our layer is still the top of ``owner.name``; a layer another instrumentation
    adds later sits above ours. Checked as each call runs through our layer; warns once."""

    __slots__ = ("attributes", "layer", "name", "owner", "warned")

    def __init__(self, owner: type, name: str, warned: bool) -> None:
        self.owner = owner
        self.attributes = owner.__dict__  # a live view of the class's attributes
        self.name = name
        self.layer: Any = None
        self.warned = warned

    def check(self) -> None:
        top = self.attributes.get(self.name)
        if _is_ours(top):  # our layer, rebound by another package's unwrap() of its layer above
            self.layer = top
            return
        self.warned = True
        _warn_wrapped_by_another(self.owner, self.name)

    def watching(self, wrapper: Wrapper) -> Wrapper:
        """``wrapper``, checking first (a dict lookup and a comparison until it has warned)."""

        top_of, name = self.attributes.get, self.name

        def checked(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            if not self.warned and top_of(name) is not self.layer:
                self.check()
            return wrapper(wrapped, instance, args, kwargs)

        setattr(checked, _OURS, True)
        return checked


def wrap_once(owner: type, name: str, wrapper: Wrapper) -> None:
    """Put our layer on ``owner.name`` right above the function itself, unless it is there already."""
    layers = _layers(owner, name)
    if any(_is_ours(layer) for layer in layers):
        return
    outermost = _Outermost(owner, name, warned=bool(layers))
    if not layers:
        outermost.layer = wrapt.FunctionWrapper(owner.__dict__[name], outermost.watching(wrapper))
        setattr(owner, name, outermost.layer)
        return
    _warn_wrapped_by_another(owner, name)
    innermost = layers[-1]
    innermost.__wrapped__ = wrapt.FunctionWrapper(innermost.__wrapped__, outermost.watching(wrapper))


def unwrap_ours(owner: type, name: str) -> None:
    """Remove our layer from ``owner.name``, wherever it sits among other instrumentations' layers."""
    above = None
    for layer in _layers(owner, name):
        if _is_ours(layer):
            if above is None:
                setattr(owner, name, layer.__wrapped__)
            else:
                above.__wrapped__ = layer.__wrapped__
            return
        above = layer


def _warn_wrapped_by_another(owner: type, name: str) -> None:
    # ``owner`` may be a module (litellm's functions are module attributes).
    prefix = f"{owner.__module__}.{owner.__qualname__}" if isinstance(owner, type) else owner.__name__
    target = f"{prefix}.{name}"
    logger.warning(
        "genai-cost: %s is already wrapped by another instrumentation; both will create spans. "
        "Disable one (OTEL_PYTHON_DISABLED_INSTRUMENTATIONS) or keep it and add only "
        "genai_cost.CostSpanProcessor to price its spans.",
        target,
    )


class GenAIInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Base of every genai-cost provider instrumentor.

    ``instrument(tracer_provider=..., meter_provider=..., pricing=...)`` accepts the usual
    providers and an optional ``PricingTable``; all default to the global ones.
    """

    _instruments: Collection[str] = ()
    _wraps: Sequence[Wrap] = ()
    _providers: Sequence[str] = ()
    """The ``gen_ai.provider.name`` values its calls usually have: their prices are prepared in ``instrument()``."""
    _active: Telemetry | None = None

    def instrumentation_dependencies(self) -> Collection[str]:
        return self._instruments

    def _telemetry(self, **kwargs: Any) -> Telemetry:
        """Tracer, instruments, costing and settings from ``instrument()``'s keyword arguments."""
        settings = get_settings()
        instruments = Instruments.from_settings(kwargs.get("meter_provider"), settings)
        costing = Costing(instruments, kwargs.get("pricing"), providers=self._providers)
        # The scope names the provider package (genai_cost.instrumentation.openai, ...), with our
        # version and, while it cannot change, the pricing table's (spans carry it otherwise).
        version = costing.scope_version
        tracer = get_tracer(
            type(self).__module__,
            __version__,
            kwargs.get("tracer_provider"),
            schema_url=_SCHEMA_URL,
            attributes=None if version is None else {Ours.PRICING_VERSION: version},
        )
        return Telemetry(tracer, instruments, costing, settings)

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
            factory = async_wrapper if is_async else sync_wrapper
            wrap_once(cls, row.method, factory(telemetry, row.operation))

    def _uninstrument(self, **kwargs: Any) -> None:
        self._active = None
        for row in self._wraps:
            module = sys.modules.get(row.module)
            for cls, _is_async in _classes(module, row) if module is not None else ():
                unwrap_ours(cls, row.method)
