"""InvokeModel and InvokeModelWithResponseStream: request attributes, body usage, stream chunks.

``invoke_model`` returns its body as a ``StreamingBody`` the app reads after the call
returns. The app keeps that body, behind a proxy that sees the bytes it reads (see
:mod:`.body_proxy`): the span ends when the body has been read, closed, failed or dropped.
Usage comes from the ``x-amzn-bedrock-*-token-count`` headers, which Bedrock sends with every
response and bills by, completed by the model family's body when it was read whole (see
:mod:`.bodies`): the body adds the details the headers do not carry and any count they miss.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from genai_cost.instrumentation._attributes import response_attributes
from genai_cost.instrumentation._core import Invocation, Request, Response, Telemetry, safe
from genai_cost.instrumentation.bedrock.bodies import (
    INVOCATION_METRICS,
    MAX_PARSED_BODY,
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
from genai_cost.usage import TOKEN_FIELDS, Usage

__all__ = [
    "InvokeBodyAccumulator",
    "InvokeChunkAccumulator",
    "read_invoke_headers",
    "read_invoke_request",
    "watch_body",
]

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


def watch_body(
    result: Any, invocation: Invocation, request: Request, body_type: Any = None, proxy_type: Any = None
) -> Any:
    """Give the app its own ``StreamingBody`` behind a proxy that finishes the call
    (aiobotocore gives its own body class and proxy, else botocore's and :mod:`.body_proxy`'s)."""
    if body_type is None or proxy_type is None:
        from botocore.response import StreamingBody

        from genai_cost.instrumentation.bedrock.body_proxy import StreamingBodyProxy

        body_type, proxy_type = StreamingBody, StreamingBodyProxy
    body = result.get("body") if isinstance(result, dict) else None
    if not isinstance(body, body_type):
        return None
    result["body"] = proxy_type(body, invocation, InvokeBodyAccumulator(result))
    return result


class InvokeBodyAccumulator:
    """Keeps the bytes the app reads (up to :data:`MAX_PARSED_BODY`) to parse the whole body."""

    __slots__ = ("_at_end", "_attributes", "_headers", "_length", "_pieces", "_size")

    def __init__(self, result: Mapping[str, Any]) -> None:
        self._headers = _headers(result)
        self._attributes = metadata_attributes(result)
        length = self._headers.get("content-length") if isinstance(self._headers, Mapping) else None
        self._length = int(length) if isinstance(length, str) and length.isdigit() else None
        self._pieces: list[bytes] | None = []
        self._size = 0
        self._at_end = False

    def add(self, data: bytes) -> bool:
        self._size += len(data)
        if self._pieces is not None:
            if self._size > MAX_PARSED_BODY:
                self._pieces = None  # too large to parse: the headers will do
            elif data:
                self._pieces.append(data)
        return True

    def end(self) -> None:
        self._at_end = True

    @property
    def complete(self) -> bool:
        return self._at_end or self._size == self._length

    def result(self) -> Response:
        # One piece (the usual ``read()``) is joined without a copy.
        parsed = json_body(b"".join(self._pieces)) if self.complete and self._pieces is not None else None
        # A body we fail to read must not hide the headers' counts.
        body_usage = safe(usage_from_body, parsed) if parsed is not None else None
        return _response(parsed, usage_from_headers(self._headers, body_usage), dict(self._attributes))


class InvokeChunkAccumulator:
    """Folds ``{"chunk": {"bytes": ...}}`` events; parses only chunks that can matter.

    Per usage field the latest reported count wins: the last chunk's invocation metrics carry
    the billed counts, while Anthropic's ``message_start`` alone has the cache-write split and
    its ``message_delta`` the web searches.
    """

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
        if usage is not None:
            self._usage = usage if self._usage is None else _latest(self._usage, usage)
        reasons = finish_reasons(body)
        if reasons:
            self._reasons = reasons
        return True

    def result(self) -> Response:
        return Response(self._usage, {**self._attributes, **response_attributes(self._id, None, self._reasons)})


def _latest(earlier: Usage, later: Usage) -> Usage:
    return Usage(**{name: getattr(earlier, name) if (value := getattr(later, name)) is None else value
                    for name in TOKEN_FIELDS})  # fmt: skip
