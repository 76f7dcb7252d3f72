"""The Interactions API (``client.interactions.create``): request attributes, ``usage``, SSE events.

Traced per HTTP request: the generated ``Interactions.create`` of the SDK's Speakeasy layer
(``google.genai._gaos.interactions``), which the public ``client.interactions.create`` calls
once per continuation hop. Each hop is billed on its own (the SDK's docstring: every hop
re-prefills its input), so each is priced on its own usage, at its own prompt size, rather than
the summed usage the public method returns.

``usage`` mirrors ``generate_content``'s ``usage_metadata`` under other names, and is read by the
same reader: ``total_input_tokens`` (cached tokens included), ``total_cached_tokens``,
``total_output_tokens`` (thoughts excluded: the SDK's own tests give ``total_tokens`` = output +
thoughts), ``total_thought_tokens``, ``total_tool_use_tokens`` and the per-modality
``*_tokens_by_modality`` lists (``{"modality": "text", "tokens": n}``). A stream reports the
usage on its ``interaction.completed`` event.

An interaction created with ``background=True`` answers ``in_progress`` without usage: its
create span says ``no_usage`` and the interaction is remembered as awaited (:data:`AWAITED`),
as is one whose stream ended before its ``interaction.completed`` event; its usage is priced by
the first ``interactions.get`` that finds it finished (:mod:`.background`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from genai_cost.costing import pricing_context
from genai_cost.instrumentation._attributes import count, read, request_attributes, response_attributes
from genai_cost.instrumentation._background import RecentIds
from genai_cost.instrumentation._core import Invocation, Request, Response, Telemetry
from genai_cost.instrumentation._stream import AsyncStreamProxy, proxy_stream
from genai_cost.instrumentation.google_genai.content import usage_from_gemini
from genai_cost.instrumentation.google_genai.endpoint import endpoint_attributes, model_name
from genai_cost.semconv import GenAI
from genai_cost.semconv import Operation as OperationName
from genai_cost.usage import Usage

__all__ = [
    "AWAITED",
    "UNFINISHED",
    "InteractionEventAccumulator",
    "read_created_interaction",
    "read_interaction_request",
    "read_interaction_response",
    "wrap_stream",
]

UNFINISHED = frozenset({"queued", "in_progress"})
AWAITED = RecentIds(10_000)
"""Interactions this process saw unfinished and without usage, whose usage no span has yet
reported: 10,000 ids of ~40 characters, about 1.5 MB at most."""

_COUNTS = (
    ("total_input_tokens", "prompt_token_count"),
    ("total_cached_tokens", "cached_content_token_count"),
    ("total_output_tokens", "candidates_token_count"),
    ("total_thought_tokens", "thoughts_token_count"),
    ("total_tool_use_tokens", "tool_use_prompt_token_count"),
)
_DETAILS = (
    ("input_tokens_by_modality", "prompt_tokens_details"),
    ("cached_tokens_by_modality", "cache_tokens_details"),
    ("output_tokens_by_modality", "candidates_tokens_details"),
    ("tool_use_tokens_by_modality", "tool_use_prompt_tokens_details"),
)


_CARRYING_THE_INTERACTION = frozenset({"interaction.created", "interaction.completed"})


def read_interaction_request(
    instance: Any, telemetry: Telemetry, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Request:
    """Body keyword arguments (``model``, ``agent``), or a ``request`` whose ``body`` has them."""
    body = read(kwargs.get("request"), "body") or kwargs
    agent = read(body, "agent")
    operation = OperationName.INVOKE_AGENT if isinstance(agent, str) else OperationName.CHAT
    attributes = request_attributes(operation, endpoint_attributes(instance), model_name(read(body, "model")))
    if isinstance(agent, str):
        attributes[GenAI.AGENT_NAME] = agent
    return Request(attributes, kwargs)


def _modalities(items: Any) -> list[dict[str, Any]]:
    """``[{"modality": "text", "tokens": n}]`` as ``usage_metadata`` details (``TEXT``, ``token_count``)."""
    details = []
    for item in items if isinstance(items, list) else ():
        modality = read(item, "modality")
        if isinstance(modality, str):
            details.append({"modality": modality.upper(), "token_count": read(item, "tokens")})
    return details


def usage_from_interaction(usage: Any) -> Usage | None:
    """An Interaction's ``usage``, read as the ``usage_metadata`` it mirrors."""
    if usage is None:
        return None
    metadata: dict[str, Any] = {theirs: count(read(usage, ours)) for ours, theirs in _COUNTS}
    metadata.update((theirs, _modalities(read(usage, ours))) for ours, theirs in _DETAILS)
    return usage_from_gemini(metadata)


def read_interaction_response(result: Any) -> Response:
    """An ``Interaction`` (or the one an ``interaction.completed`` event carries)."""
    tier = read(result, "service_tier")
    return Response(
        usage_from_interaction(read(result, "usage")),
        response_attributes(read(result, "id"), model_name(read(result, "model")), []),
        pricing_context=pricing_context(service_tier=tier if isinstance(tier, str) else None),
    )


def read_created_interaction(result: Any) -> Response:
    """An interaction a create answered: read, and awaited if unfinished without usage (no longer
    once a reading has its usage)."""
    response = read_interaction_response(result)
    interaction_id = read(result, "id")
    if isinstance(interaction_id, str):
        if response.usage is not None:
            AWAITED.take(interaction_id)
        elif read(result, "status") in UNFINISHED:
            AWAITED.claim(interaction_id)
    return response


class InteractionEventAccumulator:
    """Keeps the interaction of the stream's ``interaction.completed`` event, or until then of its
    ``interaction.created`` one (unfinished: a stream cut short leaves it awaited)."""

    __slots__ = ("_interaction",)

    def __init__(self) -> None:
        self._interaction: Any = None

    def add(self, event: Any) -> bool:
        if read(event, "event_type") in _CARRYING_THE_INTERACTION:
            self._interaction = read(event, "interaction")
        return True

    def result(self) -> Response:
        return read_created_interaction(self._interaction)


def wrap_stream(result: Any, invocation: Invocation, request: Request) -> Any:
    """The SSE ``Stream``/``AsyncStream`` itself, its ``generator`` proxied and its ``close``
    closing the proxy too; a non-streamed result is read as it is.

    The proxy sits on the stream's ``generator`` rather than around the stream: the SDK's
    automatic continuation iterates each hop's ``generator`` directly (after the first hop, the
    first stream's generator yields every later hop's events), so only there does each
    request's span see its own events, whoever iterates them. The app gets the SDK's stream.
    """
    generator = getattr(result, "generator", None)
    if generator is None:
        return None
    proxy = proxy_stream(generator, invocation, InteractionEventAccumulator())
    result.generator = proxy
    result.close = _closing(result.close, proxy)
    return result


def _closing(close: Callable[[], Any], proxy: Any) -> Callable[[], Any]:
    """``close`` (the stream's), then the proxy's: a stream the app closes ends its span then."""
    if isinstance(proxy, AsyncStreamProxy):

        async def close_async() -> None:
            try:
                await close()
            finally:
                await proxy.aclose()

        return close_async

    def close_sync() -> None:
        try:
            close()
        finally:
            proxy.close()

    return close_sync
