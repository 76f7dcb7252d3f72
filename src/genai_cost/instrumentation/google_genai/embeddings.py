"""``embed_content``: request attributes and the input token count, when the API reports one.

Vertex AI reports it (``usage_metadata`` from ``embedContent``, or per-embedding
``statistics.token_count`` from ``predict``); the Gemini API's ``batchEmbedContents`` reports
none, and then the span says ``no_usage`` rather than carrying a guess.
"""

from __future__ import annotations

from typing import Any

from genai_cost.instrumentation._attributes import count, number, read, request_attributes
from genai_cost.instrumentation._core import Request, Response, Telemetry
from genai_cost.instrumentation.google_genai.endpoint import endpoint_attributes, model_name
from genai_cost.semconv import GenAI, Operation
from genai_cost.usage import Usage, saturating_sum

__all__ = ["read_embed_request", "read_embed_response"]


def read_embed_request(instance: Any, telemetry: Telemetry, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
    model = model_name(kwargs.get("model"))
    attributes = request_attributes(Operation.EMBEDDINGS, endpoint_attributes(instance), model)
    dimensions = number(read(kwargs.get("config"), "output_dimensionality"))
    if dimensions is not None:
        attributes[GenAI.EMBEDDINGS_DIMENSION_COUNT] = dimensions
    return Request(attributes, kwargs)


def _input_tokens(result: Any) -> int | None:
    tokens = count(read(read(result, "usage_metadata"), "prompt_token_count"))
    if tokens is not None:
        return tokens
    counts = [
        count(read(read(embedding, "statistics"), "token_count")) for embedding in read(result, "embeddings") or ()
    ]
    if counts and None not in counts:
        return saturating_sum(*counts)
    return None


def read_embed_response(result: Any) -> Response:
    """An ``EmbedContentResponse``."""
    tokens = _input_tokens(result)
    return Response(None if tokens is None else Usage(input_tokens=tokens))
