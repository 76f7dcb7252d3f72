"""``BedrockInstrumentor``: spans, token usage, cost and metrics for Amazon Bedrock runtime calls.

Covers ``converse``, ``converse_stream``, ``invoke_model`` and
``invoke_model_with_response_stream`` of every boto3/botocore ``bedrock-runtime`` client, and
``invoke_agent``, ``invoke_inline_agent`` and ``retrieve_and_generate`` of every
``bedrock-agent-runtime`` client (see :mod:`.agents`), created after ``instrument()`` (see
:mod:`.clients` for how and why).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from genai_cost.instrumentation._base import GenAIInstrumentor, unwrap_ours, wrap_once
from genai_cost.instrumentation._core import Invocation, Operation, Request, sync_wrapper
from genai_cost.instrumentation._stream import Accumulator, SyncStreamProxy
from genai_cost.instrumentation.bedrock.agents import agent_operations
from genai_cost.instrumentation.bedrock.clients import AGENT_RUNTIME, RUNTIME, BedrockClients
from genai_cost.instrumentation.bedrock.converse import (
    ConverseEventAccumulator,
    read_converse_request,
    read_converse_response,
)
from genai_cost.instrumentation.bedrock.invoke import (
    InvokeChunkAccumulator,
    read_invoke_headers,
    read_invoke_request,
    watch_body,
)
from genai_cost.instrumentation.bedrock.package import _instruments
from genai_cost.instrumentation.bedrock.streams import event_stream_wrapper
from genai_cost.semconv import Provider

__all__ = ["BedrockInstrumentor"]


def _operations(
    *,
    capture_content: bool,
    stream_proxy: Callable[[Any, Invocation, Accumulator], Any] = SyncStreamProxy,
    watch: Callable[[Any, Invocation, Request], Any] = watch_body,
) -> dict[str, Operation]:
    """Client method -> how to read its request and result (aiobotocore passes its async
    event stream proxy and body watcher)."""

    def converse_events(result: Mapping[str, Any]) -> ConverseEventAccumulator:
        return ConverseEventAccumulator(result, capture_content=capture_content)

    read_converse = partial(read_converse_response, capture_content=capture_content)
    return {
        "converse": Operation(read_converse_request, read_converse),
        "converse_stream": Operation(
            read_converse_request, read_converse, event_stream_wrapper("stream", converse_events, stream_proxy)
        ),
        "invoke_model": Operation(read_invoke_request, read_invoke_headers, watch),
        "invoke_model_with_response_stream": Operation(
            read_invoke_request,
            read_invoke_headers,
            event_stream_wrapper("body", InvokeChunkAccumulator, stream_proxy),
        ),
    }


class BedrockInstrumentor(GenAIInstrumentor):
    """Instruments botocore's ``bedrock-runtime`` and ``bedrock-agent-runtime`` clients (boto3 included)."""

    _instruments = _instruments
    _providers = (Provider.AWS_BEDROCK,)

    def _instrument(self, **kwargs: Any) -> None:
        telemetry = self._telemetry(**kwargs)
        operations = _operations(capture_content=telemetry.settings.capture_message_content)
        operations_by_service = {RUNTIME: operations, AGENT_RUNTIME: agent_operations(telemetry)}
        self._clients = BedrockClients(operations_by_service, partial(sync_wrapper, telemetry))
        from botocore.session import Session

        wrap_once(Session, "create_client", self._clients.create_client)

    def _uninstrument(self, **kwargs: Any) -> None:
        from botocore.session import Session

        unwrap_ours(Session, "create_client")
        self._clients.restore()
