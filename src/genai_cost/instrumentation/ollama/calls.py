"""Ollama ``chat``, ``generate`` and ``embed``: request attributes and the counts Ollama reports.

Every response (a stream's last, ``done`` chunk) reports ``prompt_eval_count`` (input) and
``eval_count`` (output); embed reports ``prompt_eval_count`` only. The SDK takes the model
(and the messages, prompt or input) positionally too.
"""

from __future__ import annotations

from typing import Any

from genai_cost.instrumentation._attributes import (
    count,
    endpoint,
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
    "ChunkAccumulator",
    "read_chat_request",
    "read_embed_request",
    "read_generate_request",
    "read_response",
]

# Keys of the request's ``options`` (Ollama's model parameters).
_OPTIONS = (
    ("num_predict", GenAI.REQUEST_MAX_TOKENS),
    ("temperature", GenAI.REQUEST_TEMPERATURE),
    ("top_p", GenAI.REQUEST_TOP_P),
    ("top_k", GenAI.REQUEST_TOP_K),
    ("seed", GenAI.REQUEST_SEED),
    ("frequency_penalty", GenAI.REQUEST_FREQUENCY_PENALTY),
    ("presence_penalty", GenAI.REQUEST_PRESENCE_PENALTY),
)


def _attributes(operation: str, client: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    base_url = getattr(getattr(client, "_client", None), "base_url", None)
    attributes = endpoint(Provider.OLLAMA, None if base_url is None else str(base_url))
    return request_attributes(operation, attributes, kwargs.get("model", args[0] if args else None))


def _with_options(attributes: dict[str, Any], kwargs: dict[str, Any]) -> Request:
    options = kwargs.get("options")
    attributes.update(numbers(options, _OPTIONS))
    stop = strings(read(options, "stop"))
    if stop:
        attributes[GenAI.REQUEST_STOP_SEQUENCES] = stop
    return Request(attributes, kwargs)


def read_chat_request(client: Any, telemetry: Telemetry, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
    return _with_options(_attributes(Operation.CHAT, client, args, kwargs), kwargs)


def read_generate_request(client: Any, telemetry: Telemetry, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
    return _with_options(_attributes(Operation.TEXT_COMPLETION, client, args, kwargs), kwargs)


def read_embed_request(client: Any, telemetry: Telemetry, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
    attributes = _attributes(Operation.EMBEDDINGS, client, args, kwargs)
    dimensions = kwargs.get("dimensions")
    if isinstance(dimensions, int) and not isinstance(dimensions, bool):
        attributes[GenAI.EMBEDDINGS_DIMENSION_COUNT] = dimensions
    return Request(attributes, kwargs)


def read_response(response: Any) -> Response:
    """A ``ChatResponse``, ``GenerateResponse`` or ``EmbedResponse`` (or a stream's last chunk)."""
    input_tokens, output_tokens = count(read(response, "prompt_eval_count")), count(read(response, "eval_count"))
    reported = input_tokens is not None or output_tokens is not None
    usage = Usage(input_tokens=input_tokens, output_tokens=output_tokens) if reported else None
    reason = read(response, "done_reason")
    reasons = [reason] if isinstance(reason, str) else []
    return Response(usage, response_attributes(None, read(response, "model"), reasons))


class ChunkAccumulator:
    """The ``done`` chunk carries the counts and the reason; earlier ones only text."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: Any = None

    def add(self, chunk: Any) -> bool:
        if self._last is None or read(chunk, "done"):
            self._last = chunk
        return True

    def result(self) -> Response:
        return read_response(self._last)
