"""Messages API: request attributes, response usage and the streamed events.

Anthropic's ``input_tokens`` excludes cache reads and writes; :func:`usage_from_anthropic`
normalizes it to semconv accounting (input = uncached + cache read + cache creation) and keeps
the 5-minute / 1-hour cache-write split, which is priced at its own rates. Web searches run by
the server tool (``usage.server_tool_use.web_search_requests``) are billed per search and
counted as ``web_searches``; web fetches (``web_fetch_requests``) are not: Anthropic bills them
by the tokens of the fetched content only, already in the input count. What the API served
(``usage.service_tier``, ``speed``, ``inference_geo``) is the call's pricing context.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from genai_cost.costing import pricing_context
from genai_cost.instrumentation._attributes import (
    count,
    numbers,
    read,
    request_attributes,
    response_attributes,
    strings,
)
from genai_cost.instrumentation._core import Request, Response, Telemetry
from genai_cost.instrumentation.anthropic import content
from genai_cost.instrumentation.anthropic.endpoint import endpoint_attributes
from genai_cost.semconv import GenAI, Operation, Provider
from genai_cost.usage import Usage

__all__ = ["EventAccumulator", "read_message_response", "read_messages_request", "usage_from_anthropic"]

_REQUEST_NUMBERS = (
    ("max_tokens", GenAI.REQUEST_MAX_TOKENS),
    ("temperature", GenAI.REQUEST_TEMPERATURE),
    ("top_p", GenAI.REQUEST_TOP_P),
    ("top_k", GenAI.REQUEST_TOP_K),
)
_USAGE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "cache_creation",
    "output_tokens_details",
    "server_tool_use",
    "service_tier",
    "speed",
    "inference_geo",
)


def read_messages_request(
    instance: Any, telemetry: Telemetry, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Request:
    """``messages.create``/``parse``/``stream`` keyword arguments (the SDK takes no positional ones)."""
    attributes = request_attributes(Operation.CHAT, endpoint_attributes(instance), kwargs.get("model"))
    attributes.update(numbers(kwargs, _REQUEST_NUMBERS))
    stop = strings(kwargs.get("stop_sequences"))
    if stop:
        attributes[GenAI.REQUEST_STOP_SEQUENCES] = stop
    if telemetry.settings.capture_message_content:
        captured = {
            GenAI.INPUT_MESSAGES: content.input_messages(kwargs.get("messages")),
            GenAI.SYSTEM_INSTRUCTIONS: content.system_instructions(kwargs.get("system")),
        }
        attributes.update({name: value for name, value in captured.items() if value is not None})
    # Bedrock and Vertex AI answer with the vendor's short model name; the requested id
    # (region, inference profile) is what selects their price.
    cloud = attributes[GenAI.PROVIDER_NAME] != Provider.ANTHROPIC
    return Request(attributes, kwargs, price_by_request_model=cloud)


def usage_from_anthropic(usage: Any) -> Usage | None:
    """Semconv usage from a ``Usage``/``MessageDeltaUsage`` object or the same fields as a dict."""
    if usage is None:
        return None
    split = read(usage, "cache_creation")
    tokens = Usage.from_uncached_input(
        uncached_input_tokens=count(read(usage, "input_tokens")),
        output_tokens=count(read(usage, "output_tokens")),
        cache_read_tokens=count(read(usage, "cache_read_input_tokens")),
        cache_creation_tokens=count(read(usage, "cache_creation_input_tokens")),
        cache_creation_5m_tokens=count(read(split, "ephemeral_5m_input_tokens")),
        cache_creation_1h_tokens=count(read(split, "ephemeral_1h_input_tokens")),
        reasoning_tokens=count(read(read(usage, "output_tokens_details"), "thinking_tokens")),
    )
    server_tools = read(usage, "server_tool_use")
    if server_tools is None:  # the usual call: no server tool ran
        return tokens
    return replace(tokens, web_searches=count(read(server_tools, "web_search_requests")))


def served_context(usage: Any) -> dict[str, str] | None:
    """The pricing context of what the API served: ``usage.service_tier`` (``batch`` is the
    ``processing`` genai-prices prices batches by), ``speed`` (fast mode), ``inference_geo``."""
    if usage is None:
        return None
    tier = read(usage, "service_tier")
    batch = tier == "batch"
    return pricing_context(
        service_tier=None if batch else tier,
        processing="batch" if batch else None,
        speed=read(usage, "speed"),
        inference_geo=read(usage, "inference_geo"),
    )


def _stop_reasons(stop_reason: Any) -> list[str]:
    return [stop_reason] if isinstance(stop_reason, str) else []


def read_message_response(message: Any) -> Response:
    """A ``Message``, ``ParsedMessage`` or ``BetaMessage``."""
    usage = read(message, "usage")
    return Response(
        usage_from_anthropic(usage),
        response_attributes(read(message, "id"), read(message, "model"), _stop_reasons(read(message, "stop_reason"))),
        pricing_context=served_context(usage),
    )


class EventAccumulator:
    """Folds raw stream events into one :class:`Response`; every event reaches the app.

    ``message_start`` carries the input side and an initial output count, ``message_delta``
    the cumulative output count and, on newer APIs, updated input and cache counts: per usage
    field, the last reported value wins.
    """

    __slots__ = ("_id", "_model", "_stop_reason", "_usage")

    def __init__(self) -> None:
        self._id: Any = None
        self._model: Any = None
        self._stop_reason: Any = None
        self._usage: dict[str, Any] = {}

    def add(self, event: Any) -> bool:
        kind = read(event, "type")
        if kind == "message_start":
            message = read(event, "message")
            self._id, self._model = read(message, "id"), read(message, "model")
            self._merge(read(message, "usage"))
        elif kind == "message_delta":
            self._stop_reason = read(read(event, "delta"), "stop_reason")
            self._merge(read(event, "usage"))
        return True

    def _merge(self, usage: Any) -> None:
        if usage is None:
            return
        for name in _USAGE_FIELDS:
            value = read(usage, name)
            if value is not None:
                self._usage[name] = value

    def result(self) -> Response:
        return Response(
            usage_from_anthropic(self._usage) if self._usage else None,
            response_attributes(self._id, self._model, _stop_reasons(self._stop_reason)),
            pricing_context=served_context(self._usage),
        )
