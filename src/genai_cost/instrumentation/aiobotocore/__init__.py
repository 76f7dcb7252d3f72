"""``AioBedrockInstrumentor``: Bedrock runtime and agent runtime calls made through aiobotocore
(and aioboto3).

The boto3/botocore instrumentor's parts serve it unchanged: the same request and response
readers, event accumulators and body accumulator (:mod:`genai_cost.instrumentation.bedrock`),
the same agent trace reading (:mod:`..bedrock.agents`: ``invoke_agent``, ``invoke_inline_agent``,
``retrieve_and_generate``), the same per-client wrapping of ``bedrock-runtime`` and
``bedrock-agent-runtime`` operation methods (:mod:`..bedrock.clients`),
here hooked on ``AioSession._create_client`` (the coroutine ``create_client()``'s context
manager awaits) and wrapped with the async lifecycle. Only the result objects differ: an
``AioEventStream`` iterated with ``async for`` and an async ``StreamingBody``
(:mod:`.proxies`). Clients created before ``instrument()`` are not traced, as with botocore.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from genai_cost.instrumentation._base import GenAIInstrumentor, unwrap_ours, wrap_once
from genai_cost.instrumentation._core import async_wrapper
from genai_cost.instrumentation.aiobotocore.package import _instruments
from genai_cost.instrumentation.bedrock import _operations
from genai_cost.instrumentation.bedrock.agents import agent_operations
from genai_cost.instrumentation.bedrock.clients import AGENT_RUNTIME, RUNTIME, BedrockClients
from genai_cost.instrumentation.bedrock.invoke import watch_body
from genai_cost.semconv import Provider

__all__ = ["AioBedrockInstrumentor"]


class AioBedrockInstrumentor(GenAIInstrumentor):
    """Instruments aiobotocore's ``bedrock-runtime`` and ``bedrock-agent-runtime`` clients."""

    _instruments = _instruments
    _providers = (Provider.AWS_BEDROCK,)

    def _instrument(self, **kwargs: Any) -> None:
        from aiobotocore.session import AioSession

        from genai_cost.instrumentation.aiobotocore.proxies import AsyncStreamingBodyProxy, EventStreamProxy, body_type

        telemetry = self._telemetry(**kwargs)
        operations = _operations(
            capture_content=telemetry.settings.capture_message_content,
            stream_proxy=EventStreamProxy,
            watch=partial(watch_body, body_type=body_type(), proxy_type=AsyncStreamingBodyProxy),
        )
        operations_by_service = {RUNTIME: operations, AGENT_RUNTIME: agent_operations(telemetry, EventStreamProxy)}
        self._clients = BedrockClients(operations_by_service, partial(async_wrapper, telemetry))
        wrap_once(AioSession, "_create_client", self._clients.create_client_async)

    def _uninstrument(self, **kwargs: Any) -> None:
        from aiobotocore.session import AioSession

        unwrap_ours(AioSession, "_create_client")
        self._clients.restore()
