"""Normalized usage of one call (token counts, and units such as web searches), and readers
that build it from span attributes.

Accounting follows the GenAI semantic conventions: ``input_tokens`` includes cached input
(read and creation) and ``output_tokens`` includes reasoning. ``None`` means "not reported";
``0`` is a reported zero. Estimates never enter a ``Usage``.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from genai_cost.semconv import GenAI, Legacy, OpenInference, Ours

__all__ = [
    "ATTRIBUTE_NAMES",
    "MAX_AMOUNT",
    "MAX_COUNT",
    "TOKEN_FIELDS",
    "Usage",
    "cost_amount",
    "saturating_sum",
    "token_count",
    "usage_from_attributes",
]

T = TypeVar("T")

MAX_COUNT = 2**63 - 1
"""The largest token count: OTLP carries integers as int64 (the encoder drops wider ones)."""
MAX_AMOUNT = Decimal(sys.float_info.max)
"""The largest cost amount: span and metric values are floats."""


def token_count(value: object) -> int | None:
    """``value`` as a token count, or ``None`` when it is not one.

    The one rule every reader applies (our extractors, ``CostSpanProcessor`` reading another
    instrumentation's span, ``track_usage``): a count is a non-negative integer within int64.
    A float from loose JSON (``5.0``) is truncated; a bool, a string, a negative number, NaN,
    infinity and anything wider than int64 (``1e300``) are not counts.
    """
    if type(value) is int:  # the usual case, without the checks a float or a bool needs
        return value if 0 <= value <= MAX_COUNT else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value) if 0 <= value <= MAX_COUNT else None  # NaN fails the comparison


def cost_amount(value: object) -> Decimal | None:
    """``value`` as a cost amount, or ``None`` when it is not one.

    The one rule for amounts (a cost the provider reported, one another instrumentation
    wrote on its span): a finite, non-negative number that a float can carry, given as an
    int, a float, a ``Decimal`` or a numeric string. Floats convert by their shortest repr,
    so ``0.1`` is ``Decimal("0.1")``.
    """
    if type(value) is float:  # the usual case: an amount on a span
        return Decimal(repr(value)) if 0 <= value < math.inf else None
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        return None
    try:
        amount = Decimal(repr(float(value)) if isinstance(value, float) else str(value))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and 0 <= amount <= MAX_AMOUNT else None


def saturating_sum(*counts: int | None) -> int | None:
    """The sum of the reported counts, capped at :data:`MAX_COUNT`; ``None`` when none is reported."""
    reported = [count for count in counts if count is not None]
    return min(sum(reported), MAX_COUNT) if reported else None


@dataclass(frozen=True)
class Usage:
    """Usage counts of one LLM call, in semconv accounting: tokens, then non-token units
    (web searches, seconds of audio, pages, ...) that some prices are per."""

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
    cache_audio_read_tokens: int | None = None
    """Audio input tokens served from the cache (part of ``cache_read_tokens`` and ``input_audio_tokens``)."""
    cache_image_read_tokens: int | None = None
    """Image input tokens served from the cache (part of ``cache_read_tokens`` and ``input_image_tokens``)."""
    output_video_tokens: int | None = None
    """Video output tokens (part of ``output_tokens``)."""
    citation_tokens: int | None = None
    """Output tokens spent on citations (Perplexity; part of ``output_tokens``)."""
    web_searches: int | None = None
    """Web searches the provider ran for the call (OpenAI web_search, Anthropic web_search, Gemini grounding)."""
    storage_searches: int | None = None
    """Searches of the provider's file storage (OpenAI file_search tool calls)."""
    audio_seconds: int | None = None
    """Seconds of audio processed, input and output (whole seconds)."""
    input_audio_seconds: int | None = None
    """Seconds of input audio (part of ``audio_seconds``)."""
    input_characters: int | None = None
    """Input characters (text-to-speech)."""
    input_document_pages: int | None = None
    """Document pages read (OCR)."""
    input_annotated_document_pages: int | None = None
    """Document pages read with annotations (part of ``input_document_pages``)."""
    input_text_messages: int | None = None
    """Input text messages (voice agents priced per message)."""

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
        if cache_creation_tokens is None:
            cache_creation_tokens = saturating_sum(cache_creation_5m_tokens, cache_creation_1h_tokens)
        input_tokens = uncached_input_tokens
        if input_tokens is not None and (cache_read_tokens or cache_creation_tokens):
            input_tokens = saturating_sum(input_tokens, cache_read_tokens, cache_creation_tokens)
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
        return not self.counts()

    def counts(self) -> dict[str, int]:
        """``{field: count}`` of the counts that were reported (not ``None``), in the order given.

        Reads only the fields given when the instance was built (:func:`_stores_given_fields`):
        a call reports a handful of the fields, and this runs on every call.
        """
        return {name: value for name, value in self.__dict__.items() if value is not None}

    @property
    def total_tokens(self) -> int:
        return (self.input_tokens or 0) + (self.output_tokens or 0)

    def __add__(self, other: Usage) -> Usage:
        if not isinstance(other, Usage):
            return NotImplemented
        return Usage(**{name: saturating_sum(getattr(self, name), getattr(other, name)) for name in TOKEN_FIELDS})

    def to_attributes(self) -> dict[str, int]:
        """The span attributes of the counts that were reported (:data:`ATTRIBUTE_NAMES`)."""
        names = _ATTRIBUTE_OF
        attributes = {names[field]: value for field, value in self.__dict__.items() if value is not None}
        if self.cache_creation_tokens is not None:  # also under the conventions' newer name
            attributes[GenAI.USAGE_CACHE_WRITE_INPUT_TOKENS] = self.cache_creation_tokens
        return attributes


def _stores_given_fields(cls: type[T]) -> type[T]:
    """Give the frozen dataclass ``cls`` an ``__init__`` that stores only the fields it is given.

    The ``__init__`` a frozen dataclass generates sets every field with ``object.__setattr__``
    (plain assignment is refused): for :class:`Usage`, 25 fields of which a call reports a
    handful, built on every call, that was most of the cost of a call's usage. Every field
    has a plain default, which ``dataclass`` keeps as a class attribute (``cls`` has no
    ``__slots__``): a field not given reads it from there, and the instance ``__dict__``
    holds the given fields only, which :meth:`Usage.counts` walks instead of all 25.
    Equality, hashing, ``repr``, ``dataclasses.replace``, copying and pickling read the
    attributes and are unchanged; type checkers still check calls against the generated
    signature. Positional arguments fill the fields in their order, as before.
    """
    names = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]
    known = frozenset(names)

    def __init__(self: T, *args: object, **given: object) -> None:
        if args:
            if len(args) > len(names) or not given.keys().isdisjoint(names[: len(args)]):
                raise TypeError(f"{cls.__name__}() got too many or repeated arguments")
            given = {**dict(zip(names, args, strict=False)), **given}
        if not known.issuperset(given):
            raise TypeError(f"{cls.__name__}() got unexpected keyword arguments: {sorted(set(given) - known)}")
        self.__dict__.update(given)

    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    setattr(cls, "__init__", __init__)  # noqa: B010  (assigning the attribute: mypy keeps the generated signature)
    return cls


_stores_given_fields(Usage)


TOKEN_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Usage))
"""Every count field of :class:`Usage` (the non-token units too)."""

_SEMCONV_NAMES: tuple[tuple[str, str], ...] = (
    ("input_tokens", GenAI.USAGE_INPUT_TOKENS),
    ("output_tokens", GenAI.USAGE_OUTPUT_TOKENS),
    ("cache_read_tokens", GenAI.USAGE_CACHE_READ_INPUT_TOKENS),
    ("cache_creation_tokens", GenAI.USAGE_CACHE_CREATION_INPUT_TOKENS),
    ("reasoning_tokens", GenAI.USAGE_REASONING_OUTPUT_TOKENS),
    ("input_text_tokens", GenAI.USAGE_TEXT_INPUT_TOKENS),
    ("input_audio_tokens", GenAI.USAGE_AUDIO_INPUT_TOKENS),
    ("input_image_tokens", GenAI.USAGE_IMAGE_INPUT_TOKENS),
    ("input_video_tokens", GenAI.USAGE_VIDEO_INPUT_TOKENS),
    ("output_audio_tokens", GenAI.USAGE_AUDIO_OUTPUT_TOKENS),
    ("output_image_tokens", GenAI.USAGE_IMAGE_OUTPUT_TOKENS),
    ("output_video_tokens", GenAI.USAGE_VIDEO_OUTPUT_TOKENS),
)

ATTRIBUTE_NAMES: tuple[tuple[str, str], ...] = (
    *_SEMCONV_NAMES,
    # The conventions renamed cache_creation to cache_write; backends read one or the other.
    ("cache_creation_tokens", GenAI.USAGE_CACHE_WRITE_INPUT_TOKENS),
    *((field, Ours.USAGE_PREFIX + field) for field in TOKEN_FIELDS if field not in dict(_SEMCONV_NAMES)),
)
"""(``Usage`` field, span attribute) of every count: the GenAI conventions' name where they
have one (both of them for cache writes: ``cache_creation`` and the newer ``cache_write``), else
``genai_cost.usage.<field>``. Read back, a later name of the same field wins."""

_ATTRIBUTE_OF: dict[str, str] = {field: name for field, name in reversed(ATTRIBUTE_NAMES)}
"""The span attribute of each ``Usage`` field, the first of :data:`ATTRIBUTE_NAMES` (``cache_creation``
for cache writes: :meth:`Usage.to_attributes` adds ``cache_write``)."""


class _Scheme:
    """One naming scheme of usage attributes: (``Usage`` field, attribute name) pairs, in the order
    they are read (a later name of the same field wins), indexed for reading only the names present."""

    __slots__ = ("field_of", "names", "order")

    def __init__(self, pairs: tuple[tuple[str, str], ...]) -> None:
        self.names = frozenset(name for _, name in pairs)
        self.field_of = {name: field for field, name in pairs}
        self.order = {name: index for index, (_, name) in enumerate(pairs)}

    def read(self, attributes: Mapping[str, Any]) -> dict[str, int]:
        """``{field: count}`` of this scheme's attributes that hold a count."""
        present = self.names.intersection(attributes)  # one pass over the span's keys
        counts = {}
        for name in sorted(present, key=self.order.__getitem__) if len(present) > 1 else present:
            value = attributes[name]
            if type(value) is int and 0 <= value <= MAX_COUNT:  # token_count's usual case, without the call
                counts[self.field_of[name]] = value
            elif (count := token_count(value)) is not None:
                counts[self.field_of[name]] = count
        return counts


# Naming schemes in order of precedence: the first scheme with any count reported is read alone.
_SCHEMES: tuple[_Scheme, ...] = (
    _Scheme(ATTRIBUTE_NAMES),
    _Scheme(
        (
            ("input_tokens", Legacy.USAGE_PROMPT_TOKENS),
            ("output_tokens", Legacy.USAGE_COMPLETION_TOKENS),
        )
    ),
    _Scheme(
        (
            ("input_tokens", OpenInference.TOKEN_COUNT_PROMPT),
            ("output_tokens", OpenInference.TOKEN_COUNT_COMPLETION),
            ("cache_read_tokens", OpenInference.TOKEN_COUNT_PROMPT_CACHE_READ),
            ("cache_creation_tokens", OpenInference.TOKEN_COUNT_PROMPT_CACHE_WRITE),
            ("input_audio_tokens", OpenInference.TOKEN_COUNT_PROMPT_AUDIO),
            ("reasoning_tokens", OpenInference.TOKEN_COUNT_COMPLETION_REASONING),
            ("output_audio_tokens", OpenInference.TOKEN_COUNT_COMPLETION_AUDIO),
        )
    ),
)


def usage_from_attributes(attributes: Mapping[str, Any]) -> Usage | None:
    """Read token usage written by any known instrumentation; ``None`` when there is none.

    Understands the current semconv names, the older ``prompt_tokens``/``completion_tokens``
    pair, and OpenInference's ``llm.token_count.*``. A value that is not a count by
    :func:`token_count` is ignored.
    """
    for scheme in _SCHEMES:
        counts = scheme.read(attributes)
        if counts:
            return _usage_of(counts)
    return None


def _usage_of(counts: dict[str, int]) -> Usage:
    """``Usage(**counts)`` for counts a scheme read (keyed by ``Usage`` fields, valid counts):
    the fields set at once, as ``Usage.__init__`` sets them, without its keyword checks."""
    usage = object.__new__(Usage)
    usage.__dict__.update(counts)
    return usage
