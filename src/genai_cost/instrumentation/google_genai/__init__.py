"""``GoogleGenAIInstrumentor``: spans, token usage, cost and metrics for ``google-genai`` calls.

Covers ``models.generate_content``, ``generate_content_stream`` and ``embed_content`` on
``client.models`` and ``client.aio.models``, for the Gemini API (``gcp.gemini``) and Vertex AI
(``gcp.vertex_ai``), and the Interactions API's ``create`` (``client.interactions`` and
``client.aio.interactions``, streamed or not; see :mod:`.interactions`) and ``get``, which prices
a background interaction once it is finished (see :mod:`.background`).
"""

from __future__ import annotations

from typing import Any

from genai_cost.instrumentation._base import GenAIInstrumentor, Wrap
from genai_cost.instrumentation._core import Invocation, Operation, Request
from genai_cost.instrumentation._stream import AsyncStreamProxy, SyncStreamProxy
from genai_cost.instrumentation.google_genai.background import GET
from genai_cost.instrumentation.google_genai.content import (
    ChunkAccumulator,
    read_generate_request,
    read_generate_response,
)
from genai_cost.instrumentation.google_genai.embeddings import read_embed_request, read_embed_response
from genai_cost.instrumentation.google_genai.interactions import (
    read_created_interaction,
    read_interaction_request,
    wrap_stream,
)
from genai_cost.instrumentation.google_genai.package import _instruments
from genai_cost.semconv import Provider

__all__ = ["GoogleGenAIInstrumentor"]


def _stream(result: Any, invocation: Invocation, request: Request) -> Any:
    """The sync stream is a generator, the async one an async generator; both stay iterable as such."""
    proxy_type = AsyncStreamProxy if hasattr(result, "__aiter__") else SyncStreamProxy
    return proxy_type(result, invocation, ChunkAccumulator())


_GENERATE = Operation(read_generate_request, read_generate_response)
_GENERATE_STREAM = Operation(read_generate_request, read_generate_response, _stream)
_EMBED = Operation(read_embed_request, read_embed_response)
_INTERACTION = Operation(read_interaction_request, read_created_interaction, wrap_stream)


class GoogleGenAIInstrumentor(GenAIInstrumentor):
    """Instruments the ``google-genai`` SDK (``from google import genai``)."""

    _instruments = _instruments
    _providers = (Provider.GCP_GEMINI, Provider.GCP_VERTEX_AI)
    _wraps = (
        Wrap("google.genai.models", "Models", "generate_content", _GENERATE),
        Wrap("google.genai.models", "Models", "generate_content_stream", _GENERATE_STREAM),
        Wrap("google.genai.models", "Models", "embed_content", _EMBED),
        Wrap("google.genai._gaos.interactions", "Interactions", "create", _INTERACTION),
        Wrap("google.genai._gaos.interactions", "Interactions", "get", GET),
    )
