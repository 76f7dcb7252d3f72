"""``MistralInstrumentor``: spans, token usage, cost and metrics for ``mistralai`` SDK calls.

Covers ``chat.complete``, ``chat.stream``, ``embeddings.create`` and their ``_async`` variants
(the SDK's 1.x ``mistralai.chat`` and 2.x+ ``mistralai.client.chat`` module layouts).
"""

from __future__ import annotations

from typing import Any

from genai_cost.instrumentation._base import GenAIInstrumentor, Wrap
from genai_cost.instrumentation._core import Invocation, Operation, Request
from genai_cost.instrumentation._stream import proxy_stream
from genai_cost.instrumentation.mistralai.calls import EventAccumulator, read_chat_request, read_embeddings_request
from genai_cost.instrumentation.mistralai.package import _instruments
from genai_cost.instrumentation.openai.chat import read_completion_response
from genai_cost.instrumentation.openai.embeddings import read_embeddings_response
from genai_cost.semconv import Provider

__all__ = ["MistralInstrumentor"]


def _stream(events: Any, invocation: Invocation, request: Request) -> Any:
    return proxy_stream(events, invocation, EventAccumulator())


_COMPLETE = Operation(read_chat_request, read_completion_response)
_STREAM = Operation(read_chat_request, read_completion_response, _stream)
_EMBED = Operation(read_embeddings_request, read_embeddings_response)


def _rows(package: str) -> tuple[Wrap, ...]:
    # One class per resource, with the async variant beside each method.
    return tuple(
        Wrap(f"{package}.{module}", cls, f"{method}{suffix}", operation, has_async_twin=False, is_async=bool(suffix))
        for module, cls, method, operation in (
            ("chat", "Chat", "complete", _COMPLETE),
            ("chat", "Chat", "stream", _STREAM),
            ("embeddings", "Embeddings", "create", _EMBED),
        )
        for suffix in ("", "_async")
    )


class MistralInstrumentor(GenAIInstrumentor):
    """Instruments the ``mistralai`` SDK (``Mistral().chat`` and ``.embeddings``)."""

    _instruments = _instruments
    _providers = (Provider.MISTRAL,)
    _wraps = _rows("mistralai") + _rows("mistralai.client")
