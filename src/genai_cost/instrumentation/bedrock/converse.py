"""Converse and ConverseStream: request attributes, ``usage``, the stream's ``metadata`` event.

Converse's ``inputTokens`` count only the input that was neither read from nor written to the
prompt cache (``cacheReadInputTokens``/``cacheWriteInputTokens`` are reported beside it, as in
Anthropic's API), so usage is normalized with :meth:`Usage.from_uncached_input`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from genai_cost.instrumentation._core import Request, Response, Telemetry
from genai_cost.instrumentation.bedrock.bodies import uncached_usage
from genai_cost.instrumentation.bedrock.clients import endpoint_attributes
from genai_cost.instrumentation.bedrock.parameters import request_parameters
from genai_cost.instrumentation.bedrock.streams import metadata_attributes
from genai_cost.semconv import GenAI, Operation
from genai_cost.usage import Usage

__all__ = [
    "ConverseEventAccumulator",
    "read_converse_request",
    "read_converse_response",
    "usage_from_converse",
]


def read_converse_request(client: Any, telemetry: Telemetry, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
    attributes: dict[str, Any] = {GenAI.OPERATION_NAME: Operation.CHAT, **endpoint_attributes(client)}
    model = kwargs.get("modelId")
    if isinstance(model, str):
        attributes[GenAI.REQUEST_MODEL] = model
    # top_k has no Converse field: Anthropic and Nova take it in additionalModelRequestFields.
    attributes.update(request_parameters(kwargs.get("inferenceConfig"), kwargs.get("additionalModelRequestFields")))
    return Request(attributes, kwargs)


def usage_from_converse(usage: Any) -> Usage | None:
    """Usage of a Converse ``usage`` or ConverseStream ``metadata.usage`` object."""
    if not isinstance(usage, Mapping):
        return None
    return uncached_usage(usage, "inputTokens", "outputTokens", "cacheReadInputTokens", "cacheWriteInputTokens")


def _response(usage: Any, stop_reason: Any, attributes: dict[str, Any]) -> Response:
    if isinstance(stop_reason, str):
        attributes[GenAI.RESPONSE_FINISH_REASONS] = [stop_reason]
    return Response(usage_from_converse(usage), attributes)


def read_converse_response(result: Any) -> Response:
    """A Converse result dict (``output``, ``stopReason``, ``usage``, ``metrics``)."""
    return _response(result.get("usage"), result.get("stopReason"), metadata_attributes(result))


class ConverseEventAccumulator:
    """Folds ConverseStream events: ``messageStop`` has the stop reason, ``metadata`` the usage."""

    __slots__ = ("_attributes", "_stop_reason", "_usage")

    def __init__(self, result: Mapping[str, Any]) -> None:
        self._attributes = metadata_attributes(result)
        self._stop_reason: Any = None
        self._usage: Any = None

    def add(self, event: Any) -> bool:
        metadata = event.get("metadata")
        if metadata is not None:
            self._usage = metadata.get("usage")
        else:
            stop = event.get("messageStop")
            if stop is not None:
                self._stop_reason = stop.get("stopReason")
        return True

    def result(self) -> Response:
        return _response(self._usage, self._stop_reason, dict(self._attributes))
