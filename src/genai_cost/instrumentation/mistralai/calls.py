"""Mistral ``chat.complete``/``stream`` and ``embeddings.create``: request attributes, and the
responses read as OpenAI's, whose shape they share.

Responses carry ``usage.prompt_tokens`` (cached included, split in
``prompt_tokens_details.cached_tokens``) and ``completion_tokens``, as genai-prices' Mistral
extractor reads them; a stream's last chunk carries the usage. The SDK's stream yields
``CompletionEvent`` objects whose ``data`` is the chunk.
"""

from __future__ import annotations

from typing import Any

from genai_cost.instrumentation._attributes import (
    endpoint,
    given,
    number,
    numbers,
    read,
    request_attributes,
    strings,
)
from genai_cost.instrumentation._core import Request, Response, Telemetry
from genai_cost.instrumentation.openai.chat import ChunkAccumulator
from genai_cost.semconv import GenAI, Operation, Provider

__all__ = ["EventAccumulator", "read_chat_request", "read_embeddings_request"]

_REQUEST_NUMBERS = (
    ("max_tokens", GenAI.REQUEST_MAX_TOKENS),
    ("temperature", GenAI.REQUEST_TEMPERATURE),
    ("top_p", GenAI.REQUEST_TOP_P),
    ("random_seed", GenAI.REQUEST_SEED),
    ("frequency_penalty", GenAI.REQUEST_FREQUENCY_PENALTY),
    ("presence_penalty", GenAI.REQUEST_PRESENCE_PENALTY),
    ("n", GenAI.REQUEST_CHOICE_COUNT),
)


def _endpoint(resource: Any) -> dict[str, Any]:
    configuration = getattr(resource, "sdk_configuration", None)
    details = configuration.get_server_details() if configuration is not None else None
    return endpoint(Provider.MISTRAL, details[0] if details else None)


def read_chat_request(resource: Any, telemetry: Telemetry, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
    attributes = request_attributes(Operation.CHAT, _endpoint(resource), kwargs.get("model"))
    attributes.update(numbers(kwargs, _REQUEST_NUMBERS))
    stop = strings(kwargs.get("stop"))
    if stop:
        attributes[GenAI.REQUEST_STOP_SEQUENCES] = stop
    return Request(attributes, kwargs)


def read_embeddings_request(
    resource: Any, telemetry: Telemetry, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Request:
    attributes = request_attributes(Operation.EMBEDDINGS, _endpoint(resource), kwargs.get("model"))
    encoding = given(kwargs.get("output_dtype"))
    if isinstance(encoding, str):
        attributes[GenAI.REQUEST_ENCODING_FORMATS] = [encoding]
    dimensions = number(given(kwargs.get("output_dimension")))
    if dimensions is not None:
        attributes[GenAI.EMBEDDINGS_DIMENSION_COUNT] = dimensions
    return Request(attributes, kwargs)


class EventAccumulator:
    """OpenAI's chunk accumulator over each event's ``data``."""

    __slots__ = ("_chunks",)

    def __init__(self) -> None:
        self._chunks = ChunkAccumulator(hide_usage_chunk=False)

    def add(self, event: Any) -> bool:
        self._chunks.add(read(event, "data"))
        return True

    def result(self) -> Response:
        return self._chunks.result()
