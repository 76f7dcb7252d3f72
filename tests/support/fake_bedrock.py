"""A local Amazon Bedrock runtime speaking the real wire format, for boto3 pointed at it.

Routes (model ids arrive URL-quoted, e.g. ``us.anthropic...v2%3A0`` or a quoted ARN):

- ``POST /model/{modelId}/converse`` and ``/invoke``: JSON, with the
  ``x-amzn-bedrock-input-token-count``/``output-token-count`` headers on ``/invoke``;
- ``POST /model/{modelId}/converse-stream`` and ``/invoke-with-response-stream``: the AWS
  event-stream binary framing (prelude with total and headers length and its CRC32, string
  headers ``:event-type``/``:content-type``/``:message-type``, JSON payload, message CRC32);
  invoke chunks carry the model's native JSON base64-encoded in ``{"bytes": ...}``, the last
  one with ``amazon-bedrock-invocationMetrics``.

Agent runtime routes (a ``bedrock-agent-runtime`` client, :func:`agent_client`):

- ``POST /agents/{agentId}/agentAliases/{aliasId}/sessions/{sessionId}/text`` (InvokeAgent): an
  event stream of ``chunk`` events (``{"bytes": base64 text}``) and, when the request has
  ``enableTrace: true``, ``trace`` events before them: for each of :data:`AGENT_INVOCATIONS` a
  ``modelInvocationInput`` (``foundationModel``, ``traceId``) and a ``modelInvocationOutput``
  (``metadata.usage`` ``inputTokens``/``outputTokens`` and ``totalTimeMs``, same ``traceId``;
  scenario ``untimed``: no ``totalTimeMs``/``startTime``/``endTime``) under its step
  (``routingClassifierTrace``, ``orchestrationTrace``, ...), plus a ``rationale`` and an
  ``observation.finalResponse`` whose ``metadata`` repeats no usage. The shapes are botocore's
  service model (``bedrock-agent-runtime`` 2023-07-26: ``TracePart``, ``Trace``,
  ``OrchestrationModelInvocationOutput``, ``Metadata``, ``Usage``) and AWS's trace-events guide;
  the counts are made up, not copied from a recording;
- ``POST /agents/{sessionId}`` (InvokeInlineAgent): the same stream, its trace parts without
  ``agentId``/``agentAliasId``/``agentVersion`` (botocore's ``InlineAgentTracePart``);
- ``POST /retrieveAndGenerate``: JSON ``output``, ``citations``, ``sessionId``, and no usage, as
  the service model's ``RetrieveAndGenerateResponse`` has none.

The answer depends on the model family (Anthropic Messages or text completions, Amazon Nova,
Titan text and embeddings, Meta Llama, Mistral, Cohere) and on a scenario chosen per client
with :func:`scenario`: ``default``, ``cached`` (prompt-cache reads and writes), ``cache_1h``
(cache writes of both lifetimes),
``throttled`` (429 ThrottlingException), ``invalid`` (400 ValidationException), ``denied``
(403 AccessDeniedException), ``stream_error`` (an exception event after two events), ``reset``
(the connection drops after three stream messages).
:func:`answer` is pure, so benchmarks can serve the same bytes in-process; :func:`server`
serves it over HTTP on 127.0.0.1 (the shared ``fake_http`` server: chunked event streams).
"""

from __future__ import annotations

import base64
import json
import re
import struct
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from tests.support.fake_http import FakeHTTPServer, Reply, Request

__all__ = [
    "AGENT_INVOCATIONS",
    "AGENT_INVOCATION_MS",
    "CACHED",
    "CACHE_1H",
    "DEFAULT",
    "TEXT",
    "Tokens",
    "agent_client",
    "answer",
    "client",
    "encode_event",
    "scenario",
    "server",
    "wire_bytes",
]

SCENARIO_HEADER = "x-fake-scenario"
TEXT = ["Hello", " from", " the", " fake", " Bedrock", "."]


@dataclass(frozen=True)
class Tokens:
    input: int
    """Input neither read from nor written to the cache (Bedrock's ``inputTokens``)."""
    output: int
    cache_read: int = 0
    cache_write: int = 0
    cache_write_1h: int = 0
    """The part of ``cache_write`` with a 1-hour lifetime (the rest lives 5 minutes)."""

    @property
    def total_input(self) -> int:
        """The semconv input count: uncached input plus cache reads and writes."""
        return self.input + self.cache_read + self.cache_write


DEFAULT = Tokens(input=12, output=6)
CACHED = Tokens(input=12, output=6, cache_read=1000, cache_write=200)
# A recorded Converse call of us.anthropic.claude-sonnet-4-5-20250929-v1:0 (pydantic-ai's cassette
# test_bedrock_cache_write_and_read: inputTokens 2, outputTokens 5, cacheWriteInputTokens 1322,
# cacheDetails [{"inputTokens": 1322, "ttl": "5m"}]), here with 1,000 of the writes kept an hour.
CACHE_1H = Tokens(input=2, output=5, cache_write=1322, cache_write_1h=1000)
_SCENARIO_TOKENS = {"cached": CACHED, "cache_1h": CACHE_1H}

_ERRORS = {
    "throttled": (429, "ThrottlingException", "Too many requests, please wait before trying again."),
    "invalid": (400, "ValidationException", "The provided model identifier is invalid."),
    "denied": (403, "AccessDeniedException", "You don't have access to the model."),
}
_ROUTE = re.compile(
    r"^/model/(?P<model>[^/]+)/(?P<operation>converse|converse-stream|invoke|invoke-with-response-stream)$"
)
_REQUEST_ID = {"x-amzn-requestid": "fake-request-0001"}
_STREAM_HEADERS = {"content-type": "application/vnd.amazon.eventstream", **_REQUEST_ID}


def encode_event(headers: Mapping[str, str], payload: bytes) -> bytes:
    """One event-stream message: prelude + prelude CRC, string headers, payload, message CRC."""
    encoded = b"".join(
        struct.pack("!B", len(name.encode())) + name.encode()
        + b"\x07" + struct.pack("!H", len(value.encode())) + value.encode()
        for name, value in headers.items()
    )  # fmt: skip
    prelude = struct.pack("!II", 12 + len(encoded) + len(payload) + 4, len(encoded))
    message = prelude + struct.pack("!I", zlib.crc32(prelude)) + encoded + payload
    return message + struct.pack("!I", zlib.crc32(message))


def _event(event_type: str, payload: Any) -> bytes:
    headers = {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}
    return encode_event(headers, json.dumps(payload).encode())


def _exception(kind: str, message: str) -> bytes:
    headers = {":exception-type": kind, ":content-type": "application/json", ":message-type": "exception"}
    return encode_event(headers, json.dumps({"message": message}).encode())


def _chunk(body: Any) -> bytes:
    return _event("chunk", {"bytes": base64.b64encode(json.dumps(body).encode()).decode()})


def _converse_usage(tokens: Tokens) -> dict[str, Any]:
    usage: dict[str, Any] = {"inputTokens": tokens.input, "outputTokens": tokens.output,
             "totalTokens": tokens.input + tokens.output + tokens.cache_read + tokens.cache_write}  # fmt: skip
    if tokens.cache_read or tokens.cache_write:
        usage |= {"cacheReadInputTokens": tokens.cache_read, "cacheWriteInputTokens": tokens.cache_write}
    if tokens.cache_write:
        # Listed only for the lifetimes written, 1h before 5m (botocore's TokenUsage.cacheDetails).
        by_ttl = (("1h", tokens.cache_write_1h), ("5m", tokens.cache_write - tokens.cache_write_1h))
        usage["cacheDetails"] = [{"ttl": ttl, "inputTokens": n} for ttl, n in by_ttl if n]
    return usage


def _converse(tokens: Tokens) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": "".join(TEXT)}]}},
        "stopReason": "end_turn",
        "usage": _converse_usage(tokens),
        "metrics": {"latencyMs": 42},
    }


def _converse_stream(tokens: Tokens, failing: bool, deltas: int) -> Iterator[bytes]:
    yield _event("messageStart", {"role": "assistant"})
    for index in range(deltas):
        text = TEXT[index % len(TEXT)]
        if failing and index == 1:
            yield _exception("modelStreamErrorException", "The model stopped unexpectedly.")
            return
        yield _event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": text}})
    yield _event("contentBlockStop", {"contentBlockIndex": 0})
    yield _event("messageStop", {"stopReason": "end_turn"})
    yield _event("metadata", {"usage": _converse_usage(tokens), "metrics": {"latencyMs": 42}})


_FAMILIES = ("anthropic", "amazon.nova", "amazon.titan-embed", "amazon.titan", "meta.llama",
             "mistral", "cohere.command-r", "cohere")  # fmt: skip


def _family(model: str) -> str:
    name = model.rsplit("/", 1)[-1]
    return next((family for family in _FAMILIES if family in name), "unknown")


def _anthropic_usage(tokens: Tokens) -> dict[str, Any]:
    usage: dict[str, Any] = {"input_tokens": tokens.input, "output_tokens": tokens.output}
    if tokens.cache_read or tokens.cache_write:
        usage |= {
            "cache_read_input_tokens": tokens.cache_read,
            "cache_creation_input_tokens": tokens.cache_write,
            "cache_creation": {
                "ephemeral_5m_input_tokens": tokens.cache_write - tokens.cache_write_1h,
                "ephemeral_1h_input_tokens": tokens.cache_write_1h,
            },
        }
    return usage


def _native(family: str, request: Mapping[str, Any], tokens: Tokens) -> dict[str, Any]:
    """A non-streamed invoke_model body in the model family's own format."""
    text = "".join(TEXT)
    if family == "anthropic" and "messages" in request:
        return {"id": "msg_bdrk_01FAKE", "type": "message", "role": "assistant",
                "model": "claude-fake", "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn", "stop_sequence": None, "usage": _anthropic_usage(tokens)}  # fmt: skip
    if family == "anthropic":
        return {"completion": text, "stop_reason": "stop_sequence", "stop": "\n\nHuman:"}
    if family == "amazon.nova":
        usage = {"inputTokens": tokens.input, "outputTokens": tokens.output,
                 "totalTokens": tokens.input + tokens.output}  # fmt: skip
        if tokens.cache_read or tokens.cache_write:
            usage |= {"cacheReadInputTokenCount": tokens.cache_read, "cacheWriteInputTokenCount": tokens.cache_write}
        return {"output": {"message": {"role": "assistant", "content": [{"text": text}]}},
                "stopReason": "end_turn", "usage": usage}  # fmt: skip
    if family == "amazon.titan-embed":
        return {"embedding": [0.125, -0.25, 0.5], "inputTextTokenCount": tokens.input}
    if family == "amazon.titan":
        result = {"tokenCount": tokens.output, "outputText": text, "completionReason": "FINISH"}
        return {"inputTextTokenCount": tokens.input, "results": [result]}
    if family == "meta.llama":
        return {"generation": text, "prompt_token_count": tokens.input,
                "generation_token_count": tokens.output, "stop_reason": "stop"}  # fmt: skip
    if family == "mistral":
        return {"outputs": [{"text": text, "stop_reason": "stop"}]}
    if family == "cohere.command-r":
        return {"response_id": "fake-response", "text": text, "generation_id": "fake-generation",
                "finish_reason": "COMPLETE", "chat_history": []}  # fmt: skip
    return {"id": "fake-cohere", "generations": [{"id": "fake-generation", "text": text, "finish_reason": "COMPLETE"}]}


def _invocation_metrics(tokens: Tokens) -> dict[str, int]:
    metrics = {"inputTokenCount": tokens.input, "outputTokenCount": tokens.output,
               "invocationLatency": 42, "firstByteLatency": 7}  # fmt: skip
    if tokens.cache_read or tokens.cache_write:
        metrics |= {"cacheReadInputTokenCount": tokens.cache_read, "cacheWriteInputTokenCount": tokens.cache_write}
    return metrics


def _native_chunks(family: str, request: Mapping[str, Any], tokens: Tokens) -> list[dict[str, Any]]:
    """The streamed invoke body: native events, the last one with the invocation metrics."""
    if family == "anthropic" and "messages" in request:
        start = _native(family, request, tokens) | {"content": [], "stop_reason": None}
        start["usage"] = _anthropic_usage(tokens) | {"output_tokens": 1}
        block = {"type": "text", "text": ""}
        chunks: list[dict[str, Any]] = [
            {"type": "message_start", "message": start},
            {"type": "content_block_start", "index": 0, "content_block": block},
        ]
        chunks += [
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}} for t in TEXT
        ]
        chunks += [{"type": "content_block_stop", "index": 0},
                   {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": tokens.output}},
                   {"type": "message_stop"}]  # fmt: skip
    elif family == "amazon.nova":
        chunks = [{"messageStart": {"role": "assistant"}}]
        chunks += [{"contentBlockDelta": {"delta": {"text": t}, "contentBlockIndex": 0}} for t in TEXT]
        chunks += [{"contentBlockStop": {"contentBlockIndex": 0}}, {"messageStop": {"stopReason": "end_turn"}},
                   {"metadata": {"usage": {"inputTokens": tokens.input, "outputTokens": tokens.output}}}]  # fmt: skip
    elif family == "meta.llama":
        chunks = [{"generation": t, "prompt_token_count": tokens.input if i == 0 else None,
                   "generation_token_count": i + 1, "stop_reason": None} for i, t in enumerate(TEXT)]  # fmt: skip
        chunks[-1]["stop_reason"] = "stop"
    else:
        chunks = [_native(family, request, tokens)]
    chunks[-1] = chunks[-1] | {"amazon-bedrock-invocationMetrics": _invocation_metrics(tokens)}
    return chunks


def _error(kind: str) -> Reply:
    status, code, message = _ERRORS[kind]
    headers = {"x-amzn-errortype": f"{code}:http://internal.amazon.com/coral/com.amazon.bedrock/", **_REQUEST_ID}
    return Reply(status, {"message": message}, headers=headers)


def answer(
    operation: str, model: str, request: Mapping[str, Any], scenario_name: str, *, deltas: int = len(TEXT)
) -> Reply:
    """The reply to one Bedrock runtime request (``operation`` is the URL's last segment).

    ``deltas``: the number of ``contentBlockDelta`` events of a ConverseStream reply.
    """
    if scenario_name in _ERRORS:
        return _error(scenario_name)
    tokens = _SCENARIO_TOKENS.get(scenario_name, DEFAULT)
    failing = scenario_name == "stream_error"
    reset_after = 3 if scenario_name == "reset" else None
    family = _family(model)
    if operation == "converse":
        return Reply(200, _converse(tokens), headers=_REQUEST_ID)
    if operation == "converse-stream":
        frames = tuple(_converse_stream(tokens, failing, deltas))
        return Reply(200, frames=frames, headers=_STREAM_HEADERS, reset_after_frames=reset_after)
    if operation == "invoke":
        headers = {**_REQUEST_ID,
                   "x-amzn-bedrock-input-token-count": str(tokens.input),
                   "x-amzn-bedrock-invocation-latency": "42"}  # fmt: skip
        if family != "amazon.titan-embed":  # an embedding has no output tokens
            headers["x-amzn-bedrock-output-token-count"] = str(tokens.output)
        if tokens.cache_read or tokens.cache_write:
            headers["x-amzn-bedrock-cache-read-input-token-count"] = str(tokens.cache_read)
            headers["x-amzn-bedrock-cache-write-input-token-count"] = str(tokens.cache_write)
        return Reply(200, _native(family, request, tokens), headers=headers)
    frames = [_chunk(chunk) for chunk in _native_chunks(family, request, tokens)]
    if failing:
        frames[2:] = [_exception("throttlingException", "Too many tokens, please wait.")]
    return Reply(200, frames=tuple(frames), headers=_STREAM_HEADERS, reset_after_frames=reset_after)


SUPERVISOR = "anthropic.claude-3-haiku-20240307-v1:0"
AGENT_MODEL = "us.anthropic.claude-3-5-sonnet-20241022-v2:0"
AGENT_INVOCATIONS: tuple[tuple[str, str, Tokens], ...] = (
    ("routingClassifierTrace", SUPERVISOR, Tokens(input=310, output=9)),
    ("orchestrationTrace", AGENT_MODEL, Tokens(input=1250, output=85)),
    ("orchestrationTrace", AGENT_MODEL, Tokens(input=1460, output=120)),
)
"""An agent call's model invocations: (trace step, foundation model, usage), in order."""
AGENT_INVOCATION_MS = (420, 1280, 1730)
"""Their ``metadata.totalTimeMs``, the time each took (scenario ``untimed``: not reported)."""
_AGENT_ROUTE = re.compile(
    r"^/agents/(?P<agent>[^/]+)/agentAliases/(?P<alias>[^/]+)/sessions/(?P<session>[^/]+)/text$"
    r"|^/agents/(?P<inline_session>[^/]+)$"
)
_TRACE_TIME = "2025-06-02T10:15:30.123Z"


def _trace(session: str, step: str, body: Mapping[str, Any], inline: bool = False) -> bytes:
    part: dict[str, Any] = {"sessionId": session, "eventTime": _TRACE_TIME, "trace": {step: body}}
    if not inline:
        part |= {"agentId": "AGENT01", "agentAliasId": "ALIAS01", "agentVersion": "1"}
    return _event("trace", part)


def _invocation_traces(
    session: str, index: int, step: str, model: str, tokens: Tokens, timed: bool = True, inline: bool = False
) -> Iterator[bytes]:
    trace_id = f"fake-trace-{index}"
    started = {"traceId": trace_id, "foundationModel": model, "type": "ORCHESTRATION", "text": "{}",
               "inferenceConfiguration": {"maximumLength": 2048, "temperature": 0.0}}  # fmt: skip
    yield _trace(session, step, {"modelInvocationInput": started}, inline)
    metadata: dict[str, Any] = {"clientRequestId": f"fake-request-{index}",
                                "usage": {"inputTokens": tokens.input, "outputTokens": tokens.output}}  # fmt: skip
    if timed:  # startTime/endTime as an old fixture had them, equal: the time is totalTimeMs
        metadata |= {"startTime": _TRACE_TIME, "endTime": _TRACE_TIME, "totalTimeMs": AGENT_INVOCATION_MS[index]}
    output = {"traceId": trace_id, "metadata": metadata, "rawResponse": {"content": "".join(TEXT)}}
    yield _trace(session, step, {"modelInvocationOutput": output}, inline)
    if step == "orchestrationTrace":
        yield _trace(session, step, {"rationale": {"traceId": trace_id, "text": "Answer directly."}}, inline)


def _invoke_agent(session: str, request: Mapping[str, Any], scenario_name: str, inline: bool = False) -> Reply:
    frames: list[bytes] = []
    if request.get("enableTrace") is True:
        for index, (step, model, tokens) in enumerate(AGENT_INVOCATIONS):
            frames += _invocation_traces(session, index, step, model, tokens, scenario_name != "untimed", inline)
            if scenario_name == "stream_error" and index == 1:
                frames.append(_exception("throttlingException", "Your request rate is too high."))
                break
        final = {"traceId": "fake-trace-final", "type": "FINISH",
                 "finalResponse": {"text": "".join(TEXT), "metadata": {"operationTotalTimeMs": 2100}}}  # fmt: skip
        frames.append(_trace(session, "orchestrationTrace", {"observation": final}, inline))
    frames += [_event("chunk", {"bytes": base64.b64encode(text.encode()).decode()}) for text in TEXT]
    headers = {**_STREAM_HEADERS, "x-amzn-bedrock-agent-content-type": "text/plain",
               "x-amz-bedrock-agent-session-id": session}  # fmt: skip
    return Reply(200, frames=tuple(frames), headers=headers)


def _retrieve_and_generate(request: Mapping[str, Any]) -> Reply:
    reference = {"content": {"text": "Bedrock is a managed service."}, "location": {"type": "S3"}}
    citation = {"generatedResponsePart": {"textResponsePart": {"text": "".join(TEXT)}},
                "retrievedReferences": [reference]}  # fmt: skip
    body = {"output": {"text": "".join(TEXT)}, "citations": [citation], "sessionId": "fake-session-rag"}
    return Reply(200, body, headers=_REQUEST_ID)


def _agent_answer(request: Request) -> Reply | None:
    path = request.path.split("?")[0]
    scenario_name = request.headers.get(SCENARIO_HEADER, "default")
    if scenario_name in _ERRORS and (path == "/retrieveAndGenerate" or _AGENT_ROUTE.match(path)):
        return _error(scenario_name)
    if path == "/retrieveAndGenerate":
        return _retrieve_and_generate(request.json())
    route = _AGENT_ROUTE.match(path)
    if route is None:
        return None
    inline = route["inline_session"] is not None
    return _invoke_agent(route["inline_session"] or route["session"], request.json(), scenario_name, inline)


def _http_answer(request: Request) -> Reply:
    agent_reply = _agent_answer(request)
    if agent_reply is not None:
        return agent_reply
    route = _ROUTE.match(request.path)
    if route is None:
        return Reply(404, {"message": "UnknownOperationException"})
    model, operation = unquote(route["model"]), route["operation"]
    body = request.json() if operation.startswith("invoke") else {}
    return answer(operation, model, body, request.headers.get(SCENARIO_HEADER, "default"))


def server() -> FakeHTTPServer:
    """``with server() as fake:``; ``client(fake.origin)`` is a boto3 client for it."""
    return FakeHTTPServer(_http_answer)


def wire_bytes(reply: Reply) -> bytes:
    """The body bytes of a reply: the JSON document or the event-stream messages."""
    return reply.payload() if reply.frames is None else b"".join(reply.frames)


def client(endpoint_url: str, session: Any = None, service: str = "bedrock-runtime") -> Any:
    """A real boto3 ``bedrock-runtime`` client with dummy credentials and no retries.

    Pass one ``boto3.session.Session`` for many clients: it loads the service model once.
    """
    import boto3
    from botocore.config import Config

    return (session or boto3.session.Session()).client(
        service,
        region_name="us-east-1",
        endpoint_url=endpoint_url,
        aws_access_key_id="AKIDFAKEFAKEFAKEFAKE",
        aws_secret_access_key="fake-secret-DO-NOT-LEAK",
        config=Config(retries={"total_max_attempts": 1}),
    )


def agent_client(endpoint_url: str, session: Any = None) -> Any:
    """A real boto3 ``bedrock-agent-runtime`` client for the same fake server."""
    return client(endpoint_url, session, "bedrock-agent-runtime")


@contextmanager
def scenario(bedrock: Any, name: str) -> Iterator[None]:
    """Ask the fake for scenario ``name`` on every call ``bedrock`` makes inside the block."""

    def add_header(request: Any, **kwargs: Any) -> None:
        request.headers[SCENARIO_HEADER] = name

    event = f"before-sign.{bedrock.meta.service_model.service_id.hyphenize()}"
    bedrock.meta.events.register(event, add_header, unique_id=SCENARIO_HEADER)
    try:
        yield
    finally:
        bedrock.meta.events.unregister(event, unique_id=SCENARIO_HEADER)
