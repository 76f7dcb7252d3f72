"""Converse and ConverseStream: request attributes, ``usage``, the stream's ``metadata`` event.

Converse's ``inputTokens`` count only the input that was neither read from nor written to the
prompt cache (``cacheReadInputTokens``/``cacheWriteInputTokens`` are reported beside it, as in
Anthropic's API), so usage is normalized with :meth:`Usage.from_uncached_input`. Cache writes
are split by lifetime in ``cacheDetails`` (``[{"ttl": "1h" | "5m", "inputTokens": n}]``), and the
two lifetimes have their own prices.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from genai_cost.costing import pricing_context
from genai_cost.instrumentation._attributes import count, request_attributes, response_attributes
from genai_cost.instrumentation._core import Request, Response, Telemetry
from genai_cost.instrumentation.bedrock.clients import endpoint_attributes
from genai_cost.instrumentation.bedrock.content import converse_messages, converse_output, system_json
from genai_cost.instrumentation.bedrock.parameters import request_parameters
from genai_cost.instrumentation.bedrock.streams import metadata_attributes
from genai_cost.semconv import GenAI, Operation
from genai_cost.usage import Usage, saturating_sum

__all__ = [
    "ConverseEventAccumulator",
    "read_converse_request",
    "read_converse_response",
    "usage_from_converse",
]


def read_converse_request(client: Any, telemetry: Telemetry, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
    model = kwargs.get("modelId")
    attributes = request_attributes(Operation.CHAT, endpoint_attributes(client), model)
    # top_k has no Converse field: Anthropic and Nova take it in additionalModelRequestFields.
    attributes.update(request_parameters(kwargs.get("inferenceConfig"), kwargs.get("additionalModelRequestFields")))
    if telemetry.settings.capture_message_content:
        attributes[GenAI.INPUT_MESSAGES] = converse_messages(kwargs.get("messages"))
        attributes[GenAI.SYSTEM_INSTRUCTIONS] = system_json(kwargs.get("system"))
    return Request(attributes, kwargs)


def usage_from_converse(usage: Any) -> Usage | None:
    """Usage of a Converse ``usage`` or ConverseStream ``metadata.usage`` object."""
    if not isinstance(usage, Mapping):
        return None
    ttl_5m, ttl_1h = _cache_writes_by_ttl(usage.get("cacheDetails"))
    return Usage.from_uncached_input(
        uncached_input_tokens=count(usage.get("inputTokens")),
        output_tokens=count(usage.get("outputTokens")),
        cache_read_tokens=count(usage.get("cacheReadInputTokens")),
        cache_creation_tokens=count(usage.get("cacheWriteInputTokens")),
        cache_creation_5m_tokens=ttl_5m,
        cache_creation_1h_tokens=ttl_1h,
    )


def _cache_writes_by_ttl(details: Any) -> tuple[int | None, int | None]:
    """(5-minute, 1-hour) cache writes of ``cacheDetails``; a lifetime not listed is ``None``."""
    by_ttl: dict[str, int | None] = {}
    for detail in details if isinstance(details, list) else ():
        if isinstance(detail, Mapping) and (ttl := detail.get("ttl")) in ("5m", "1h"):
            by_ttl[ttl] = saturating_sum(by_ttl.get(ttl), count(detail.get("inputTokens")))
    return by_ttl.get("5m"), by_ttl.get("1h")


def served_context(source: Mapping[str, Any]) -> dict[str, str] | None:
    """The pricing context of what Bedrock served: a Converse result's (or ConverseStream
    ``metadata`` event's) ``serviceTier.type`` and ``performanceConfig.latency``."""
    tier, performance = source.get("serviceTier"), source.get("performanceConfig")
    return pricing_context(
        service_tier=tier.get("type") if isinstance(tier, Mapping) else None,
        latency=performance.get("latency") if isinstance(performance, Mapping) else None,
    )


def _response(usage: Any, stop_reason: Any, attributes: dict[str, Any], served: Mapping[str, Any]) -> Response:
    reasons = [stop_reason] if isinstance(stop_reason, str) else []
    return Response(
        usage_from_converse(usage),
        {**attributes, **response_attributes(None, None, reasons)},
        pricing_context=served_context(served),
    )


def read_converse_response(result: Any, *, capture_content: bool = False) -> Response:
    """A Converse result dict (``output``, ``stopReason``, ``usage``, ``metrics``)."""
    attributes = metadata_attributes(result)
    stop_reason = result.get("stopReason")
    if capture_content:
        output = result.get("output")
        message = output.get("message") if isinstance(output, Mapping) else None
        attributes[GenAI.OUTPUT_MESSAGES] = converse_output(message, stop_reason)
    return _response(result.get("usage"), stop_reason, attributes, result)


class ConverseEventAccumulator:
    """Folds ConverseStream events: ``messageStop`` has the stop reason, ``metadata`` the usage.

    With content capture, text and tool-use deltas are joined per content block into a
    Converse-shaped message, so the output goes through the same extractor as ``converse``.
    """

    __slots__ = ("_attributes", "_blocks", "_metadata", "_stop_reason", "_usage")

    def __init__(self, result: Mapping[str, Any], *, capture_content: bool = False) -> None:
        self._attributes = metadata_attributes(result)
        self._stop_reason: Any = None
        self._usage: Any = None
        self._metadata: Mapping[str, Any] = {}
        self._blocks: dict[int, dict[str, Any]] | None = {} if capture_content else None

    def add(self, event: Any) -> bool:
        metadata = event.get("metadata")
        if metadata is not None:
            self._metadata = metadata
            self._usage = metadata.get("usage")
        elif (stop := event.get("messageStop")) is not None:
            self._stop_reason = stop.get("stopReason")
        elif self._blocks is not None:
            _collect(self._blocks, event)
        return True

    def result(self) -> Response:
        attributes = dict(self._attributes)
        if self._blocks is not None:
            message = {"role": "assistant", "content": [self._blocks[index] for index in sorted(self._blocks)]}
            attributes[GenAI.OUTPUT_MESSAGES] = converse_output(message, self._stop_reason)
        return _response(self._usage, self._stop_reason, attributes, self._metadata)


def _collect(blocks: dict[int, dict[str, Any]], event: Mapping[str, Any]) -> None:
    """Join a stream event's text or tool-use input into its content block."""
    start = event.get("contentBlockStart")
    if start is not None:
        use = (start.get("start") or {}).get("toolUse")
        if use is not None:
            tool = {"toolUseId": use.get("toolUseId"), "name": use.get("name"), "input": ""}
            blocks[start.get("contentBlockIndex", 0)] = {"toolUse": tool}
        return
    delta = event.get("contentBlockDelta")
    if delta is None:
        return
    block = blocks.setdefault(delta.get("contentBlockIndex", 0), {"text": ""})
    change = delta.get("delta") or {}
    if isinstance(change.get("text"), str) and "text" in block:
        block["text"] += change["text"]
    elif isinstance(change.get("toolUse"), Mapping) and "toolUse" in block:
        block["toolUse"]["input"] += change["toolUse"].get("input") or ""
