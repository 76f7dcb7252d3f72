"""Assistants API runs (deprecated, still billed): the run a ``poll`` waited for, with its usage.

A run's ``usage`` is reported once the run reaches a terminal state, for the whole run. The
SDK's ``runs.poll`` waits for that state (``create_and_poll`` and
``submit_tool_outputs_and_poll`` call it), so each wait is one span carrying the run's usage.
The ``retrieve`` calls inside it are not spans of their own: every poll that finds the run
still queued would be a call without usage.
"""

from __future__ import annotations

from typing import Any

from genai_cost.instrumentation._attributes import read, request_attributes, response_attributes
from genai_cost.instrumentation._core import Request, Response, Telemetry
from genai_cost.instrumentation.openai.chat import usage_from_openai
from genai_cost.instrumentation.openai.endpoint import endpoint_attributes
from genai_cost.semconv import GenAI, Operation

__all__ = ["read_run", "read_run_poll_request"]


def read_run_poll_request(
    instance: Any, telemetry: Telemetry, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Request:
    return Request(request_attributes(Operation.INVOKE_AGENT, endpoint_attributes(instance), None), kwargs)


def read_run(result: Any) -> Response:
    """A ``Run``: its status is the finish reason; ``usage`` counts the whole run."""
    status = read(result, "status")
    reasons = [status] if isinstance(status, str) else []
    attributes = response_attributes(read(result, "id"), read(result, "model"), reasons)
    assistant = read(result, "assistant_id")
    if isinstance(assistant, str):
        attributes[GenAI.AGENT_ID] = assistant
    return Response(usage_from_openai(read(result, "usage")), attributes)
