"""``interactions.get``: the usage of a background interaction, priced once when it first appears.

``interactions.create(background=True)`` answers ``in_progress`` without usage (its span says
``no_usage``); the usage arrives later on a ``get`` that finds the interaction finished, or on
the ``interaction.completed`` event of a streamed ``get(stream=True)``. A get records a span only
for an interaction this process saw unfinished (:data:`~.interactions.AWAITED`), and only the
first time it reads its usage: one span, started and ended then, named and priced as the create
would have been (``chat {model}``, or ``invoke_agent`` for an agent). Gets still in progress and
later gets record nothing: a get is not billed.

Unlike OpenAI's ``background: true``, an Interaction on the wire does not say whether it ran in
the background (``background`` is input-only in the SDK's types), so a get cannot tell a
background interaction from a foreground one its create already priced: a get of an interaction
this process did not see unfinished (created by another process, or more than 10,000 awaited
interactions ago) records nothing, rather than price a foreground interaction twice.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from genai_cost.instrumentation._attributes import read
from genai_cost.instrumentation._background import watch_continuation
from genai_cost.instrumentation._core import Operation, Telemetry, record_now
from genai_cost.instrumentation.google_genai.interactions import (
    AWAITED,
    UNFINISHED,
    read_interaction_request,
    read_interaction_response,
)

__all__ = ["GET"]

_RECORDED = Operation(read_interaction_request, read_interaction_response)
"""What :func:`record_now` starts the span of a get with: the interaction's model or agent."""


def _record(telemetry: Telemetry, instance: Any, result: Any) -> None:
    """A span for ``result`` if it is a finished interaction this process awaited, read with usage the first time."""
    if read(result, "status") in UNFINISHED:
        return
    response = read_interaction_response(result)
    interaction_id = read(result, "id")
    if response.usage is None or not isinstance(interaction_id, str) or not AWAITED.take(interaction_id):
        return
    kwargs = {"model": read(result, "model"), "agent": read(result, "agent")}
    record_now(telemetry, _RECORDED, instance, kwargs, response)


def _final_interaction(event: Any) -> Any:
    return read(event, "interaction") if read(event, "event_type") == "interaction.completed" else None


def _observe(telemetry: Telemetry, instance: Any, result: Any) -> Any:
    record = partial(_record, telemetry, instance)
    generator = getattr(result, "generator", None)
    if generator is None:
        record(result)
        return result
    # A streamed get: the SDK's public get iterates the stream's generator itself, so the watch sits there.
    continuation = watch_continuation(generator, _final_interaction, record)
    if continuation is not None:
        result.generator = continuation
    return result


GET = Operation(read_interaction_request, read_interaction_response, observe=_observe)
"""The ``Operation`` of ``interactions.get``."""
