"""Groq's compound systems (``groq/compound``, ``groq/compound-mini``): one call, several models.

A compound system answers by running openly available models (and tools) inside Groq; each
model is billed at its own prices. The response's ``usage`` is their sum and its
``usage_breakdown.models`` lists each model with its ``usage`` (a stream: the last chunk's
``x_groq.usage`` and ``x_groq.usage_breakdown``; the SDK's ``ChatCompletion.usage_breakdown``
and ``ChatCompletionChunk.x_groq``). Each listed model becomes a priced ``chat {model}`` span
below the call's (:attr:`~genai_cost.instrumentation._core.Response.parts`); the call's span
keeps the summed tokens, priced and counted nowhere else. A request for a compound system says
so on its span from the start (``genai_cost.billed_apart``), so that ``CostSpanProcessor``
rolls the models' cost up to it. Without a breakdown the call is priced as any other (the
pricing table has no price for a compound system itself: ``unknown_model``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from genai_cost.instrumentation._attributes import read
from genai_cost.instrumentation._core import Request, Response
from genai_cost.instrumentation.openai.chat import ChunkAccumulator, usage_from_openai
from genai_cost.semconv import GenAI, Ours
from genai_cost.usage import Usage

__all__ = ["CompoundChunks", "is_compound", "mark_compound", "with_parts"]


def is_compound(model: Any) -> bool:
    """``groq/compound``, ``groq/compound-mini`` and the earlier ``compound-beta`` names."""
    return isinstance(model, str) and model.removeprefix("groq/").startswith("compound")


def mark_compound(request: Request) -> Request:
    if is_compound(request.attributes.get(GenAI.REQUEST_MODEL)):
        request.attributes[Ours.BILLED_APART] = True
    return request


def _parts(breakdown: Any) -> tuple[tuple[str | None, Usage], ...]:
    parts = []
    for entry in read(breakdown, "models") or ():
        model = read(entry, "model")
        usage = usage_from_openai(read(entry, "usage"))
        if usage is not None:
            parts.append((model if isinstance(model, str) else None, usage))
    return tuple(parts)


def with_parts(response: Response, breakdown: Any) -> Response:
    """``response``, billed as the models ``breakdown`` lists, when it lists any."""
    parts = _parts(breakdown)
    if not parts:
        return response
    return replace(response, parts=parts, attributes={**response.attributes, Ours.BILLED_APART: True})


class CompoundChunks:
    """A Groq stream's :class:`ChunkAccumulator`, plus the last chunk's ``x_groq.usage_breakdown``."""

    __slots__ = ("_breakdown", "_chunks")

    def __init__(self, chunks: ChunkAccumulator) -> None:
        self._chunks = chunks
        self._breakdown: Any = None

    def add(self, chunk: Any) -> bool:
        breakdown = read(read(chunk, "x_groq"), "usage_breakdown")
        if breakdown is not None:
            self._breakdown = breakdown
        return self._chunks.add(chunk)

    def result(self) -> Response:
        return with_parts(self._chunks.result(), self._breakdown)
