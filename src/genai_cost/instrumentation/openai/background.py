"""``responses.retrieve``: the usage of a background response, priced once when it first appears.

``responses.create(background=True)`` answers ``queued`` without usage (its span says
``no_usage``); the usage arrives later on a ``retrieve`` poll that finds the response finished,
or on a streamed continuation (``retrieve(stream=True, starting_after=N)``). A retrieve records
a span only when it is the first reading in this process of that response's usage
(:data:`~genai_cost.instrumentation.openai.responses.PRICED`): one ``chat`` span, started and
ended then, priced by the response's model. Polls still queued and retrieves of a response
already priced record nothing: a retrieve is not billed, and a span per poll would count calls
that cost nothing. A foreground response (``background: false`` on the wire) is never priced on
retrieve: its create span priced it, in whichever process made it.

Limits: what was priced is remembered per process and for the 10,000 most recent background
responses. Two processes that each see the same background response finished each price it,
and so does a retrieve of it after 10,000 newer ones.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from genai_cost.instrumentation._attributes import read, request_attributes
from genai_cost.instrumentation._background import watch_continuation
from genai_cost.instrumentation._core import Operation, Request, Telemetry, record_now
from genai_cost.instrumentation.openai.endpoint import endpoint_attributes
from genai_cost.instrumentation.openai.responses import FINAL_EVENTS, is_background, read_responses_response
from genai_cost.semconv import Operation as OperationName

__all__ = ["retrieve_operation"]

_PENDING = frozenset({"queued", "in_progress"})


def _retrieved_request(instance: Any, telemetry: Telemetry, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
    """The retrieve names no model: the response's own is the one it ran on."""
    return Request(request_attributes(OperationName.CHAT, endpoint_attributes(instance), kwargs.get("model")), kwargs)


_RECORDED = Operation(_retrieved_request, read_responses_response)
"""What :func:`record_now` starts the span of a retrieve with."""


def _record(capture_content: bool, telemetry: Telemetry, instance: Any, result: Any) -> None:
    """A span for ``result`` if it is a finished background response whose usage this process reads first."""
    if not is_background(result) or read(result, "status") in _PENDING:
        return
    response = read_responses_response(result, capture_content=capture_content)
    if response.usage is not None:
        record_now(telemetry, _RECORDED, instance, {"model": read(result, "model")}, response)


def _final_response(event: Any) -> Any:
    """The response a stream's final ``response.*`` event carries."""
    return read(event, "response") if read(event, "type") in FINAL_EVENTS else None


def _observe(capture_content: bool, telemetry: Telemetry, instance: Any, result: Any) -> Any:
    record = partial(_record, capture_content, telemetry, instance)
    continuation = watch_continuation(result, _final_response, record)  # retrieve(stream=True)
    if continuation is not None:
        return continuation
    record(result)
    return result


def retrieve_operation(*, capture_content: bool) -> Operation:
    """The ``Operation`` of ``responses.retrieve``."""
    return Operation(_retrieved_request, read_responses_response, observe=partial(_observe, capture_content))
