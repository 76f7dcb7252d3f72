"""Request-context, time-of-day, modality and unit prices: our cost == genai-prices'
``calc_price(..., price_context=...)``.

Every genai-prices model (of the providers we map) with price variants, time-of-day prices, or a
price for something other than plain input/output/cache tokens (audio, images, cached audio, web
searches, hours of audio, pages, ...) is checked, for each context its variants name (and
without one), at instants before, on and after each variant's start date and at several times
of day, with random usage mixes that report every count (cache reads and writes with their TTLs,
every modality, cached audio and images, reasoning, citations, web and file searches, seconds of
audio, characters, pages, messages; large prompts that cross tiers). Nothing is sampled away:
the counts printed are the whole population.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from genai_cost.pricing import PricingTable
from genai_cost.usage import Usage

genai_prices = pytest.importorskip("genai_prices")
from genai_prices import data as gp_data  # noqa: E402

from genai_cost.pricing.sync import PROVIDER_MAP  # noqa: E402

LATE = datetime(2026, 12, 1, 18, 0, tzinfo=timezone.utc)
USAGES_PER_CONTEXT = 3


def _first_name(clause: Any) -> str | None:
    kind = type(clause).__name__
    if kind == "ClauseEquals":
        return str(clause.equals)
    if kind == "ClauseStartsWith":
        return str(clause.starts_with)
    if kind == "ClauseOr":
        return next((name for sub in clause.or_ if (name := _first_name(sub))), None)
    return None


HOURS = (0, 2, 5, 8, 12, 17, 23)
"""Times of day (UTC) each instant is tried at: inside and outside every bundled window."""


def _windows(model: Any) -> list[Any]:
    conditional = model.prices if isinstance(model.prices, list) else ()
    return [cp.constraint for cp in conditional if type(cp.constraint).__name__ == "TimeOfDateConstraint"]


def _instants(model: Any) -> list[datetime]:
    starts = {v.constraint.start_date for v in model.price_variants or () if v.constraint is not None}
    days = {LATE}
    for start in starts:
        midday = datetime.combine(start, time(12), tzinfo=timezone.utc)
        days |= {midday - timedelta(days=1), midday}
    hours = HOURS if _windows(model) else (12,)
    return sorted(day.replace(hour=hour, minute=15) for day in days for hour in hours)


def _usage(rng: random.Random) -> dict[str, int]:
    """A random usage in genai-prices' keys, every count consistent with the ones containing it."""
    total = rng.choice((1, 1_000, 150_000, 250_000))
    audio, image, video = (rng.randint(0, total // 8) for _ in range(3))
    cache_read = rng.randint(0, total // 4)
    cached_audio = rng.randint(0, min(audio, cache_read))
    cached_image = rng.randint(0, min(image, cache_read - cached_audio))
    cache_5m, cache_1h = rng.randint(0, total // 8), rng.randint(0, total // 8)
    uncached_other = cache_read - cached_audio - cached_image + cache_5m + cache_1h
    text = rng.randint(0, max(total - audio - image - video - uncached_other, 0))
    output = rng.choice((0, 7, 2_000, 90_000))
    seconds, pages = rng.randint(0, 7_200), rng.randint(0, 40)
    return {
        "input_tokens": total,
        "cache_read_tokens": cache_read,
        "cache_write_tokens": cache_5m + cache_1h,
        "cache_write_5m_tokens": cache_5m,
        "cache_write_1h_tokens": cache_1h,
        "input_audio_tokens": audio,
        "input_image_tokens": image,
        "input_video_tokens": video,
        "input_text_tokens": text,
        "cache_audio_read_tokens": cached_audio,
        "cache_image_read_tokens": cached_image,
        "output_tokens": output,
        "output_reasoning_tokens": rng.randint(0, output // 2),
        "output_audio_tokens": rng.randint(0, output // 8),
        "output_image_tokens": rng.randint(0, output // 8),
        "output_video_tokens": rng.randint(0, output // 8),
        "output_citation_tokens": rng.randint(0, output // 8),
        "web_searches": rng.randint(0, 5),
        "storage_searches": rng.randint(0, 5),
        "audio_seconds": seconds,
        "input_audio_seconds": rng.randint(0, seconds),
        "input_characters": rng.randint(0, 50_000),
        "input_document_pages": pages,
        "input_annotated_document_pages": rng.randint(0, pages),
        "input_text_messages": rng.randint(0, 30),
    }


_OUR_NAMES = {
    "cache_write_tokens": "cache_creation_tokens",
    "cache_write_5m_tokens": "cache_creation_5m_tokens",
    "cache_write_1h_tokens": "cache_creation_1h_tokens",
    "output_reasoning_tokens": "reasoning_tokens",
    "output_citation_tokens": "citation_tokens",
}


def _ours(usage: dict[str, int]) -> Usage:
    return Usage(**{_OUR_NAMES.get(key, key): value for key, value in usage.items()})


_PLAIN_KEYS = frozenset({"input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok", "requests_kcount"})


def _has_other_prices(model: Any) -> bool:
    """Whether the model prices anything beyond plain input, output, cache and requests."""
    conditional = model.prices if isinstance(model.prices, list) else [model.prices]
    price_sets = [getattr(cp, "prices", cp) for cp in conditional]
    return any(
        value is not None and not key.startswith("_") and key not in _PLAIN_KEYS
        for prices in price_sets
        for key, value in vars(prices).items()
    )


def _time_of_day_active(model: Any, at: datetime) -> bool:
    conditional = model.prices if isinstance(model.prices, list) else ()
    return any(
        type(cp.constraint).__name__ == "TimeOfDateConstraint" and cp.constraint.active(at) for cp in conditional
    )


def test_variant_costs_equal_genai_prices() -> None:
    table = PricingTable.load()
    rng = random.Random(20261204)
    entries, contexts, in_windows, compared, mismatches = 0, 0, 0, 0, []
    for provider in gp_data.providers:
        if provider.id not in PROVIDER_MAP:
            continue
        for model in provider.models:
            name = _first_name(model.match)
            if not (model.price_variants or _windows(model) or _has_other_prices(model)) or name is None:
                continue
            entries += 1
            whens = {(), *(tuple(sorted(v.when.items())) for v in model.price_variants or ())}
            for when in sorted(whens):
                context = dict(when)
                contexts += 1
                for at in _instants(model):
                    in_windows += any(window.active(at) for window in _windows(model))
                    for _ in range(USAGES_PER_CONTEXT):
                        usage = _usage(rng)
                        theirs = genai_prices.calc_price(
                            genai_prices.Usage(**usage),
                            name,
                            provider_id=provider.id,
                            genai_request_timestamp=at,
                            price_context=context,
                        )
                        ours = table.cost(_ours(usage), name, PROVIDER_MAP[provider.id], at, context)
                        compared += 1
                        if ours is None or abs(ours.total - theirs.total_price) > Decimal("1e-12"):
                            mismatches.append(
                                f"{provider.id}/{name} {context} {usage} @{at:%Y-%m-%d}: "
                                f"ours {ours and ours.total}, theirs {theirs.total_price}"
                            )
    print(f"\ncrosscheck: {entries} models x {contexts} contexts (no context included), {compared} costs compared")
    print(f"instants inside a time-of-day window: {in_windows}")
    assert not mismatches, "\n".join(mismatches[:20])
    assert entries >= 100
    assert in_windows > 0
