"""The Responses API: request attributes, response usage and streamed events."""

from __future__ import annotations

from typing import Any

from genai_cost.costing import pricing_context
from genai_cost.instrumentation._attributes import count, given, numbers, read, request_attributes, response_attributes
from genai_cost.instrumentation._core import Request, Response, Telemetry
from genai_cost.instrumentation.openai import content
from genai_cost.instrumentation.openai.chat import reported_cost
from genai_cost.instrumentation.openai.endpoint import endpoint_attributes
from genai_cost.semconv import GenAI, Operation
from genai_cost.usage import Usage

__all__ = ["ResponseEventAccumulator", "read_responses_request", "read_responses_response"]

_FINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})
_REQUEST_NUMBERS = (
    ("temperature", GenAI.REQUEST_TEMPERATURE),
    ("top_p", GenAI.REQUEST_TOP_P),
    ("max_output_tokens", GenAI.REQUEST_MAX_TOKENS),
)


def read_responses_request(
    instance: Any, telemetry: Telemetry, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Request:
    attributes = request_attributes(Operation.CHAT, endpoint_attributes(instance), kwargs.get("model"))
    attributes.update(numbers(kwargs, _REQUEST_NUMBERS))
    tier = given(kwargs.get("service_tier"))
    if isinstance(tier, str) and tier != "auto":
        attributes[GenAI.REQUEST_SERVICE_TIER] = tier
    if telemetry.settings.capture_message_content:
        instructions = given(kwargs.get("instructions"))
        if isinstance(instructions, str):
            attributes[GenAI.SYSTEM_INSTRUCTIONS] = content.messages_json([content.text_part(instructions)])
        attributes[GenAI.INPUT_MESSAGES] = content.messages_json(content.responses_input(kwargs.get("input")))
    return Request(attributes, kwargs)


def _usage(usage: Any) -> Usage | None:
    """A ``ResponseUsage``: ``input_tokens`` include cache reads and writes, ``output_tokens`` reasoning."""
    if usage is None:
        return None
    input_details = read(usage, "input_tokens_details")
    return Usage(
        input_tokens=count(read(usage, "input_tokens")),
        output_tokens=count(read(usage, "output_tokens")),
        cache_read_tokens=count(read(input_details, "cached_tokens")),
        cache_creation_tokens=count(read(input_details, "cache_write_tokens")),
        reasoning_tokens=count(read(read(usage, "output_tokens_details"), "reasoning_tokens")),
    )


def read_responses_response(result: Any, *, capture_content: bool = False) -> Response:
    """A ``Response`` or ``ParsedResponse`` object."""
    status = read(result, "status")
    reason = None
    if isinstance(status, str):
        reason = read(read(result, "incomplete_details"), "reason")
        reason = reason if isinstance(reason, str) else status
    attributes = response_attributes(read(result, "id"), read(result, "model"), [reason] if reason else [])
    if capture_content:
        output = read(result, "output")
        messages = content.responses_output(output if isinstance(output, list) else (), reason)
        attributes[GenAI.OUTPUT_MESSAGES] = content.messages_json(messages)
    tier = read(result, "service_tier")
    if isinstance(tier, str):
        attributes[GenAI.RESPONSE_SERVICE_TIER] = tier
    usage = read(result, "usage")
    context = pricing_context(service_tier=tier)
    return Response(_usage(usage), attributes, provider_cost=reported_cost(usage), pricing_context=context)


class ResponseEventAccumulator:
    """Keeps the final ``response.*`` event of a Responses stream; every event reaches the app."""

    __slots__ = ("_capture_content", "_final")

    def __init__(self, *, capture_content: bool = False) -> None:
        self._capture_content = capture_content
        self._final: Any = None

    def add(self, event: Any) -> bool:
        if read(event, "type") in _FINAL_EVENTS:
            self._final = read(event, "response")
        return True

    def result(self) -> Response:
        if self._final is None:
            return Response()
        return read_responses_response(self._final, capture_content=self._capture_content)
