"""InvokeModel and InvokeModelWithResponseStream: request attributes, body usage, stream chunks.

``invoke_model`` returns its body as a ``StreamingBody`` that can be read once. We read it and
hand the app a new ``StreamingBody`` over the same bytes, so the app reads exactly what it
would have read. Usage comes from the model family's body (see :mod:`.bodies`), else from the
``x-amzn-bedrock-*-token-count`` headers.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from genai_cost.instrumentation._attributes import response_attributes
from genai_cost.instrumentation._core import Invocation, Request, Response, Telemetry
from genai_cost.instrumentation.bedrock.bodies import (
    INVOCATION_METRICS,
    finish_reasons,
    json_body,
    operation_for,
    response_id,
    usage_from_body,
    usage_from_headers,
)
from genai_cost.instrumentation.bedrock.clients import endpoint_attributes
from genai_cost.instrumentation.bedrock.parameters import request_parameters
from genai_cost.instrumentation.bedrock.streams import metadata_attributes
from genai_cost.semconv import GenAI
from genai_cost.usage import Usage

__all__ = ["InvokeChunkAccumulator", "buffer_body", "read_invoke_headers", "read_invoke_request"]

# Chunks worth parsing besides the first: the ones that can carry usage or a finish reason.
_MARKERS = (INVOCATION_METRICS.encode(), b"stop_reason", b"stopReason", b"finish_reason", b"completionReason")


def read_invoke_request(client: Any, telemetry: Telemetry, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
    model = kwargs.get("modelId")
    model = model if isinstance(model, str) else None
    body = json_body(kwargs.get("body"))
    attributes: dict[str, Any] = {
        GenAI.OPERATION_NAME: operation_for(model, body),
        **endpoint_attributes(client),
    }
    if model is not None:
        attributes[GenAI.REQUEST_MODEL] = model
    if body is not None:
        attributes.update(request_parameters(body, body.get("inferenceConfig"), body.get("textGenerationConfig")))
    return Request(attributes, kwargs)


def _headers(result: Mapping[str, Any]) -> Any:
    metadata = result.get("ResponseMetadata")
    return metadata.get("HTTPHeaders") if isinstance(metadata, Mapping) else None


def _response(body: Mapping[str, Any] | None, usage: Usage | None, attributes: dict[str, Any]) -> Response:
    if body is not None:
        attributes.update(response_attributes(response_id(body), None, finish_reasons(body)))
    return Response(usage, attributes)


def read_invoke_headers(result: Any) -> Response:
    """An invoke_model result read from its headers only (the body left unread)."""
    return _response(None, usage_from_headers(_headers(result)), metadata_attributes(result))


def buffer_body(result: Any, invocation: Invocation, request: Request) -> Any:
    """Read the body, give the app a fresh ``StreamingBody`` over the same bytes, finish."""
    from botocore.response import StreamingBody

    body = result.get("body") if isinstance(result, dict) else None
    if body is None:
        return None
    try:
        data = body.read()
    except Exception as error:
        # The connection broke mid-body: the app's own read of the same body fails too.
        invocation.fail(error)
        return result
    result["body"] = StreamingBody(io.BytesIO(data), len(data))
    parsed = json_body(data)
    usage = usage_from_body(parsed) if parsed is not None else None
    if usage is None:
        usage = usage_from_headers(_headers(result))
    invocation.finish(_response(parsed, usage, metadata_attributes(result)))
    return result


class InvokeChunkAccumulator:
    """Folds ``{"chunk": {"bytes": ...}}`` events; parses only chunks that can matter."""

    __slots__ = ("_attributes", "_id", "_parsed_first", "_reasons", "_usage")

    def __init__(self, result: Mapping[str, Any]) -> None:
        self._attributes = metadata_attributes(result)
        self._parsed_first = False
        self._id: str | None = None
        self._reasons: list[str] = []
        self._usage: Usage | None = None

    def add(self, event: Any) -> bool:
        chunk = event.get("chunk")
        data = chunk.get("bytes") if isinstance(chunk, Mapping) else None
        if not isinstance(data, bytes):
            return True
        if self._parsed_first and not any(marker in data for marker in _MARKERS):
            return True
        body = json_body(data)
        if body is None:
            return True
        if not self._parsed_first:
            self._parsed_first = True
            self._id = response_id(body)
        usage = usage_from_body(body)
        if usage is not None and (self._usage is None or INVOCATION_METRICS in body):
            self._usage = usage
        reasons = finish_reasons(body)
        if reasons:
            self._reasons = reasons
        return True

    def result(self) -> Response:
        return Response(self._usage, {**self._attributes, **response_attributes(self._id, None, self._reasons)})
