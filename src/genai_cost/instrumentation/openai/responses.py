"""The Responses API: request attributes, response usage and streamed events.

Besides tokens, the bill counts hosted tool calls: web searches (``web_search_call`` output
items whose action searched) and file searches (``file_search_call`` items, priced as storage
searches). Both are read from the response's ``output``, or in a stream from the items each
``response.output_item.done`` event finishes.

A background response (``background: true`` on the wire) is read many times: queued at its
create, then by each ``responses.retrieve`` poll or streamed continuation. Its usage is reported
by the first reading of it that has usage and never again in this process (:data:`PRICED`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from genai_cost.costing import pricing_context
from genai_cost.instrumentation._attributes import count, given, numbers, read, request_attributes, response_attributes
from genai_cost.instrumentation._background import RecentIds
from genai_cost.instrumentation._core import Request, Response, Telemetry
from genai_cost.instrumentation.openai import content
from genai_cost.instrumentation.openai.chat import reported_cost, undeclared
from genai_cost.instrumentation.openai.endpoint import endpoint_attributes
from genai_cost.semconv import GenAI, Operation
from genai_cost.usage import Usage

__all__ = [
    "FINAL_EVENTS",
    "PRICED",
    "ResponseEventAccumulator",
    "is_background",
    "read_responses_request",
    "read_responses_response",
]

FINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})
_ITEM_DONE = "response.output_item.done"
_UNBILLED_WEB_ACTIONS = frozenset({"open_page", "find_in_page"})
"""``web_search_call`` actions that did not search: OpenAI's web search guide says "Search
actions incur a tool call cost"; opening or reading a page does not. A call without an action
(the wire before actions existed) or with an unknown one counts, so none is missed."""
_REQUEST_NUMBERS = (
    ("temperature", GenAI.REQUEST_TEMPERATURE),
    ("top_p", GenAI.REQUEST_TOP_P),
    ("max_output_tokens", GenAI.REQUEST_MAX_TOKENS),
)


PRICED = RecentIds(10_000)
"""The background responses whose usage this process has reported: 10,000 ids of ~40 characters,
about 1.5 MB at most."""


def is_background(result: Any) -> bool:
    return read(result, "background") is True


def _reported_once(result: Any, response: Response) -> Response:
    """``response`` read from ``result``; a background response's usage only at its first reading."""
    if response.usage is None or not is_background(result):
        return response
    response_id = read(result, "id")
    if isinstance(response_id, str) and PRICED.claim(response_id):
        return response
    return replace(response, usage=None, provider_cost=None)


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


def _count_tool_call(counts: dict[str, int], item: Any) -> None:
    """Add one output item to ``counts`` (``Usage`` field -> calls) if the bill counts its kind.

    A ``web_search_call`` that only opened a page sets ``web_searches`` to 0 if nothing else
    did: the response reported web-search calls, none of them billed.
    """
    kind = read(item, "type")
    if kind == "web_search_call":
        searched = read(read(item, "action"), "type") not in _UNBILLED_WEB_ACTIONS
        counts["web_searches"] = counts.get("web_searches", 0) + (1 if searched else 0)
    elif kind == "file_search_call":
        counts["storage_searches"] = counts.get("storage_searches", 0) + 1


def _tool_calls(output: Iterable[Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in output:
        _count_tool_call(counts, item)
    return counts


def _billed_web_searches(result: Any) -> int | None:
    """``tool_usage.web_search.num_requests``: the searches OpenAI bills (newer APIs report it;
    it leaves out discounted searches, which the output items cannot show)."""
    return count(read(read(undeclared(result, "tool_usage"), "web_search"), "num_requests"))


def read_responses_response(
    result: Any, *, capture_content: bool = False, streamed_tool_calls: dict[str, int] | None = None
) -> Response:
    """A ``Response`` or ``ParsedResponse`` object.

    ``streamed_tool_calls``: the tool calls a stream's ``response.output_item.done`` events
    finished, counted when the final response's ``output`` is empty (some servers send the
    final event without the items they already streamed).
    """
    status = read(result, "status")
    reason = None
    if isinstance(status, str):
        reason = read(read(result, "incomplete_details"), "reason")
        reason = reason if isinstance(reason, str) else status
    attributes = response_attributes(read(result, "id"), read(result, "model"), [reason] if reason else [])
    output = read(result, "output")
    output = output if isinstance(output, list) else ()
    if capture_content:
        messages = content.responses_output(output, reason)
        attributes[GenAI.OUTPUT_MESSAGES] = content.messages_json(messages)
    tier = read(result, "service_tier")
    if isinstance(tier, str):
        attributes[GenAI.RESPONSE_SERVICE_TIER] = tier
    usage = read(result, "usage")
    context = pricing_context(service_tier=tier)
    response = Response(
        _with_tool_calls(_usage(usage), result, output, streamed_tool_calls),
        attributes,
        provider_cost=reported_cost(usage),
        pricing_context=context,
    )
    return _reported_once(result, response)


def _with_tool_calls(
    usage: Usage | None, result: Any, output: list[Any] | tuple[()], streamed: dict[str, int] | None
) -> Usage | None:
    """``usage`` with the billed tool calls; calls alone, without token usage, are not priced."""
    if usage is None:
        return None
    calls = _tool_calls(output) if output else dict(streamed or {})
    billed = _billed_web_searches(result)
    if billed is not None:
        calls["web_searches"] = billed
    return replace(usage, **calls) if calls else usage


class ResponseEventAccumulator:
    """Keeps the final ``response.*`` event of a Responses stream and counts the tool calls of
    the finished output items; every event reaches the app."""

    __slots__ = ("_capture_content", "_final", "_tool_calls")

    def __init__(self, *, capture_content: bool = False) -> None:
        self._capture_content = capture_content
        self._final: Any = None
        self._tool_calls: dict[str, int] = {}

    def add(self, event: Any) -> bool:
        kind = read(event, "type")
        if kind == _ITEM_DONE:
            _count_tool_call(self._tool_calls, read(event, "item"))
        elif kind in FINAL_EVENTS:
            self._final = read(event, "response")
        return True

    def result(self) -> Response:
        if self._final is None:
            return Response()
        return read_responses_response(
            self._final, capture_content=self._capture_content, streamed_tool_calls=self._tool_calls
        )
