"""``generate_content``: request attributes, ``usage_metadata`` and the streamed chunks.

Gemini's ``prompt_token_count`` already includes cached tokens; thoughts are billed as output
but reported apart from ``candidates_token_count``, so semconv output = candidates + thoughts
(with reasoning = thoughts). Tool-use prompt tokens (results of tool runs fed back to the
model) are billed as input and added to it. Per-modality prompt counts become the audio /
image / video parts of the input, minus their cached share, which the cache-read price covers.
"""

from __future__ import annotations

from typing import Any

from genai_cost.instrumentation._attributes import (
    count,
    number,
    numbers,
    read,
    request_attributes,
    response_attributes,
    strings,
)
from genai_cost.instrumentation._core import Request, Response, Telemetry
from genai_cost.instrumentation.google_genai import parts
from genai_cost.instrumentation.google_genai.endpoint import endpoint_attributes, model_name
from genai_cost.semconv import GenAI, Operation
from genai_cost.usage import Usage, saturating_sum

__all__ = ["ChunkAccumulator", "read_generate_request", "read_generate_response", "usage_from_gemini"]

_CONFIG_NUMBERS = (
    ("temperature", GenAI.REQUEST_TEMPERATURE),
    ("top_p", GenAI.REQUEST_TOP_P),
    ("top_k", GenAI.REQUEST_TOP_K),
    ("max_output_tokens", GenAI.REQUEST_MAX_TOKENS),
    ("presence_penalty", GenAI.REQUEST_PRESENCE_PENALTY),
    ("frequency_penalty", GenAI.REQUEST_FREQUENCY_PENALTY),
    ("seed", GenAI.REQUEST_SEED),
)


def read_generate_request(
    instance: Any, telemetry: Telemetry, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Request:
    """``generate_content``/``generate_content_stream`` keyword arguments (``model``, ``config``)."""
    model = model_name(kwargs.get("model"))
    attributes = request_attributes(Operation.GENERATE_CONTENT, endpoint_attributes(instance), model)
    config = kwargs.get("config")
    if config is not None:
        attributes.update(numbers(config, _CONFIG_NUMBERS))
        candidates = number(read(config, "candidate_count"))
        if candidates is not None and candidates != 1:
            attributes[GenAI.REQUEST_CHOICE_COUNT] = candidates
        stop = strings(read(config, "stop_sequences"))
        if stop:
            attributes[GenAI.REQUEST_STOP_SEQUENCES] = stop
        mime_type = read(config, "response_mime_type")
        if isinstance(mime_type, str):
            attributes[GenAI.OUTPUT_TYPE] = "json" if mime_type == "application/json" else "text"
    if telemetry.settings.capture_message_content:
        captured = {
            GenAI.INPUT_MESSAGES: parts.input_messages(kwargs.get("contents")),
            GenAI.SYSTEM_INSTRUCTIONS: parts.system_instructions(config),
        }
        attributes.update({name: value for name, value in captured.items() if value is not None})
    return Request(attributes, kwargs)


def _modalities(details: Any) -> dict[str, int]:
    """``[{modality: AUDIO, token_count: 12}, ...]`` as ``{"AUDIO": 12}``."""
    counts: dict[str, int] = {}
    for item in details or ():
        modality = read(item, "modality")
        tokens = count(read(item, "token_count"))
        if modality is not None and tokens is not None:
            counts[str(getattr(modality, "value", modality))] = tokens
    return counts


def usage_from_gemini(metadata: Any) -> Usage | None:
    """Semconv usage from ``usage_metadata`` (an SDK object or a dict of its fields)."""
    if metadata is None:
        return None
    thoughts = count(read(metadata, "thoughts_token_count"))
    prompt = _modalities(read(metadata, "prompt_tokens_details"))
    cached = _modalities(read(metadata, "cache_tokens_details"))
    output = _modalities(read(metadata, "candidates_tokens_details"))

    def uncached(modality: str) -> int | None:
        tokens = prompt.get(modality)
        return None if tokens is None else max(tokens - cached.get(modality, 0), 0)

    return Usage(
        input_tokens=saturating_sum(
            count(read(metadata, "prompt_token_count")), count(read(metadata, "tool_use_prompt_token_count"))
        ),
        output_tokens=saturating_sum(count(read(metadata, "candidates_token_count")), thoughts),
        cache_read_tokens=count(read(metadata, "cached_content_token_count")),
        reasoning_tokens=thoughts,
        input_audio_tokens=uncached("AUDIO"),
        input_image_tokens=uncached("IMAGE"),
        input_video_tokens=uncached("VIDEO"),
        output_audio_tokens=output.get("AUDIO"),
        output_image_tokens=output.get("IMAGE"),
    )


def _finish_reasons(candidates: Any, into: dict[int, str]) -> None:
    for position, candidate in enumerate(candidates or ()):
        reason = read(candidate, "finish_reason")
        if reason is not None:
            index = read(candidate, "index")
            into[index if isinstance(index, int) else position] = str(getattr(reason, "value", reason)).lower()


def _response(response_id: Any, model: Any, reasons: dict[int, str], usage: Usage | None) -> Response:
    return Response(usage, response_attributes(response_id, model, [reasons[index] for index in sorted(reasons)]))


def read_generate_response(result: Any) -> Response:
    """A ``GenerateContentResponse``."""
    reasons: dict[int, str] = {}
    _finish_reasons(read(result, "candidates"), reasons)
    usage = usage_from_gemini(read(result, "usage_metadata"))
    return _response(read(result, "response_id"), read(result, "model_version"), reasons, usage)


class ChunkAccumulator:
    """Folds streamed ``GenerateContentResponse`` chunks into one :class:`Response`.

    Each chunk's ``usage_metadata`` is the running total of the stream so far, so the latest one
    that has token counts wins (Vertex AI sends counts on the last chunk only; its earlier
    chunks carry just ``traffic_type``).
    """

    __slots__ = ("_id", "_model", "_reasons", "_usage")

    def __init__(self) -> None:
        self._id: Any = None
        self._model: Any = None
        self._reasons: dict[int, str] = {}
        self._usage: Any = None

    def add(self, chunk: Any) -> bool:
        if self._id is None:
            self._id = read(chunk, "response_id")
        if self._model is None:
            self._model = read(chunk, "model_version")
        _finish_reasons(read(chunk, "candidates"), self._reasons)
        metadata = read(chunk, "usage_metadata")
        if metadata is not None and (
            read(metadata, "prompt_token_count") is not None or read(metadata, "candidates_token_count") is not None
        ):
            self._usage = metadata
        return True

    def result(self) -> Response:
        return _response(self._id, self._model, self._reasons, usage_from_gemini(self._usage))
