"""``AnthropicInstrumentor``: spans, token usage, cost and metrics for Anthropic SDK calls.

Covers ``messages.create`` (``stream=True`` included), ``messages.parse`` and the
``messages.stream(...)`` helper, on ``messages`` and ``beta.messages``, sync and async,
``with_raw_response``/``with_streaming_response``, and the Bedrock and Vertex AI clients.
"""

from __future__ import annotations

from genai_cost.instrumentation._base import GenAIInstrumentor, Wrap
from genai_cost.instrumentation._core import Operation, Request
from genai_cost.instrumentation._stainless import result_wrapper
from genai_cost.instrumentation.anthropic.helper import wrap_stream_manager
from genai_cost.instrumentation.anthropic.messages import (
    EventAccumulator,
    read_message_response,
    read_messages_request,
)
from genai_cost.instrumentation.anthropic.package import _instruments
from genai_cost.semconv import Provider

__all__ = ["AnthropicInstrumentor"]


def _event_accumulator(request: Request) -> EventAccumulator:
    return EventAccumulator()


_MESSAGES = Operation(read_messages_request, read_message_response, result_wrapper(_event_accumulator))
_STREAM_HELPER = Operation(read_messages_request, read_message_response, wrap_manager=wrap_stream_manager)

# Bedrock's and Vertex's beta resources copy the first-party functions into their own classes:
# each class is listed, and a copy made after wrapping (instrumented before the import) holds
# our layer already, so it is not wrapped twice.
_MODULES = (
    "anthropic.resources.messages.messages",
    "anthropic.resources.beta.messages.messages",
    "anthropic.lib.bedrock._beta_messages",
    "anthropic.lib.vertex._beta_messages",
)


def _rows(module: str) -> tuple[Wrap, ...]:
    return (
        Wrap(module, "Messages", "create", _MESSAGES),
        Wrap(module, "Messages", "parse", _MESSAGES),
        # stream() is synchronous on both clients: the request is sent when the manager is entered.
        Wrap(module, "Messages", "stream", _STREAM_HELPER, has_async_twin=False),
        Wrap(module, "AsyncMessages", "stream", _STREAM_HELPER, has_async_twin=False),
    )


class AnthropicInstrumentor(GenAIInstrumentor):
    """Instruments the ``anthropic`` SDK (0.40 and later)."""

    _instruments = _instruments
    _providers = (Provider.ANTHROPIC,)
    _wraps = tuple(row for module in _MODULES for row in _rows(module))
