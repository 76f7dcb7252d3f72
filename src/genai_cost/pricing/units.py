"""What a price can be per: token types and non-token units, and how their counts overlap.

Each unit is described by dimensions, as genai-prices describes its own (the data we generate
from): ``{"family": "tokens", "direction": "input", "token_type": "cache_read"}`` is cached
input, ``{..., "modality": "audio", "token_type": "cache_read"}`` cached audio input. A unit
whose dimensions include another's counts a subset of it: cached audio is part of cached input
*and* of audio input. Pricing charges every count at the most specific unit the entry prices
(:func:`genai_cost.pricing.calculate.calculate`), so a token is charged once whatever overlaps.

An entry names a price by where it sits in the file: ``input``/``output`` (the base prices),
``input_breakdown.<type>``, ``output_breakdown.<type>`` (per 1M tokens), or ``units.<key>`` for
the non-token units, whose keys say what the price is per (``web_searches_kcount``: per 1,000
web searches, ``audio_hours``: per hour of audio), as in genai-prices.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

__all__ = ["INPUT_TYPES", "OUTPUT_TYPES", "UNITS", "UNIT_KEYS", "Unit", "is_part_of", "joins"]


class Unit(NamedTuple):
    """Something a price is per."""

    key: str
    """Name in the cost breakdown (``genai_cost.cost.<key>``)."""
    usage_field: str
    """The :class:`~genai_cost.usage.Usage` field holding its count."""
    section: str
    """Where its price sits in an entry: ``input``, ``output``, ``input_breakdown``,
    ``output_breakdown`` or ``units``."""
    price_key: str
    """Its key in that section (``""`` for the base prices)."""
    per: int
    """How many of it the price is for (1M tokens, 1,000 searches, 3,600 seconds)."""
    dimensions: Mapping[str, str]
    """What it counts; a unit with more dimensions counts a subset."""
    per_label: str = "per 1M tokens"
    """What the price is per, for people."""

    @property
    def path(self) -> str:
        """Where its price sits in an entry, as errors and listings name it (``input_breakdown.audio``)."""
        return f"{self.section}.{self.price_key}" if self.price_key else self.section

    @property
    def side(self) -> str | None:
        """``"input"`` or ``"output"``: the subtotal its cost belongs to (``None``: neither)."""
        return self.dimensions.get("direction")


def _tokens(key: str, usage_field: str, section: str, price_key: str, **dimensions: str) -> Unit:
    direction = "input" if section.startswith("input") else "output"
    return Unit(
        key,
        usage_field,
        section,
        price_key,
        1_000_000,
        MappingProxyType({"family": "tokens", "direction": direction, **dimensions}),
    )


def _unit(key: str, usage_field: str, price_key: str, per: int, per_label: str, **dimensions: str) -> Unit:
    return Unit(key, usage_field, "units", price_key, per, MappingProxyType(dimensions), per_label)


UNITS: tuple[Unit, ...] = (
    _tokens("input", "input_tokens", "input", ""),
    _tokens("cache_read", "cache_read_tokens", "input_breakdown", "cache_read", token_type="cache_read"),
    _tokens("cache_creation", "cache_creation_tokens", "input_breakdown", "cache_creation", token_type="cache_write"),
    _tokens(
        "cache_creation_5m",
        "cache_creation_5m_tokens",
        "input_breakdown",
        "cache_creation_5m",
        token_type="cache_write",
        cache_ttl="5m",
    ),
    _tokens(
        "cache_creation_1h",
        "cache_creation_1h_tokens",
        "input_breakdown",
        "cache_creation_1h",
        token_type="cache_write",
        cache_ttl="1h",
    ),
    _tokens("input_text", "input_text_tokens", "input_breakdown", "text", modality="text"),
    _tokens("input_audio", "input_audio_tokens", "input_breakdown", "audio", modality="audio"),
    _tokens("input_image", "input_image_tokens", "input_breakdown", "image", modality="image"),
    _tokens("input_video", "input_video_tokens", "input_breakdown", "video", modality="video"),
    _tokens(
        "cache_audio_read",
        "cache_audio_read_tokens",
        "input_breakdown",
        "cache_audio_read",
        modality="audio",
        token_type="cache_read",
    ),
    _tokens(
        "cache_image_read",
        "cache_image_read_tokens",
        "input_breakdown",
        "cache_image_read",
        modality="image",
        token_type="cache_read",
    ),
    _tokens("output", "output_tokens", "output", ""),
    _tokens("reasoning", "reasoning_tokens", "output_breakdown", "reasoning", token_type="reasoning"),
    _tokens("output_audio", "output_audio_tokens", "output_breakdown", "audio", modality="audio"),
    _tokens("output_image", "output_image_tokens", "output_breakdown", "image", modality="image"),
    _tokens("output_video", "output_video_tokens", "output_breakdown", "video", modality="video"),
    _tokens("citation", "citation_tokens", "output_breakdown", "citation", token_type="citation"),
    _unit(
        "web_search",
        "web_searches",
        "web_searches_kcount",
        1_000,
        "per 1K web searches",
        family="tool_calls",
        tool_type="web_search",
    ),
    _unit(
        "storage_search",
        "storage_searches",
        "storage_searches_kcount",
        1_000,
        "per 1K file searches",
        family="tool_calls",
        tool_type="storage_search",
    ),
    _unit(
        "audio_seconds",
        "audio_seconds",
        "audio_hours",
        3_600,
        "per hour of audio",
        family="durations",
        modality="audio",
    ),
    _unit(
        "input_audio_seconds",
        "input_audio_seconds",
        "input_audio_hours",
        3_600,
        "per hour of input audio",
        family="durations",
        direction="input",
        modality="audio",
    ),
    _unit(
        "input_characters",
        "input_characters",
        "input_mchars",
        1_000_000,
        "per 1M characters",
        family="characters",
        direction="input",
    ),
    _unit(
        "document_pages",
        "input_document_pages",
        "input_document_kpages",
        1_000,
        "per 1K pages",
        family="document_pages",
        direction="input",
    ),
    _unit(
        "annotated_document_pages",
        "input_annotated_document_pages",
        "input_annotated_document_kpages",
        1_000,
        "per 1K annotated pages",
        family="document_pages",
        direction="input",
        page_type="annotated",
    ),
    _unit(
        "text_messages",
        "input_text_messages",
        "input_text_messages_kcount",
        1_000,
        "per 1K messages",
        family="messages",
        direction="input",
        modality="text",
    ),
)
"""Every unit a price can be per."""


def _keys(section: str) -> frozenset[str]:
    return frozenset(unit.price_key for unit in UNITS if unit.section == section)


INPUT_TYPES = _keys("input_breakdown")
"""Token types ``input_breakdown`` can price."""
OUTPUT_TYPES = _keys("output_breakdown")
"""Token types ``output_breakdown`` can price."""
UNIT_KEYS = _keys("units")
"""Keys ``units`` can price."""


def is_part_of(part: Unit, whole: Unit) -> bool:
    """Whether ``part`` counts a subset of what ``whole`` counts (a unit is not part of itself)."""
    return part is not whole and whole.dimensions.items() <= part.dimensions.items()


_BY_DIMENSIONS = {frozenset(unit.dimensions.items()): unit for unit in UNITS}


def joins(priced: list[Unit]) -> list[tuple[Unit, Unit, Unit]]:
    """(a, b, join) for each pair of priced units that overlap without one containing the other
    (cached input and audio input) and whose overlap is a unit (cached audio) that is not priced.

    Such a price set cannot tell what an overlapping token costs; genai-prices refuses it too.
    """
    missing = []
    for i, a in enumerate(priced):
        for b in priced[i + 1 :]:
            if is_part_of(a, b) or is_part_of(b, a) or not _compatible(a, b):
                continue
            join = _BY_DIMENSIONS.get(frozenset(a.dimensions.items() | b.dimensions.items()))
            if join is not None and join not in priced:
                missing.append((a, b, join))
    return missing


def _compatible(a: Unit, b: Unit) -> bool:
    return all(b.dimensions.get(key, value) == value for key, value in a.dimensions.items())
