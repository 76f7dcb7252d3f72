"""Bedrock agent runtime: ``invoke_agent``, ``invoke_inline_agent`` and ``retrieve_and_generate``.

An agent call runs several model invocations inside AWS (pre-processing, each orchestration
step, post-processing, a supervisor's routing classifier), each billed at its own model's
prices. With ``enableTrace=True`` the response's event stream reports each one in a ``trace``
event: the model in ``<step>.modelInvocationInput.foundationModel``, its usage
(``inputTokens``/``outputTokens``) in ``<step>.modelInvocationOutput.metadata.usage``, the two
matched by ``traceId``. Each becomes a ``chat`` span of its own, a child of the
``invoke_agent`` span, priced when its usage arrives: per invocation rather than summed,
because prompt-size tiers and models differ between invocations. The span ends when the output
event arrives and starts the invocation's ``metadata.totalTimeMs`` earlier ("how long the
individual invocation took", the service model's ``Metadata``), so the span and the
``gen_ai.client.operation.duration`` point show the model's time. ``metadata.startTime``/``endTime``
are not used: the service model documents them for the agent's final response, and they come
from AWS's clock, not ours. Without ``totalTimeMs`` the span starts when the invocation's input
event arrived (its ``traceId`` matched), else when its output did. The agent span then carries
no usage or cost (``CostSpanProcessor``'s rollup sums its children). Without the trace the
service reports no usage: the agent span says ``no_usage``. Usage reported elsewhere in the
trace (an observation's ``metadata``, a collaborator's output) repeats what a model invocation
already reported, and is not read.

``invoke_inline_agent`` (an agent defined in the request: ``foundationModel``, ``instruction``,
``agentName``) answers the same event stream, its ``trace`` events the same ``Trace`` shape
(botocore's ``InlineAgentTracePart``, without the agent and alias ids): read the same way.

``retrieve_and_generate`` reports no usage at all (``output``, ``citations``,
``guardrailAction``, ``sessionId``): its span names the generating model and says ``no_usage``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from genai_cost.instrumentation._attributes import count, read, request_attributes
from genai_cost.instrumentation._core import Invocation, Operation, Request, Response, Started, Telemetry, record_now
from genai_cost.instrumentation._stream import Accumulator, SyncStreamProxy
from genai_cost.instrumentation.bedrock.clients import endpoint_attributes
from genai_cost.instrumentation.bedrock.converse import usage_from_converse
from genai_cost.instrumentation.bedrock.streams import event_stream_wrapper, metadata_attributes
from genai_cost.semconv import GenAI, Ours
from genai_cost.semconv import Operation as OperationName
from genai_cost.usage import Usage

__all__ = ["AgentTraceAccumulator", "agent_operations"]

_PENDING_LIMIT = 64
"""Model invocations started and not yet reported that an accumulator remembers."""


def _agent_attributes(client: Any) -> dict[str, Any]:
    """An agent invocation's: its model calls are the priced spans below it."""
    attributes = request_attributes(OperationName.INVOKE_AGENT, endpoint_attributes(client), None)
    attributes[Ours.BILLED_APART] = True
    return attributes


def _read_agent_request(client: Any, telemetry: Telemetry, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
    attributes = _agent_attributes(client)
    agent_id = kwargs.get("agentId")
    if isinstance(agent_id, str):
        attributes[GenAI.AGENT_ID] = agent_id
    return Request(attributes, kwargs, options=client)


def _read_inline_agent_request(
    client: Any, telemetry: Telemetry, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Request:
    attributes = _agent_attributes(client)
    agent_name = kwargs.get("agentName")
    if isinstance(agent_name, str):
        attributes[GenAI.AGENT_NAME] = agent_name
    return Request(attributes, kwargs, options=client)


def _read_model_call(client: Any, telemetry: Telemetry, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
    return Request(request_attributes(OperationName.CHAT, endpoint_attributes(client), kwargs.get("modelId")), kwargs)


_MODEL_CALL = Operation(_read_model_call, lambda result: Response())
"""What :func:`record_now` starts the span of one of an agent's model invocations with."""


def _read_rag_request(client: Any, telemetry: Telemetry, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
    config = kwargs.get("retrieveAndGenerateConfiguration")
    source = read(config, "knowledgeBaseConfiguration") or read(config, "externalSourcesConfiguration")
    model = read(source, "modelArn")
    return Request(request_attributes(OperationName.CHAT, endpoint_attributes(client), model), kwargs)


def _read_metadata(result: Any) -> Response:
    return Response(None, metadata_attributes(result))


def _now() -> Started:
    return time.time_ns(), time.perf_counter()


def _started(metadata: Any, ended: Started, input_seen: Started | None) -> Started:
    """When a model invocation that ended at ``ended`` started: ``totalTimeMs`` before it, or
    when its input event arrived, or then."""
    total_ms = count(read(metadata, "totalTimeMs"))
    if total_ms is None:
        return input_seen or ended
    end_ns, end_perf = ended
    return end_ns - total_ms * 1_000_000, end_perf - total_ms / 1000


ModelCall = Callable[[str | None, Usage, Started, Started], None]
"""Records one model invocation: (model, usage, started, ended)."""


class AgentTraceAccumulator:
    """Sees an ``invoke_agent`` event stream: hands each model invocation's model and usage to
    ``record`` as its ``trace`` event reports it, and says which models answered."""

    __slots__ = ("_attributes", "_calls", "_last_model", "_models", "_pending", "_record")

    def __init__(self, result: Mapping[str, Any], record: ModelCall) -> None:
        self._attributes = metadata_attributes(result)
        self._record = record
        self._pending: dict[Any, tuple[str, Started]] = {}
        self._last_model: str | None = None
        self._models: set[str] = set()
        self._calls = 0

    def add(self, event: Any) -> bool:
        part = event.get("trace")
        trace = part.get("trace") if isinstance(part, Mapping) else None
        if isinstance(trace, Mapping):
            for step in trace.values():
                if isinstance(step, Mapping):
                    self._see(step)
        return True

    def _see(self, step: Mapping[str, Any]) -> None:
        started = step.get("modelInvocationInput")
        if isinstance(started, Mapping) and isinstance(model := started.get("foundationModel"), str):
            if len(self._pending) >= _PENDING_LIMIT:
                del self._pending[next(iter(self._pending))]
            self._pending[started.get("traceId")] = (model, _now())
            self._last_model = model
        output = step.get("modelInvocationOutput")
        metadata = read(output, "metadata")
        usage = usage_from_converse(read(metadata, "usage"))
        if usage is None:
            return
        ended = _now()
        model, input_seen = self._pending.pop(read(output, "traceId"), (self._last_model, None))
        if model is not None:
            self._models.add(model)
        self._calls += 1
        self._record(model, usage, _started(metadata, ended, input_seen), ended)

    def result(self) -> Response:
        attributes = dict(self._attributes)
        if len(self._models) == 1:
            attributes[GenAI.RESPONSE_MODEL] = next(iter(self._models))
        return Response(None, attributes, billed_apart=self._calls > 0)


def _record_model_call(
    telemetry: Telemetry,
    invocation: Invocation,
    client: Any,
    model: str | None,
    usage: Usage,
    started: Started,
    ended: Started,
) -> None:
    """One ``chat`` span under the agent's span."""
    with invocation.activated():
        record_now(telemetry, _MODEL_CALL, client, {"modelId": model}, Response(usage), started, ended)


def _agent_stream(
    telemetry: Telemetry, proxy_type: Callable[[Any, Invocation, Accumulator], Any]
) -> Callable[[Any, Invocation, Request], Any]:
    def wrap(result: Any, invocation: Invocation, request: Request) -> Any:
        record = partial(_record_model_call, telemetry, invocation, request.options)
        accumulator = partial(AgentTraceAccumulator, record=record)
        return event_stream_wrapper("completion", accumulator, proxy_type)(result, invocation, request)

    return wrap


def agent_operations(
    telemetry: Telemetry, stream_proxy: Callable[[Any, Invocation, Accumulator], Any] = SyncStreamProxy
) -> dict[str, Operation]:
    """``bedrock-agent-runtime`` client method -> how to read its request and result."""
    agent_stream = _agent_stream(telemetry, stream_proxy)
    return {
        "invoke_agent": Operation(_read_agent_request, _read_metadata, agent_stream),
        "invoke_inline_agent": Operation(_read_inline_agent_request, _read_metadata, agent_stream),
        "retrieve_and_generate": Operation(_read_rag_request, _read_metadata),
    }
