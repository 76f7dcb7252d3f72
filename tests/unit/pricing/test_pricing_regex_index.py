"""The regex index: a lookup runs only the regexes that can match, with the results of a full scan."""

from __future__ import annotations

import re
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genai_cost.pricing import PricingTable
from genai_cost.pricing.loader import check_layer
from genai_cost.pricing.match import Regex
from genai_cost.pricing.table import _CASE_FOLDS, _RegexIndex

_LETTERS = "abck-s1.\u0130\u0131\u017f\u212a"
"""Includes the four non-ASCII letters that a case-insensitive ASCII literal matches."""
_ATOMS = [
    *(re.escape(letter) for letter in _LETTERS),
    *(re.escape(letter.upper()) for letter in "abcks"),
    r"\d",
    ".",
    "[a-c]",
    "(?:ab|c)",
    "(?=ab)",
    "(?!ab)",
    "(?:abc)",
    "(?-i:abc)",
]
_QUANTIFIERS = ["", "", "", "?", "*", "+", "{2}"]

pieces = st.tuples(st.sampled_from(_ATOMS), st.sampled_from(_QUANTIFIERS)).map(
    lambda piece: piece[0] if not piece[1] else f"(?:{piece[0]}){piece[1]}"
)
patterns = st.lists(pieces, min_size=1, max_size=6).map("".join)
names = st.text(_LETTERS + "ABCKS2", max_size=10).map(str.lower)


@settings(max_examples=300, deadline=None)
@given(st.lists(patterns, min_size=1, max_size=30), st.lists(names, min_size=1, max_size=20))
def test_every_matching_regex_is_a_candidate(patterns: list[str], names: list[str]) -> None:
    regexes = [Regex(pattern) for pattern in patterns]
    index = _RegexIndex()
    index.add(regexes[: len(regexes) // 2])
    index.add(regexes[len(regexes) // 2 :])  # filed in two batches, as bundled entries are
    for name in names:
        matching = [position for position, regex in enumerate(regexes) if regex.is_match(name)]
        candidates = index.candidates(name)
        assert candidates == sorted(set(candidates))
        assert set(matching) <= set(candidates), (name, [patterns[p] for p in matching])


def _entry(number: int, pattern: str, layer_date: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": f"r{number}", "match": {"regex": pattern}, "input": 1}
    if number % 3 == 0:
        entry["provider"] = "openai"
    if layer_date is not None and number % 2 == 0:
        entry["valid_from"] = layer_date
    return entry


@settings(max_examples=150, deadline=None)
@given(st.lists(patterns, min_size=1, max_size=25, unique=True), st.lists(names, min_size=1, max_size=10))
def test_lookups_equal_a_full_scan(patterns: list[str], names: list[str]) -> None:
    layers = [
        check_layer([_entry(n, p, "2024-01-01") for n, p in enumerate(patterns)], source="a", check_regex=False),
        check_layer([_entry(n + 100, p, None) for n, p in enumerate(patterns[::2])], source="b", check_regex=False),
    ]
    indexed = PricingTable(layers)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_RegexIndex, "candidates", lambda self, name: list(range(self.size)))
        scanned = PricingTable(layers)
        expected = {
            (name, provider): scanned._candidates(name, provider) for name in names for provider in (None, "openai")
        }
    assert {key: indexed._candidates(*key) for key in expected} == expected


def test_required_texts() -> None:
    assert Regex(r"claude-opus-5[-@]\d{8}").required_texts() == ("claude-opus-5",)
    assert Regex(r".*amazon\.nova\-lite.*").required_texts() == ("amazon.nova-lite",)
    assert Regex(r"(?=(?:gemini\-3\.8\-flash.*)\Z)(?=(?:(?!.*-tts).*)\Z).*").required_texts() == ("gemini-3.8-flash",)
    assert Regex(r"GPT-(?:4o)+(-mini)?|o1").required_texts() == ()
    assert Regex(r"x(ab|c)?y").required_texts() == ("x", "y")


def test_case_folds_cover_every_letter_matching_ascii_case_insensitively() -> None:
    ascii_letter = re.compile(r"[\x00-\x7f]", re.IGNORECASE)
    folds: dict[str, str] = {}
    for code in range(128, sys.maxunicode + 1):
        lowered = chr(code).lower()
        if not lowered.isascii() and len(lowered) == 1 and ascii_letter.fullmatch(lowered):
            folds[lowered] = next(a for a in map(chr, range(128)) if re.fullmatch(re.escape(a), lowered, re.I))
    assert {chr(code): fold for code, fold in _CASE_FOLDS.items()} == {k: v.lower() for k, v in folds.items()}
