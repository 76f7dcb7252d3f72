"""Embeddings: request attributes and the input token count."""

from __future__ import annotations

from typing import Any

from genai_cost.instrumentation._attributes import count, given, number, read, request_attributes
from genai_cost.instrumentation._core import Request, Response, Telemetry
from genai_cost.instrumentation.openai.chat import Endpoint, reported_cost
from genai_cost.instrumentation.openai.endpoint import endpoint_attributes
from genai_cost.semconv import GenAI, Operation
from genai_cost.usage import Usage

__all__ = ["read_embeddings_request", "read_embeddings_response"]


def read_embeddings_request(
    instance: Any,
    telemetry: Telemetry,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    endpoint: Endpoint | None = None,
) -> Request:
    attributes = request_attributes(
        Operation.EMBEDDINGS, (endpoint or endpoint_attributes)(instance), kwargs.get("model")
    )
    encoding = given(kwargs.get("encoding_format"))
    if isinstance(encoding, str):
        attributes[GenAI.REQUEST_ENCODING_FORMATS] = [encoding]
    dimensions = number(given(kwargs.get("dimensions")))
    if dimensions is not None:
        attributes[GenAI.EMBEDDINGS_DIMENSION_COUNT] = dimensions
    return Request(attributes, kwargs)


def read_embeddings_response(result: Any) -> Response:
    attributes: dict[str, Any] = {}
    model = read(result, "model")
    if isinstance(model, str):
        attributes[GenAI.RESPONSE_MODEL] = model
    usage = read(result, "usage")
    input_tokens = count(read(usage, "prompt_tokens"))
    return Response(
        None if input_tokens is None else Usage(input_tokens=input_tokens),
        attributes,
        provider_cost=reported_cost(usage),
    )
