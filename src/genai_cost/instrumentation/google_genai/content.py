"""``generate_content``: request attributes, ``usage_metadata``, grounding and the streamed chunks.

Gemini's ``prompt_token_count`` already includes cached tokens; thoughts are billed as output
but reported apart from ``candidates_token_count``, so semconv output = candidates + thoughts
(with reasoning = thoughts). Tool-use prompt tokens (results of tool runs fed back to the
model) are billed as input and added to it. Per-modality counts follow genai-prices' Google
extractor: each input modality is its prompt count plus its tool-use prompt count (cached
tokens included, so ``input_audio_tokens`` is all audio input), the cached audio and image
tokens are their own counts, and ``DOCUMENT`` tokens count as image tokens.

Google Search grounding (``grounding_metadata.web_search_queries`` per candidate, the image
search queries beside them) is billed per grounded prompt on Gemini 2.x and earlier, per search
query on Gemini 3 and later; the model the response names (``model_version``) tells which.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from genai_cost.costing import pricing_context
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
from genai_cost.usage import MAX_COUNT, Usage, saturating_sum

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
    """``[{modality: AUDIO, token_count: 12}, ...]`` as ``{"AUDIO": 12}``; ``DOCUMENT`` (PDF pages,
    billed as images) is added to ``IMAGE``."""
    counts: dict[str, int] = {}
    for item in details or ():
        modality = read(item, "modality")
        tokens = count(read(item, "token_count"))
        if modality is not None and tokens is not None:
            name = str(getattr(modality, "value", modality))
            name = "IMAGE" if name == "DOCUMENT" else name
            counts[name] = min(counts.get(name, 0) + tokens, MAX_COUNT)
    return counts


def usage_from_gemini(metadata: Any) -> Usage | None:
    """Semconv usage from ``usage_metadata`` (an SDK object or a dict of its fields)."""
    if metadata is None:
        return None
    thoughts = count(read(metadata, "thoughts_token_count"))
    prompt = _modalities(read(metadata, "prompt_tokens_details"))
    tool_use = _modalities(read(metadata, "tool_use_prompt_tokens_details"))
    cached = _modalities(read(metadata, "cache_tokens_details"))
    output = _modalities(read(metadata, "candidates_tokens_details"))

    def input_of(modality: str) -> int | None:
        return saturating_sum(prompt.get(modality), tool_use.get(modality))

    def cached_of(modality: str) -> int | None:
        # Cache details that list other modalities report none of this one: cached audio is
        # part of both the cache reads and the audio input, and a price needs that overlap.
        if modality in cached or not cached:
            return cached.get(modality)
        return 0 if input_of(modality) is not None else None

    return Usage(
        input_tokens=saturating_sum(
            count(read(metadata, "prompt_token_count")), count(read(metadata, "tool_use_prompt_token_count"))
        ),
        output_tokens=saturating_sum(count(read(metadata, "candidates_token_count")), thoughts),
        cache_read_tokens=count(read(metadata, "cached_content_token_count")),
        reasoning_tokens=thoughts,
        input_text_tokens=input_of("TEXT"),
        input_audio_tokens=input_of("AUDIO"),
        input_image_tokens=input_of("IMAGE"),
        input_video_tokens=input_of("VIDEO"),
        cache_audio_read_tokens=cached_of("AUDIO"),
        cache_image_read_tokens=cached_of("IMAGE"),
        output_audio_tokens=output.get("AUDIO"),
        output_image_tokens=output.get("IMAGE"),
        output_video_tokens=output.get("VIDEO"),
    )


# More distinct queries than any real response runs: a bound on what a server can make us keep.
_MAX_QUERIES = 1024


class _Grounding:
    """The distinct Google Search queries the candidates report, across a stream's chunks.

    Google ignores empty queries when it counts the billed ones, and a streamed candidate
    repeats its ``grounding_metadata`` (empty until the last chunk), hence sets of non-empty
    strings. ``None`` searches when no candidate carried grounding metadata at all.
    """

    __slots__ = ("_queries", "_reported")

    def __init__(self) -> None:
        self._reported = False
        self._queries: set[tuple[str, str]] = set()

    def add(self, candidates: Any) -> None:
        for candidate in candidates or ():
            metadata = read(candidate, "grounding_metadata")
            if metadata is None:
                continue
            self._reported = True
            for kind in ("web_search_queries", "image_search_queries"):
                queries = read(metadata, kind)
                for query in queries if isinstance(queries, (list, tuple)) else ():
                    if isinstance(query, str) and query and len(self._queries) < _MAX_QUERIES:
                        self._queries.add((kind, query))

    def web_searches(self, model: Any) -> int | None:
        """Billed searches: one per grounded prompt on Gemini 1.x/2.x, else one per query (also
        when the response names no model)."""
        if not self._reported:
            return None
        if _billed_per_prompt(model):
            return min(len(self._queries), 1)
        return len(self._queries)


def _billed_per_prompt(model: Any) -> bool:
    name = model.rsplit("/", 1)[-1] if isinstance(model, str) else ""
    return name.startswith(("gemini-1.", "gemini-2."))


def _finish_reasons(candidates: Any, into: dict[int, str]) -> None:
    for position, candidate in enumerate(candidates or ()):
        reason = read(candidate, "finish_reason")
        if reason is not None:
            index = read(candidate, "index")
            into[index if isinstance(index, int) else position] = str(getattr(reason, "value", reason)).lower()


_SERVED_TIER_HEADER = "x-gemini-service-tier"


def served_context(result: Any) -> dict[str, str] | None:
    """The pricing context of a response: the service tier the Gemini API served, which its
    ``x-gemini-service-tier`` header names (a ``priority`` request over its limit is served, and
    billed, at ``standard``)."""
    headers = read(read(result, "sdk_http_response"), "headers")
    if not isinstance(headers, Mapping):
        return None
    tier = headers.get(_SERVED_TIER_HEADER)  # the SDK copies httpx's headers, whose names are lowercase
    return pricing_context(service_tier=tier.lower() if isinstance(tier, str) else None)


def _response(
    response_id: Any,
    model: Any,
    reasons: dict[int, str],
    usage: Usage | None,
    grounding: _Grounding,
    context: dict[str, str] | None,
) -> Response:
    searches = grounding.web_searches(model)
    if searches is not None and (usage is not None or searches):
        usage = replace(usage or Usage(), web_searches=searches)
    attributes = response_attributes(response_id, model, [reasons[index] for index in sorted(reasons)])
    return Response(usage, attributes, pricing_context=context)


def read_generate_response(result: Any) -> Response:
    """A ``GenerateContentResponse``."""
    reasons: dict[int, str] = {}
    candidates = read(result, "candidates")
    _finish_reasons(candidates, reasons)
    grounding = _Grounding()
    grounding.add(candidates)
    usage = usage_from_gemini(read(result, "usage_metadata"))
    model = read(result, "model_version")
    return _response(read(result, "response_id"), model, reasons, usage, grounding, served_context(result))


class ChunkAccumulator:
    """Folds streamed ``GenerateContentResponse`` chunks into one :class:`Response`.

    Each chunk's ``usage_metadata`` is the running total of the stream so far, so the latest one
    that has token counts wins (Vertex AI sends counts on the last chunk only; its earlier
    chunks carry just ``traffic_type``).
    """

    __slots__ = ("_context", "_grounding", "_id", "_model", "_reasons", "_usage")

    def __init__(self) -> None:
        self._id: Any = None
        self._model: Any = None
        self._reasons: dict[int, str] = {}
        self._usage: Any = None
        self._grounding = _Grounding()
        self._context: dict[str, str] | None = None

    def add(self, chunk: Any) -> bool:
        if self._id is None:
            self._id = read(chunk, "response_id")
        if self._context is None:  # every chunk carries the stream's headers
            self._context = served_context(chunk)
        if self._model is None:
            self._model = read(chunk, "model_version")
        candidates = read(chunk, "candidates")
        _finish_reasons(candidates, self._reasons)
        self._grounding.add(candidates)
        metadata = read(chunk, "usage_metadata")
        if metadata is not None and (
            read(metadata, "prompt_token_count") is not None or read(metadata, "candidates_token_count") is not None
        ):
            self._usage = metadata
        return True

    def result(self) -> Response:
        usage = usage_from_gemini(self._usage)
        return _response(self._id, self._model, self._reasons, usage, self._grounding, self._context)
