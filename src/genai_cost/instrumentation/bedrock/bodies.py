"""invoke_model bodies of each model family: operation, usage, finish reasons, response id.

invoke_model speaks each vendor's native format. Usage, by family:

- Anthropic Messages: ``usage.input_tokens`` excluding ``cache_read_input_tokens`` and
  ``cache_creation_input_tokens`` (with the 5-minute/1-hour split in ``cache_creation``);
- Amazon Nova: ``usage.inputTokens`` excluding ``cacheRead/WriteInputTokenCount``;
- OpenAI-style bodies (Mistral chat, gpt-oss): ``usage.prompt_tokens`` including cached input;
- Amazon Titan: ``inputTextTokenCount`` and ``results[].tokenCount``;
- Meta Llama: ``prompt_token_count`` and ``generation_token_count``;
- streams: ``amazon-bedrock-invocationMetrics`` in the last chunk, whose counts win over the
  native events' (which still add what the metrics lack: the cache-write split, web searches);
- everything else (Mistral and Cohere text models): the ``x-amzn-bedrock-*-token-count``
  response headers, which Bedrock sends for every model.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from genai_cost.instrumentation._attributes import count
from genai_cost.instrumentation.anthropic.messages import usage_from_anthropic
from genai_cost.instrumentation.openai.chat import usage_from_openai
from genai_cost.semconv import Operation
from genai_cost.usage import MAX_COUNT, Usage, saturating_sum

__all__ = [
    "INVOCATION_METRICS",
    "MAX_PARSED_BODY",
    "finish_reasons",
    "json_body",
    "operation_for",
    "response_id",
    "uncached_usage",
    "usage_from_body",
    "usage_from_headers",
]

INVOCATION_METRICS = "amazon-bedrock-invocationMetrics"

MAX_PARSED_BODY = 1 << 20
"""The largest body parsed for usage; a larger one is left to the headers."""
_REASON_KEYS = ("stop_reason", "stopReason", "finish_reason", "completionReason")
_REASON_LISTS = ("results", "outputs", "generations", "choices")
_HEADER_PREFIX = "x-amzn-bedrock-"

_Counts = tuple[int | None, int | None, int | None, int | None]


def json_body(body: Any) -> dict[str, Any] | None:
    """A JSON object body given as bytes or str (up to 1 MiB); ``None`` for anything else."""
    if not isinstance(body, (bytes, bytearray, str)) or len(body) > MAX_PARSED_BODY:
        return None
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def operation_for(model: str | None, body: Mapping[str, Any] | None) -> str:
    """``gen_ai.operation.name`` of an invoke_model request, from the model id and body."""
    if model is not None and "embed" in model.lower():
        return Operation.EMBEDDINGS
    if body is not None and "messages" not in body and ("prompt" in body or "inputText" in body):
        return Operation.TEXT_COMPLETION
    return Operation.CHAT


def uncached_usage(usage: Mapping[str, Any], input_key: str, output_key: str, read_key: str, write_key: str) -> Usage:
    """Usage whose ``input_key`` count excludes the cache reads and writes reported beside it."""
    return Usage.from_uncached_input(
        uncached_input_tokens=count(usage.get(input_key)),
        output_tokens=count(usage.get(output_key)),
        cache_read_tokens=count(usage.get(read_key)),
        cache_creation_tokens=count(usage.get(write_key)),
    )


def _from_usage_object(usage: Mapping[str, Any]) -> Usage | None:
    if "input_tokens" in usage:
        return usage_from_anthropic(usage)
    if "inputTokens" in usage:
        return uncached_usage(
            usage, "inputTokens", "outputTokens", "cacheReadInputTokenCount", "cacheWriteInputTokenCount"
        )
    if "prompt_tokens" in usage:
        return usage_from_openai(usage)
    return None


def usage_from_body(body: Mapping[str, Any]) -> Usage | None:
    """Usage reported in a response body or stream chunk; ``None`` when it has none.

    A chunk's ``amazon-bedrock-invocationMetrics`` are what Bedrock bills: their counts win over
    the native usage beside them, as the headers' do over a whole body's.
    """
    native = _native_usage(body)
    metrics = body.get(INVOCATION_METRICS)
    if not isinstance(metrics, Mapping):
        return native
    keys = ("inputTokenCount", "outputTokenCount", "cacheReadInputTokenCount", "cacheWriteInputTokenCount")
    return _with_billed_counts(_counts(tuple(metrics.get(key) for key in keys)), native)


def _native_usage(body: Mapping[str, Any]) -> Usage | None:
    usage = body.get("usage")
    if not isinstance(usage, Mapping):
        usage = body.get("message", {}).get("usage") if isinstance(body.get("message"), Mapping) else None
    if isinstance(usage, Mapping):
        return _from_usage_object(usage)
    if "inputTextTokenCount" in body:
        results = body.get("results")
        output = None
        if isinstance(results, list):
            counts = (count(item.get("tokenCount")) or 0 for item in results if isinstance(item, Mapping))
            output = min(sum(counts), MAX_COUNT)
        return Usage(input_tokens=count(body.get("inputTextTokenCount")), output_tokens=output)
    if "prompt_token_count" in body or "generation_token_count" in body:
        return Usage(
            input_tokens=count(body.get("prompt_token_count")),
            output_tokens=count(body.get("generation_token_count")),
        )
    return None


def usage_from_headers(headers: Any, body_usage: Usage | None = None) -> Usage | None:
    """Usage from the ``x-amzn-bedrock-*-token-count`` headers (botocore lowercases names),
    each count they lack taken from ``body_usage``, the body's own report.

    The headers are what AWS bills, so each count they carry wins, field by field; the body
    adds what they never carry (the 5-minute/1-hour cache-write split, reasoning) and any
    count they miss. A body can report less than the headers: Nova's answer when a guardrail
    intervenes has ``usage: {"inputTokens": 30}`` only, while the headers count its output too.
    """
    return _with_billed_counts(_header_counts(headers), body_usage)


def _with_billed_counts(counts: _Counts | None, body_usage: Usage | None) -> Usage | None:
    """``body_usage`` with the counts Bedrock bills by (headers or invocation metrics) put in:
    ``(input excluding the cache, output, cache read, cache write)``, each reported one winning."""
    if counts is None:
        return body_usage
    uncached_input, output, cache_read, cache_write = counts
    body = body_usage or Usage()
    cache_read = body.cache_read_tokens if cache_read is None else cache_read
    cache_write = body.cache_creation_tokens if cache_write is None else cache_write
    # The headers' input count excludes the cache's, as Anthropic's and Nova's bodies do.
    input_tokens = body.input_tokens
    if uncached_input is not None:
        input_tokens = saturating_sum(uncached_input, cache_read, cache_write)
    return replace(
        body,
        input_tokens=input_tokens,
        output_tokens=body.output_tokens if output is None else output,
        cache_read_tokens=cache_read,
        cache_creation_tokens=cache_write,
    )


def _header_counts(headers: Any) -> _Counts | None:
    if not isinstance(headers, Mapping):
        return None
    keys = ("input", "output", "cache-read-input", "cache-write-input")
    return _counts(tuple(_header_count(headers.get(f"{_HEADER_PREFIX}{key}-token-count")) for key in keys))


def _header_count(value: Any) -> int | None:
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _counts(values: tuple[Any, ...]) -> _Counts | None:
    """(input excluding the cache, output, cache read, cache write) as counts; ``None`` when
    there is neither an input nor an output count."""
    uncached_input, output, cache_read, cache_write = (count(value) for value in values)
    if uncached_input is None and output is None:
        return None
    return uncached_input, output, cache_read, cache_write


def _reason(scope: Any) -> str | None:
    if not isinstance(scope, Mapping):
        return None
    return next((r for key in _REASON_KEYS if isinstance(r := scope.get(key), str)), None)


def finish_reasons(body: Mapping[str, Any]) -> list[str]:
    """Finish reasons of a body or chunk: top level, a streamed ``delta``/``messageStop``, or
    per result (``results``, ``outputs``, ``generations``, ``choices``)."""
    for scope in (body, body.get("delta"), body.get("messageStop")):
        reason = _reason(scope)
        if reason is not None:
            return [reason]
    for key in _REASON_LISTS:
        items = body.get(key)
        if isinstance(items, list):
            reasons = [r for item in items if (r := _reason(item)) is not None]
            if reasons:
                return reasons
    return []


def response_id(body: Mapping[str, Any]) -> str | None:
    """The response id of a body (``id``) or of Anthropic's streamed ``message_start``."""
    value = body.get("id")
    if value is None and isinstance(body.get("message"), Mapping):
        value = body["message"].get("id")
    return value if isinstance(value, str) else None
