"""Cohere v2 ``chat``, ``chat_stream``, ``embed`` and ``rerank``: request attributes and usage.

Cohere reports two counts: ``billed_units`` (what the invoice says) and ``tokens`` (what the
model saw, including the prompt template Cohere adds; 186 seen against 21 billed in a recorded
stream). The span's usage is the billed count, as genai-prices' Cohere extractor reads it, and
``tokens`` only when no billed count was reported. Chat reports them under ``usage`` (on the
``message-end`` event when streamed), embed and rerank under ``meta``. Rerank bills
``search_units``, for which neither genai-prices nor :class:`Usage` has a unit: its span
carries no usage, and the cost says so.
"""

from __future__ import annotations

from typing import Any

from genai_cost.instrumentation._attributes import (
    count,
    endpoint,
    given,
    numbers,
    read,
    request_attributes,
    response_attributes,
    strings,
)
from genai_cost.instrumentation._core import Request, Response, Telemetry
from genai_cost.semconv import GenAI, Operation, Provider
from genai_cost.usage import Usage

__all__ = [
    "RERANK",
    "EventAccumulator",
    "read_chat_request",
    "read_chat_response",
    "read_embed_request",
    "read_meta_response",
    "read_rerank_request",
]

RERANK = "rerank"
"""``gen_ai.operation.name`` of a rerank call (no semconv value yet)."""

_REQUEST_NUMBERS = (
    ("max_tokens", GenAI.REQUEST_MAX_TOKENS),
    ("temperature", GenAI.REQUEST_TEMPERATURE),
    ("p", GenAI.REQUEST_TOP_P),
    ("k", GenAI.REQUEST_TOP_K),
    ("seed", GenAI.REQUEST_SEED),
    ("frequency_penalty", GenAI.REQUEST_FREQUENCY_PENALTY),
    ("presence_penalty", GenAI.REQUEST_PRESENCE_PENALTY),
)


def _endpoint(client: Any) -> dict[str, Any]:
    # ClientV2 holds the wrapper itself; the v2 resource of a v1 client (``Client().v2``) in its raw client.
    wrapper = getattr(client, "_client_wrapper", None)
    if wrapper is None:
        wrapper = getattr(getattr(client, "_raw_client", None), "_client_wrapper", None)
    return endpoint(Provider.COHERE, wrapper.get_base_url() if wrapper is not None else None)


def _request(operation: str, client: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    return request_attributes(operation, _endpoint(client), kwargs.get("model"))


def read_chat_request(client: Any, telemetry: Telemetry, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
    attributes = _request(Operation.CHAT, client, kwargs)
    attributes.update(numbers(kwargs, _REQUEST_NUMBERS))
    stop = strings(kwargs.get("stop_sequences"))
    if stop:
        attributes[GenAI.REQUEST_STOP_SEQUENCES] = stop
    return Request(attributes, kwargs)


def read_embed_request(client: Any, telemetry: Telemetry, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
    attributes = _request(Operation.EMBEDDINGS, client, kwargs)
    formats = strings(kwargs.get("embedding_types"))
    if formats:
        attributes[GenAI.REQUEST_ENCODING_FORMATS] = formats
    dimensions = given(kwargs.get("output_dimension"))
    if isinstance(dimensions, int):
        attributes[GenAI.EMBEDDINGS_DIMENSION_COUNT] = dimensions
    return Request(attributes, kwargs)


def read_rerank_request(client: Any, telemetry: Telemetry, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
    return Request(_request(RERANK, client, kwargs), kwargs)


def usage_from_cohere(usage: Any) -> Usage | None:
    """Billed input and output tokens of a ``usage``/``meta`` object, else its ``tokens``."""
    for counts in (read(usage, "billed_units"), read(usage, "tokens")):
        input_tokens, output_tokens = count(read(counts, "input_tokens")), count(read(counts, "output_tokens"))
        if input_tokens is not None or output_tokens is not None:
            return Usage(input_tokens=input_tokens, output_tokens=output_tokens)
    return None


def _finish_reasons(reason: Any) -> list[str]:
    return [reason] if isinstance(reason, str) else []


def read_chat_response(response: Any) -> Response:
    """A ``V2ChatResponse``."""
    return Response(
        usage_from_cohere(read(response, "usage")),
        response_attributes(read(response, "id"), None, _finish_reasons(read(response, "finish_reason"))),
    )


def read_meta_response(response: Any) -> Response:
    """An ``EmbedByTypeResponse`` or a ``V2RerankResponse``: usage under ``meta``."""
    return Response(usage_from_cohere(read(response, "meta")), response_attributes(read(response, "id"), None, ()))


class EventAccumulator:
    """``message-start`` carries the id, ``message-end`` the finish reason and the usage."""

    __slots__ = ("_end", "_id")

    def __init__(self) -> None:
        self._id: Any = None
        self._end: Any = None

    def add(self, event: Any) -> bool:
        kind = read(event, "type")
        if kind == "message-start":
            self._id = read(event, "id")
        elif kind == "message-end":
            self._end = read(event, "delta")
        return True

    def result(self) -> Response:
        return Response(
            usage_from_cohere(read(self._end, "usage")),
            response_attributes(self._id, None, _finish_reasons(read(self._end, "finish_reason"))),
        )
