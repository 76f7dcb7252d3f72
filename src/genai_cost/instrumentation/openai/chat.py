"""Chat completions and legacy text completions: request attributes, response usage, stream chunks.

Both APIs share their response shape (``id``, ``model``, ``choices[].finish_reason``,
``usage.prompt_tokens``/``completion_tokens`` with ``*_details``), so one extractor and one
accumulator serve both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from genai_cost.costing import pricing_context
from genai_cost.instrumentation._attributes import (
    count,
    counts,
    given,
    number,
    numbers,
    read,
    request_attributes,
    response_attributes,
    strings,
)
from genai_cost.instrumentation._core import Request, Response, Telemetry
from genai_cost.instrumentation.openai import content
from genai_cost.instrumentation.openai.endpoint import endpoint_attributes
from genai_cost.semconv import GenAI, Operation
from genai_cost.usage import Usage

__all__ = [
    "ChunkAccumulator",
    "Endpoint",
    "read_chat_request",
    "read_completion_request",
    "read_completion_response",
    "read_parse_error",
    "reported_cost",
    "sampling_attributes",
    "stream_options",
    "undeclared",
    "usage_from_openai",
]

_RAW_RESPONSE_HEADER = "x-stainless-raw-response"

_REQUEST_NUMBERS = (
    ("temperature", GenAI.REQUEST_TEMPERATURE),
    ("top_p", GenAI.REQUEST_TOP_P),
    ("frequency_penalty", GenAI.REQUEST_FREQUENCY_PENALTY),
    ("presence_penalty", GenAI.REQUEST_PRESENCE_PENALTY),
    ("seed", GenAI.REQUEST_SEED),
)


_SAMPLING_KEYS = frozenset(
    {key for key, _ in _REQUEST_NUMBERS} | {"max_completion_tokens", "max_tokens", "n", "stop", "service_tier"}
)


def sampling_attributes(kwargs: dict[str, Any]) -> dict[str, Any]:
    if _SAMPLING_KEYS.isdisjoint(kwargs):  # most calls set none of them: one test in C
        return {}
    attributes: dict[str, Any] = numbers(kwargs, _REQUEST_NUMBERS)
    if "max_completion_tokens" in kwargs or "max_tokens" in kwargs:
        max_tokens = number(given(kwargs.get("max_completion_tokens"))) or number(given(kwargs.get("max_tokens")))
        if max_tokens is not None:
            attributes[GenAI.REQUEST_MAX_TOKENS] = max_tokens
    if "n" in kwargs:
        choices = number(given(kwargs["n"]))
        if choices is not None and choices != 1:
            attributes[GenAI.REQUEST_CHOICE_COUNT] = choices
    if "stop" in kwargs:
        stop = strings(kwargs["stop"])
        if stop:
            attributes[GenAI.REQUEST_STOP_SEQUENCES] = stop
    tier = given(kwargs.get("service_tier"))
    if isinstance(tier, str) and tier != "auto":
        attributes[GenAI.REQUEST_SERVICE_TIER] = tier
    return attributes


def _output_type(response_format: Any) -> str | None:
    if response_format is None:
        return None
    if isinstance(response_format, type):  # a pydantic model given to .parse()
        return "json"
    kind = read(given(response_format), "type")
    if kind in ("json_object", "json_schema"):
        return "json"
    return "text" if kind == "text" else None


def _reads_raw_body(kwargs: dict[str, Any]) -> bool:
    """A ``with_raw_response``/``with_streaming_response`` call (the SDK marks it with a
    header): the app may read the HTTP body itself, where no chunk can be hidden."""
    headers = kwargs.get("extra_headers")
    return isinstance(headers, Mapping) and any(
        isinstance(name, str) and name.lower() == _RAW_RESPONSE_HEADER for name in headers
    )


def stream_options(telemetry: Telemetry, kwargs: dict[str, Any], ask: bool) -> tuple[dict[str, Any], bool]:
    """Ask for the final usage chunk when configured to and the app did not, where the app
    cannot see it; True if we asked."""
    if not ask or not telemetry.settings.openai_stream_usage or kwargs.get("stream") is not True:
        return kwargs, False
    options = given(kwargs.get("stream_options"))
    if (isinstance(options, dict) and "include_usage" in options) or _reads_raw_body(kwargs):
        return kwargs, False
    return {**kwargs, "stream_options": {**(options or {}), "include_usage": True}}, True


Endpoint = Callable[[Any], dict[str, Any]]
"""SDK resource -> provider and server attributes (another Stainless SDK, e.g. groq, has its own)."""


def _request(
    operation: str,
    instance: Any,
    telemetry: Telemetry,
    kwargs: dict[str, Any],
    endpoint: Endpoint | None = None,
    ask_stream_usage: bool = True,
) -> Request:
    attributes = request_attributes(operation, (endpoint or endpoint_attributes)(instance), kwargs.get("model"))
    attributes.update(sampling_attributes(kwargs))
    kwargs, hide_usage_chunk = stream_options(telemetry, kwargs, ask_stream_usage)
    return Request(attributes, kwargs, options=hide_usage_chunk)


def read_chat_request(
    instance: Any,
    telemetry: Telemetry,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    endpoint: Endpoint | None = None,
    ask_stream_usage: bool = True,
) -> Request:
    """``endpoint`` and ``ask_stream_usage`` (an SDK without ``stream_options`` cannot be
    asked for the usage chunk) let another OpenAI-shaped SDK reuse this reader."""
    request = _request(Operation.CHAT, instance, telemetry, kwargs, endpoint, ask_stream_usage)
    output_type = _output_type(kwargs.get("response_format"))
    if output_type is not None:
        request.attributes[GenAI.OUTPUT_TYPE] = output_type
    if telemetry.settings.capture_message_content:
        request.attributes[GenAI.INPUT_MESSAGES] = content.messages_json(content.chat_input(kwargs.get("messages")))
    return request


def read_completion_request(
    instance: Any, telemetry: Telemetry, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Request:
    request = _request(Operation.TEXT_COMPLETION, instance, telemetry, kwargs)
    if telemetry.settings.capture_message_content:
        request.attributes[GenAI.INPUT_MESSAGES] = content.messages_json(content.completion_input(kwargs.get("prompt")))
    return request


def undeclared(obj: Any, name: str) -> Any:
    """A field the SDK model may not declare (an API extra, or a field of a newer SDK), or None.

    Reads pydantic's fields and extras directly: ``getattr`` on a missing field raises inside
    pydantic, which costs microseconds on every call.
    """
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    fields = getattr(obj, "__dict__", None)
    if isinstance(fields, dict) and name in fields:
        return fields[name]
    extra = getattr(obj, "__pydantic_extra__", None)
    if isinstance(extra, dict):
        return extra.get(name)
    return getattr(obj, name, None)


def reported_cost(usage: Any) -> Any:
    """A cost the API reports in ``usage.cost`` (OpenRouter), not a field the SDK declares."""
    return undeclared(usage, "cost")


_USAGE_COUNTS = (("input_tokens", "prompt_tokens"), ("output_tokens", "completion_tokens"))
_PROMPT_DETAILS = (
    ("cache_read_tokens", "cached_tokens"),
    ("cache_creation_tokens", "cache_write_tokens"),
    ("input_audio_tokens", "audio_tokens"),
    ("input_image_tokens", "image_tokens"),
    ("input_text_tokens", "text_tokens"),
)
_COMPLETION_DETAILS = (("reasoning_tokens", "reasoning_tokens"), ("output_audio_tokens", "audio_tokens"))


def _top_level_cache_writes(usage: Any) -> int | None:
    """``usage.cache_creation_input_tokens``, where LiteLLM's proxy (before 1.7x) reports Anthropic's
    cache writes. Looked up among the fields the SDK does not declare only: asking a pydantic
    model for an attribute it lacks raises and catches an exception inside pydantic, on every call."""
    fields = usage if isinstance(usage, dict) else getattr(usage, "__pydantic_extra__", None)
    return count(fields.get("cache_creation_input_tokens")) if isinstance(fields, dict) else None


def usage_from_openai(usage: Any) -> Usage | None:
    """Usage of a chat or completion response: ``prompt_tokens`` include the cached tokens and
    every modality (``prompt_tokens_details`` splits them), ``completion_tokens`` the reasoning
    and audio tokens."""
    if usage is None:
        return None
    found = counts(usage, _USAGE_COUNTS)
    prompt_details = read(usage, "prompt_tokens_details")
    if prompt_details is not None:
        found.update(counts(prompt_details, _PROMPT_DETAILS))
    completion_details = read(usage, "completion_tokens_details")
    if completion_details is not None:
        found.update(counts(completion_details, _COMPLETION_DETAILS))
    if "cache_creation_tokens" not in found and (writes := _top_level_cache_writes(usage)) is not None:
        found["cache_creation_tokens"] = writes
    return Usage(**found)


def _response_attributes(response_id: Any, model: Any, finish_reasons: list[str], tier: Any) -> dict[str, Any]:
    attributes = response_attributes(response_id, model, finish_reasons)
    if isinstance(tier, str):
        attributes[GenAI.RESPONSE_SERVICE_TIER] = tier
    return attributes


def read_completion_response(result: Any, *, capture_content: bool = False) -> Response:
    """A ``ChatCompletion``, ``ParsedChatCompletion`` or legacy ``Completion``."""
    choices = read(result, "choices") or ()
    reasons = [reason for choice in choices if isinstance(reason := read(choice, "finish_reason"), str)]
    usage = read(result, "usage")
    tier = read(result, "service_tier")
    attributes = _response_attributes(read(result, "id"), read(result, "model"), reasons, tier)
    if capture_content:
        attributes[GenAI.OUTPUT_MESSAGES] = content.messages_json([content.choice_output(choice) for choice in choices])
    return Response(
        usage_from_openai(usage),
        attributes,
        provider_cost=reported_cost(usage),
        pricing_context=pricing_context(service_tier=tier),
    )


class ChunkAccumulator:
    """Folds ``ChatCompletionChunk``/``Completion`` stream chunks into one :class:`Response`."""

    __slots__ = (
        "_finish_reasons",
        "_hide_usage_chunk",
        "_id",
        "_model",
        "_texts",
        "_tier",
        "_usage",
        "_usage_extension",
    )

    def __init__(
        self, hide_usage_chunk: bool, *, capture_content: bool = False, usage_extension: str | None = None
    ) -> None:
        """``usage_extension``: a chunk field whose ``usage`` also reports the stream's usage
        (Groq's ``x_groq``, sent on the last chunk whether or not ``include_usage`` was asked)."""
        self._hide_usage_chunk = hide_usage_chunk
        self._usage_extension = usage_extension
        self._texts: dict[int, list[str]] | None = {} if capture_content else None
        self._id: Any = None
        self._model: Any = None
        self._tier: Any = None
        self._usage: Any = None
        self._finish_reasons: dict[int, str] = {}

    def add(self, chunk: Any) -> bool:
        # Runs once per chunk: plain attribute reads for SDK objects, no helper calls.
        if self._id is None:
            self._id = read(chunk, "id")
            self._model = read(chunk, "model")
            self._tier = read(chunk, "service_tier")
        if isinstance(chunk, dict):
            choices, usage = chunk.get("choices"), chunk.get("usage")
        else:
            try:  # an SDK chunk has both (a try costs nothing until it raises)
                choices, usage = chunk.choices, chunk.usage
            except AttributeError:
                choices, usage = getattr(chunk, "choices", None), getattr(chunk, "usage", None)
        if choices:
            texts = self._texts
            for choice in choices:
                reason = (
                    choice.get("finish_reason") if isinstance(choice, dict) else getattr(choice, "finish_reason", None)
                )
                if reason is not None and isinstance(reason, str):
                    index = read(choice, "index")
                    self._finish_reasons[index if isinstance(index, int) else len(self._finish_reasons)] = reason
                if texts is not None:
                    self._collect_text(choice)
        if usage is None and self._usage_extension is not None:
            usage = read(read(chunk, self._usage_extension), "usage")
        if usage is not None:
            self._usage = usage
            # The usage-only chunk we asked for: the app did not, so it never sees it.
            return not (self._hide_usage_chunk and not choices)
        return True

    def _collect_text(self, choice: Any) -> None:
        delta = read(choice, "delta")
        text = read(delta, "content") if delta is not None else read(choice, "text")
        if isinstance(text, str) and self._texts is not None:
            index = read(choice, "index")
            self._texts.setdefault(index if isinstance(index, int) else 0, []).append(text)

    def result(self) -> Response:
        reasons = [self._finish_reasons[index] for index in sorted(self._finish_reasons)]
        attributes = _response_attributes(self._id, self._model, reasons, self._tier)
        if self._texts is not None:
            messages = [
                content.message("assistant", [content.text_part("".join(self._texts.get(index, ())))],
                                self._finish_reasons.get(index))
                for index in sorted(self._texts.keys() | self._finish_reasons.keys())
            ]  # fmt: skip
            attributes[GenAI.OUTPUT_MESSAGES] = content.messages_json(messages)
        return Response(
            usage_from_openai(self._usage),
            attributes,
            provider_cost=reported_cost(self._usage),
            pricing_context=pricing_context(service_tier=self._tier),
        )


def read_parse_error(error: BaseException, *, capture_content: bool = False) -> Response | None:
    """The billed completion a structured-output ``parse()`` failure carries, or None.

    ``LengthFinishReasonError`` and ``ContentFilterFinishReasonError`` (finish reason ``length``
    or ``content_filter``) keep the ``ChatCompletion`` the API returned, usage included.
    """
    completion = getattr(error, "completion", None)
    return None if completion is None else read_completion_response(completion, capture_content=capture_content)
