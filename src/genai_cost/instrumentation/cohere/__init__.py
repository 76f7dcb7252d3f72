"""``CohereInstrumentor``: spans, token usage, cost and metrics for Cohere v2 SDK calls.

Covers ``chat``, ``chat_stream``, ``embed`` and ``rerank`` of ``cohere.ClientV2`` and
``cohere.AsyncClientV2`` (their ``V2Client`` bases; ``client.v2`` too).
"""

from __future__ import annotations

from typing import Any

from genai_cost.instrumentation._base import GenAIInstrumentor, Wrap
from genai_cost.instrumentation._core import Invocation, Operation, Request
from genai_cost.instrumentation._stream import proxy_stream
from genai_cost.instrumentation.cohere.calls import (
    EventAccumulator,
    read_chat_request,
    read_chat_response,
    read_embed_request,
    read_meta_response,
    read_rerank_request,
)
from genai_cost.instrumentation.cohere.package import _instruments
from genai_cost.semconv import Provider

__all__ = ["CohereInstrumentor"]


def _stream(events: Any, invocation: Invocation, request: Request) -> Any:
    return proxy_stream(events, invocation, EventAccumulator())


_MODULE = "cohere.v2.client"
_CHAT = Operation(read_chat_request, read_chat_response)
_CHAT_STREAM = Operation(read_chat_request, read_chat_response, _stream)
_EMBED = Operation(read_embed_request, read_meta_response)
_RERANK = Operation(read_rerank_request, read_meta_response)


class CohereInstrumentor(GenAIInstrumentor):
    """Instruments the ``cohere`` SDK's v2 clients."""

    _instruments = _instruments
    _providers = (Provider.COHERE,)
    _wraps = (
        Wrap(_MODULE, "V2Client", "chat", _CHAT),
        Wrap(_MODULE, "V2Client", "embed", _EMBED),
        Wrap(_MODULE, "V2Client", "rerank", _RERANK),
        # chat_stream is a generator function on both clients (an async one on AsyncV2Client):
        # calling it sends nothing, so both are wrapped as plain calls returning a stream.
        Wrap(_MODULE, "V2Client", "chat_stream", _CHAT_STREAM, has_async_twin=False),
        Wrap(_MODULE, "AsyncV2Client", "chat_stream", _CHAT_STREAM, has_async_twin=False),
    )
