"""Normalized token counts of one call, and readers that build them from span attributes.

Accounting follows the GenAI semantic conventions: ``input_tokens`` includes cached input
(read and creation) and ``output_tokens`` includes reasoning. ``None`` means "not reported";
``0`` is a reported zero. Estimates never enter a ``Usage``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from genai_cost.semconv import GenAI, Legacy, OpenInference

__all__ = ["TOKEN_FIELDS", "Usage", "usage_from_attributes"]


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one LLM call, in semconv accounting."""

    input_tokens: int | None = None
    """All input tokens, cached ones included."""
    output_tokens: int | None = None
    """All output tokens, reasoning included."""
    cache_read_tokens: int | None = None
    """Input tokens served from the provider's prompt cache (part of ``input_tokens``)."""
    cache_creation_tokens: int | None = None
    """Input tokens written to the prompt cache (part of ``input_tokens``)."""
    cache_creation_5m_tokens: int | None = None
    """Cache writes with a 5-minute lifetime (part of ``cache_creation_tokens``)."""
    cache_creation_1h_tokens: int | None = None
    """Cache writes with a 1-hour lifetime (part of ``cache_creation_tokens``)."""
    input_audio_tokens: int | None = None
    """Audio input tokens (part of ``input_tokens``)."""
    input_image_tokens: int | None = None
    """Image input tokens (part of ``input_tokens``)."""
    input_video_tokens: int | None = None
    """Video input tokens (part of ``input_tokens``)."""
    input_text_tokens: int | None = None
    """Text input tokens, when the provider splits input by modality (part of ``input_tokens``)."""
    reasoning_tokens: int | None = None
    """Reasoning ("thinking") tokens (part of ``output_tokens``)."""
    output_audio_tokens: int | None = None
    """Audio output tokens (part of ``output_tokens``)."""
    output_image_tokens: int | None = None
    """Image output tokens (part of ``output_tokens``)."""

    @classmethod
    def from_uncached_input(
        cls,
        *,
        uncached_input_tokens: int | None,
        output_tokens: int | None,
        cache_read_tokens: int | None = None,
        cache_creation_tokens: int | None = None,
        cache_creation_5m_tokens: int | None = None,
        cache_creation_1h_tokens: int | None = None,
        reasoning_tokens: int | None = None,
    ) -> Usage:
        """Normalize Anthropic-style usage, whose input count excludes cache reads and writes."""
        if cache_creation_tokens is None and (
            cache_creation_5m_tokens is not None or cache_creation_1h_tokens is not None
        ):
            cache_creation_tokens = (cache_creation_5m_tokens or 0) + (cache_creation_1h_tokens or 0)
        input_tokens = uncached_input_tokens
        if input_tokens is not None:
            input_tokens += (cache_read_tokens or 0) + (cache_creation_tokens or 0)
        return cls(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cache_read_tokens=cache_read_tokens,
            cache_creation_tokens=cache_creation_tokens,
            cache_creation_5m_tokens=cache_creation_5m_tokens,
            cache_creation_1h_tokens=cache_creation_1h_tokens,
            reasoning_tokens=reasoning_tokens,
        )

    @property
    def is_empty(self) -> bool:
        """True when the provider reported no token count at all."""
        if self.input_tokens is not None or self.output_tokens is not None:  # the usual case, decided at once
            return False
        return all(getattr(self, name) is None for name in TOKEN_FIELDS)

    @property
    def total_tokens(self) -> int:
        return (self.input_tokens or 0) + (self.output_tokens or 0)

    def __add__(self, other: Usage) -> Usage:
        if not isinstance(other, Usage):
            return NotImplemented
        return Usage(**{name: _add(getattr(self, name), getattr(other, name)) for name in TOKEN_FIELDS})

    def to_attributes(self) -> dict[str, int]:
        """The ``gen_ai.usage.*`` span attributes for the counts that were reported."""
        pairs = (
            (GenAI.USAGE_INPUT_TOKENS, self.input_tokens),
            (GenAI.USAGE_OUTPUT_TOKENS, self.output_tokens),
            (GenAI.USAGE_CACHE_READ_INPUT_TOKENS, self.cache_read_tokens),
            (GenAI.USAGE_CACHE_CREATION_INPUT_TOKENS, self.cache_creation_tokens),
            (GenAI.USAGE_REASONING_OUTPUT_TOKENS, self.reasoning_tokens),
        )
        return {name: value for name, value in pairs if value is not None}


TOKEN_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Usage))


def _add(left: int | None, right: int | None) -> int | None:
    if left is None:
        return right
    if right is None:
        return left
    return left + right


def _count(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return int(value)


# Usage field <- attribute name, per naming scheme, in order of precedence: the first scheme
# with any count reported is read alone.
_SCHEMES: tuple[tuple[tuple[str, str], ...], ...] = (
    (
        ("input_tokens", GenAI.USAGE_INPUT_TOKENS),
        ("output_tokens", GenAI.USAGE_OUTPUT_TOKENS),
        ("cache_read_tokens", GenAI.USAGE_CACHE_READ_INPUT_TOKENS),
        ("cache_creation_tokens", GenAI.USAGE_CACHE_CREATION_INPUT_TOKENS),
        ("reasoning_tokens", GenAI.USAGE_REASONING_OUTPUT_TOKENS),
    ),
    (
        ("input_tokens", Legacy.USAGE_PROMPT_TOKENS),
        ("output_tokens", Legacy.USAGE_COMPLETION_TOKENS),
    ),
    (
        ("input_tokens", OpenInference.TOKEN_COUNT_PROMPT),
        ("output_tokens", OpenInference.TOKEN_COUNT_COMPLETION),
        ("cache_read_tokens", OpenInference.TOKEN_COUNT_PROMPT_CACHE_READ),
        ("cache_creation_tokens", OpenInference.TOKEN_COUNT_PROMPT_CACHE_WRITE),
        ("input_audio_tokens", OpenInference.TOKEN_COUNT_PROMPT_AUDIO),
        ("reasoning_tokens", OpenInference.TOKEN_COUNT_COMPLETION_REASONING),
        ("output_audio_tokens", OpenInference.TOKEN_COUNT_COMPLETION_AUDIO),
    ),
)


def usage_from_attributes(attributes: Mapping[str, Any]) -> Usage | None:
    """Read token usage written by any known instrumentation; ``None`` when there is none.

    Understands the current semconv names, the older ``prompt_tokens``/``completion_tokens``
    pair, and OpenInference's ``llm.token_count.*``. Counts that are not finite numbers are
    ignored.
    """
    get = attributes.get
    for scheme in _SCHEMES:
        counts = {
            field: count
            for field, name in scheme
            if (value := get(name)) is not None and (count := _count(value)) is not None
        }
        if counts:
            return Usage(**counts)
    return None
