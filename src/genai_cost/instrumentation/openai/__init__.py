"""``OpenAIInstrumentor``: spans, token usage, cost and metrics for every OpenAI SDK call.

Covers chat completions (``create``, ``parse``, ``stream()``), the Responses API (``create``,
``parse``, ``stream()``, ``compact``, and ``retrieve`` of a background response, priced once),
embeddings, legacy completions and Realtime API responses (``realtime.connect``, GA and beta),
sync and async, including
``with_raw_response``/``with_streaming_response``, Azure OpenAI and OpenAI-compatible servers.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from genai_cost.config import get_settings
from genai_cost.instrumentation._base import GenAIInstrumentor, Wrap
from genai_cost.instrumentation._core import Operation, Request
from genai_cost.instrumentation._stainless import result_wrapper
from genai_cost.instrumentation.openai.background import retrieve_operation
from genai_cost.instrumentation.openai.chat import (
    ChunkAccumulator,
    read_chat_request,
    read_completion_request,
    read_completion_response,
    read_parse_error,
)
from genai_cost.instrumentation.openai.embeddings import read_embeddings_request, read_embeddings_response
from genai_cost.instrumentation.openai.package import _instruments
from genai_cost.instrumentation.openai.realtime import realtime_operation
from genai_cost.instrumentation.openai.responses import (
    ResponseEventAccumulator,
    read_responses_request,
    read_responses_response,
)
from genai_cost.pricing import hosts
from genai_cost.semconv import Provider

__all__ = ["OpenAIInstrumentor"]


_CHAT_MODULE = "openai.resources.chat.completions"
_RESPONSES_MODULE = "openai.resources.responses"


def _table(*, capture_content: bool) -> tuple[Wrap, ...]:
    """What to wrap; capturing message content needs extractors that read it."""
    read_completion = partial(read_completion_response, capture_content=capture_content)
    read_response = partial(read_responses_response, capture_content=capture_content)

    def chunks(request: Request) -> ChunkAccumulator:
        return ChunkAccumulator(hide_usage_chunk=request.options is True, capture_content=capture_content)

    def events(request: Request) -> ResponseEventAccumulator:
        return ResponseEventAccumulator(capture_content=capture_content)

    read_error = partial(read_parse_error, capture_content=capture_content)
    chat = Operation(read_chat_request, read_completion, result_wrapper(chunks), read_error)
    text_completion = Operation(read_completion_request, read_completion, result_wrapper(chunks))
    responses = Operation(read_responses_request, read_response, result_wrapper(events))
    # A compaction's output is the conversation's own messages and an opaque item, not an answer.
    compact = Operation(read_responses_request, read_responses_response, result_wrapper())
    embeddings = Operation(read_embeddings_request, read_embeddings_response, result_wrapper())
    realtime = realtime_operation()
    return (
        Wrap(_CHAT_MODULE, "Completions", "create", chat),
        Wrap(_CHAT_MODULE, "Completions", "parse", chat),
        Wrap(_RESPONSES_MODULE, "Responses", "create", responses),
        Wrap(_RESPONSES_MODULE, "Responses", "parse", responses),
        Wrap(_RESPONSES_MODULE, "Responses", "compact", compact),
        Wrap(_RESPONSES_MODULE, "Responses", "retrieve", retrieve_operation(capture_content=capture_content)),
        Wrap("openai.resources.embeddings", "Embeddings", "create", embeddings),
        Wrap("openai.resources.completions", "Completions", "create", text_completion),
        Wrap("openai.resources.realtime.realtime", "RealtimeConnection", "recv_bytes", realtime),
        Wrap("openai.resources.beta.realtime.realtime", "RealtimeConnection", "recv_bytes", realtime),
    )


class OpenAIInstrumentor(GenAIInstrumentor):
    """Instruments the ``openai`` SDK (1.x and later)."""

    _instruments = _instruments
    _providers = (Provider.OPENAI, Provider.AZURE_OPENAI)
    _wraps = _table(capture_content=False)

    def _instrument(self, **kwargs: Any) -> None:
        self._wraps = _table(capture_content=get_settings().capture_message_content)
        hosts.prepare()
        super()._instrument(**kwargs)
