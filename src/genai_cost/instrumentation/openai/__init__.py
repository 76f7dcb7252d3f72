"""``OpenAIInstrumentor``: spans, token usage, cost and metrics for every OpenAI SDK call.

Covers chat completions (``create``, ``parse``, ``stream()``), the Responses API (``create``,
``parse``, ``stream()``), embeddings and legacy completions, sync and async, including
``with_raw_response``/``with_streaming_response``, Azure OpenAI and OpenAI-compatible servers.
"""

from __future__ import annotations

from genai_cost.instrumentation._base import GenAIInstrumentor, Wrap
from genai_cost.instrumentation._core import Operation, Request
from genai_cost.instrumentation._stainless import result_wrapper
from genai_cost.instrumentation.openai.chat import (
    ChunkAccumulator,
    read_chat_request,
    read_completion_request,
    read_completion_response,
)
from genai_cost.instrumentation.openai.embeddings import read_embeddings_request, read_embeddings_response
from genai_cost.instrumentation.openai.package import _instruments
from genai_cost.instrumentation.openai.responses import (
    ResponseEventAccumulator,
    read_responses_request,
    read_responses_response,
)

__all__ = ["OpenAIInstrumentor"]


def _chunk_accumulator(request: Request) -> ChunkAccumulator:
    return ChunkAccumulator(hide_usage_chunk=request.options is True)


def _event_accumulator(request: Request) -> ResponseEventAccumulator:
    return ResponseEventAccumulator()


_CHAT = Operation(read_chat_request, read_completion_response, result_wrapper(_chunk_accumulator))
_TEXT_COMPLETION = Operation(read_completion_request, read_completion_response, result_wrapper(_chunk_accumulator))
_RESPONSES = Operation(read_responses_request, read_responses_response, result_wrapper(_event_accumulator))
_EMBEDDINGS = Operation(read_embeddings_request, read_embeddings_response, result_wrapper())

_CHAT_MODULE = "openai.resources.chat.completions"
_RESPONSES_MODULE = "openai.resources.responses"


class OpenAIInstrumentor(GenAIInstrumentor):
    """Instruments the ``openai`` SDK (1.x and later)."""

    _instruments = _instruments
    _wraps = (
        Wrap(_CHAT_MODULE, "Completions", "create", _CHAT),
        Wrap(_CHAT_MODULE, "Completions", "parse", _CHAT),
        Wrap(_RESPONSES_MODULE, "Responses", "create", _RESPONSES),
        Wrap(_RESPONSES_MODULE, "Responses", "parse", _RESPONSES),
        Wrap("openai.resources.embeddings", "Embeddings", "create", _EMBEDDINGS),
        Wrap("openai.resources.completions", "Completions", "create", _TEXT_COMPLETION),
    )
