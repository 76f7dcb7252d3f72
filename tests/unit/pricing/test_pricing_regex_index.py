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
_MATCHED_BY = {
    **{re.escape(letter): [letter, letter.upper()] for letter in _LETTERS},
    "k": ["k", "\u212a"],
    "s": ["s", "S", "\u017f"],
    "i": ["i", "\u0130", "\u0131"],
    "B": ["b"],
    r"\d": ["0", "7"],
    ".": ["a", "."],
    "[a-c]": ["a", "c"],
    "(?:ab|c)": ["ab", "c"],
    "(?:abc)": ["abc", "ABC"],
}
"""Atoms of generated patterns, with texts each one matches case-insensitively."""
_ZERO_WIDTH = ["(?=ab)", "(?!ab)", "(?-i:abc)", "^"]
_REPEATS = {"": (1, 1), "?": (0, 1), "*": (0, 2), "+": (1, 2), "{2}": (2, 2)}


@st.composite
def matched(draw: st.DrawFn) -> tuple[str, str]:
    """A pattern and a name it (most often) matches, built atom by atom."""
    pattern, name = [], []
    for _ in range(draw(st.integers(1, 6))):
        if draw(st.integers(0, 9)) == 0:
            pattern.append(draw(st.sampled_from(_ZERO_WIDTH)))
            continue
        atom = draw(st.sampled_from(sorted(_MATCHED_BY)))
        quantifier = draw(st.sampled_from(sorted(_REPEATS)))
        pattern.append(f"(?:{atom}){quantifier}" if quantifier else atom)
        low, high = _REPEATS[quantifier]
        name += [draw(st.sampled_from(_MATCHED_BY[atom])) for _ in range(draw(st.integers(low, high)))]
    return "".join(pattern), "".join(name).lower()


@settings(max_examples=400, deadline=None)
@given(st.lists(matched(), min_size=1, max_size=30), st.lists(st.text(_LETTERS + "ABCKS2", max_size=10)))
def test_every_matching_regex_is_a_candidate(pairs: list[tuple[str, str]], others: list[str]) -> None:
    regexes = [Regex(pattern) for pattern, _ in pairs]
    index = _RegexIndex()
    index.add(regexes[: len(regexes) // 2])
    index.add(regexes[len(regexes) // 2 :])  # filed in two batches, as bundled entries are
    for name in [*(name for _, name in pairs), *(other.lower() for other in others)]:
        matching = [position for position, regex in enumerate(regexes) if regex.is_match(name)]
        candidates = index.candidates(name)
        assert candidates == sorted(set(candidates))
        assert set(matching) <= set(candidates), (name, [pairs[p][0] for p in matching])


def _entry(number: int, pattern: str, layer_date: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": f"r{number}", "match": {"regex": pattern}, "input": 1}
    if number % 3 == 0:
        entry["provider"] = "openai"
    if layer_date is not None and number % 2 == 0:
        entry["valid_from"] = layer_date
    return entry


@settings(max_examples=150, deadline=None)
@given(st.lists(matched(), min_size=1, max_size=25, unique_by=lambda pair: pair[0]))
def test_lookups_equal_a_full_scan(pairs: list[tuple[str, str]]) -> None:
    patterns = [pattern for pattern, _ in pairs]
    names = [name for _, name in pairs]
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


@pytest.mark.parametrize(
    ("pattern", "leading", "inner"),
    [
        pytest.param(r"claude-opus-5[-@]\d{8}", "claude-opus-5", ("claude-opus-5",), id="literal-start"),
        pytest.param(r"^\bGPT-4o", "gpt-4o", ("gpt-4o",), id="after-zero-width-start"),
        pytest.param(r".*amazon\.nova\-lite.*", "", ("amazon.nova-lite",), id="contained"),
        pytest.param(
            r"(?=(?:gemini\-3\.8\-flash.*)\Z)(?=(?:(?!.*-tts).*)\Z).*", "", ("gemini-3.8-flash",), id="lookahead"
        ),
        pytest.param(r"GPT-(?:4o)+(-mini)?|o1", "", (), id="top-level-alternation"),
        pytest.param(r"x(ab|c)?y(?:zz)+", "x", ("x", "y", "zz"), id="optional-and-repeated-parts"),
    ],
)
def test_literals(pattern: str, leading: str, inner: tuple[str, ...]) -> None:
    assert Regex(pattern).literals() == (leading, inner)


def test_case_folds_cover_every_letter_matching_ascii_case_insensitively() -> None:
    ascii_letter = re.compile(r"[\x00-\x7f]", re.IGNORECASE)
    folds: dict[str, str] = {}
    for code in range(128, sys.maxunicode + 1):
        lowered = chr(code).lower()
        if not lowered.isascii() and len(lowered) == 1 and ascii_letter.fullmatch(lowered):
            folds[lowered] = next(a for a in map(chr, range(128)) if re.fullmatch(re.escape(a), lowered, re.I))
    assert {chr(code): fold for code, fold in _CASE_FOLDS.items()} == {k: v.lower() for k, v in folds.items()}
