"""``OllamaInstrumentor``: spans, token usage, cost and metrics for ``ollama`` SDK calls.

Covers ``chat``, ``generate`` and ``embed`` of ``ollama.Client`` and ``ollama.AsyncClient``,
``stream=True`` included, and the module-level ``ollama.chat``/``generate``/``embed``. A local
model with no price of its own is priced at 0 (entry ``ollama:local``): see :mod:`genai_cost.costing`.
"""

from __future__ import annotations

import sys
from functools import partial
from types import ModuleType
from typing import Any

import wrapt

from genai_cost.instrumentation._base import GenAIInstrumentor, Wrap
from genai_cost.instrumentation._core import Invocation, Operation, Request, Telemetry
from genai_cost.instrumentation._stream import proxy_stream
from genai_cost.instrumentation.ollama.calls import (
    ChunkAccumulator,
    read_chat_request,
    read_embed_request,
    read_generate_request,
    read_response,
)
from genai_cost.instrumentation.ollama.package import _instruments
from genai_cost.semconv import Provider

__all__ = ["OllamaInstrumentor"]


def _stream(result: Any, invocation: Invocation, request: Request) -> Any:
    """A stream (``stream=True``: a generator, or an async one) is proxied; a response is not."""
    if not hasattr(result, "__next__") and not hasattr(result, "__anext__"):
        return None
    return proxy_stream(result, invocation, ChunkAccumulator())


_MODULE = "ollama._client"
_METHODS = ("chat", "generate", "embed")
_OPERATIONS = {
    "chat": Operation(read_chat_request, read_response, _stream),
    "generate": Operation(read_generate_request, read_response, _stream),
    "embed": Operation(read_embed_request, read_response),
}


def _rebind(module: ModuleType) -> None:
    """Point ``ollama.chat`` & co. at the default client's method as the class now has it.

    They are bound methods taken at import: imported before :meth:`instrument`, they bypass
    the class's (new) layer; imported after uninstrumenting, they would keep a stale one.
    Names the app replaced are left alone.
    """
    client = getattr(module, "_client", None)
    for name in _METHODS:
        if client is not None and getattr(getattr(module, name, None), "__self__", None) is client:
            setattr(module, name, getattr(client, name))


class OllamaInstrumentor(GenAIInstrumentor):
    """Instruments the ``ollama`` SDK (0.4 and later)."""

    _instruments = _instruments
    _providers = (Provider.OLLAMA,)
    _wraps = tuple(Wrap(_MODULE, "Client", name, _OPERATIONS[name]) for name in _METHODS)

    def _instrument(self, **kwargs: Any) -> None:
        super()._instrument(**kwargs)
        wrapt.register_post_import_hook(partial(self._rebind_if_active, self._active), "ollama")

    def _rebind_if_active(self, telemetry: Telemetry | None, module: ModuleType) -> None:
        if self._active is telemetry:
            _rebind(module)

    def _uninstrument(self, **kwargs: Any) -> None:
        super()._uninstrument(**kwargs)
        module = sys.modules.get("ollama")
        if module is not None:
            _rebind(module)
