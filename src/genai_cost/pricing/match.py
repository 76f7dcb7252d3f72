"""Match clauses: which model names a price entry applies to.

A clause is ``{"exact": ...}``, ``{"prefix": ...}``, ``{"regex": ...}`` or ``{"any": [...]}`` of
those. Values are compared with the lowercased model name. Regexes must match the whole name
(``re.fullmatch``); they are length-bounded, screened for catastrophic backtracking when they
are loaded, compiled once on first use, and never run on names longer than
:data:`MAX_NAME_LENGTH`.

Specificity, used to pick between matching entries: exact > prefix (longer first) > regex.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from genai_cost.pricing.errors import PricingError
from genai_cost.pricing.normalize import MAX_MODEL_NAME_LENGTH

__all__ = [
    "EXACT_RANK",
    "MAX_NAME_LENGTH",
    "MAX_PATTERN_LENGTH",
    "MAX_REGEX_WORK",
    "PREFIX_RANK",
    "REGEX_RANK",
    "AnyOf",
    "Clause",
    "Exact",
    "Leaf",
    "Literals",
    "Prefix",
    "Regex",
    "check_regex",
    "has_top_level_alternation",
    "parse_match",
]

MAX_NAME_LENGTH = MAX_MODEL_NAME_LENGTH
"""Regex clauses never run on model names longer than this; such names match exact/prefix only."""
MAX_PATTERN_LENGTH = 512
"""Longest regex pattern accepted in a pricing file."""
MAX_REGEX_WORK = (MAX_NAME_LENGTH + 1) ** 3
"""Most ways a pattern may split a name (see :func:`check_regex`): three ``.*`` in a row."""

EXACT_RANK = 3
"""Specificity of an exact match (highest)."""
PREFIX_RANK = 2
"""Specificity of a prefix match; longer prefixes rank higher among these."""
REGEX_RANK = 1
"""Specificity of a regex match (lowest)."""

# ``sre_parse`` warns on import since 3.11, where the same parser lives at ``re._parser`` (and
# ``sre_compile``'s compiler at ``re._compiler``).
_parser: Any = importlib.import_module("re._parser" if sys.version_info >= (3, 11) else "sre_parse")
_compiler: Any = importlib.import_module("re._compiler" if sys.version_info >= (3, 11) else "sre_compile")
_REPEATS = frozenset({"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"})


@dataclass(frozen=True, slots=True)
class Exact:
    """Matches one model name exactly."""

    value: str
    """The lowercased model name."""

    def is_match(self, name: str) -> bool:
        return name == self.value

    def leaves(self) -> Iterator[Leaf]:
        yield self

    def to_json(self) -> dict[str, Any]:
        return {"exact": self.value}


@dataclass(frozen=True, slots=True)
class Prefix:
    """Matches every model name that starts with a prefix."""

    value: str
    """The lowercased prefix."""

    def is_match(self, name: str) -> bool:
        return name.startswith(self.value)

    def leaves(self) -> Iterator[Leaf]:
        yield self

    def to_json(self) -> dict[str, Any]:
        return {"prefix": self.value}


@dataclass(frozen=True, slots=True)
class Regex:
    """Matches model names against an anchored, case-insensitive regular expression."""

    pattern: str
    """The pattern, matched against the lowercased name."""
    _compiled: list[re.Pattern[str]] = field(default_factory=list, compare=False, repr=False)
    _literals: list[Literals] = field(default_factory=list, compare=False, repr=False)

    def is_match(self, name: str) -> bool:
        if len(name) > MAX_NAME_LENGTH:
            return False
        if not self._compiled:
            self._compiled.append(re.compile(self.pattern, re.IGNORECASE))
        return self._compiled[0].fullmatch(name) is not None

    def literals(self) -> Literals:
        """The texts every name this regex matches starts with and contains.

        ``claude-\\d+`` starts with ``claude-``, ``.*amazon\\.nova.*`` contains ``amazon.nova``:
        the pricing table files regexes by them, so a lookup runs only the regexes that can match.
        """
        if not self._literals:
            try:
                items = _parser.parse(self.pattern)
            except (re.error, RecursionError, OverflowError):  # unscreened: is_match will raise it
                items = []
            self._literals.append(_literals_of(items))
        return self._literals[0]

    def leaves(self) -> Iterator[Leaf]:
        yield self

    def to_json(self) -> dict[str, Any]:
        return {"regex": self.pattern}


@dataclass(frozen=True, slots=True)
class AnyOf:
    """Matches when any of its clauses matches."""

    clauses: tuple[Clause, ...]
    """The alternatives, at least one."""

    def is_match(self, name: str) -> bool:
        return any(clause.is_match(name) for clause in self.clauses)

    def leaves(self) -> Iterator[Leaf]:
        for clause in self.clauses:
            yield from clause.leaves()

    def to_json(self) -> dict[str, Any]:
        return {"any": [clause.to_json() for clause in self.clauses]}


class Literals(NamedTuple):
    """Lowercase ASCII texts that every name a regex matches contains."""

    leading: str
    """What every match starts with (may be empty)."""
    inner: tuple[str, ...]
    """Texts every match contains somewhere (``leading`` among them when not empty)."""


Leaf = Exact | Prefix | Regex
Clause = Exact | Prefix | Regex | AnyOf


def parse_match(raw: object, *, field: str = "match", check: bool = True) -> Clause:
    """Build a clause from its JSON form; ``check=False`` skips the regex screening."""
    if not isinstance(raw, dict) or len(raw) != 1:
        raise PricingError("expected an object with exactly one of 'exact', 'prefix', 'regex', 'any'", field=field)
    ((kind, value),) = raw.items()
    if kind == "any":
        if not isinstance(value, list) or not value:
            raise PricingError("expected a non-empty list of clauses", field=f"{field}.any")
        return AnyOf(tuple(parse_match(item, field=f"{field}.any[{i}]", check=check) for i, item in enumerate(value)))
    if kind not in ("exact", "prefix", "regex"):
        raise PricingError(f"unknown clause {kind!r}: expected 'exact', 'prefix', 'regex' or 'any'", field=field)
    if not isinstance(value, str) or not value:
        raise PricingError("expected a non-empty string", field=f"{field}.{kind}")
    if kind == "exact":
        return Exact(value.lower())
    if kind == "prefix":
        return Prefix(value.lower())
    if check:  # the screening's parse also gives the texts the table files the regex by
        return Regex(value, _literals=[_literals_of(_screen(value, field=f"{field}.regex"))])
    return Regex(value)


def check_regex(pattern: str, *, field: str = "match.regex") -> None:
    """Reject patterns that are too long, invalid, or prone to catastrophic backtracking.

    The screen is structural. Inside a repeat that can run more than once (``*``, ``+``,
    ``{2,}``, ``{12}``) only fixed-length, unambiguous bodies are accepted: no variable repeat,
    like ``(a+)+``, ``(.*a){12}`` or ``(a?a?)*``, and no alternation, like ``(a|aa)*``. Two
    unbounded repeats side by side, like ``\\d+\\d*``, are refused, and so is a pattern with
    more than :data:`MAX_REGEX_WORK` ways to split a name, like ``.*a.*a.*a.*a`` (its work
    grows as the name length to the fourth power). It is a heuristic: together with
    :data:`MAX_NAME_LENGTH` it bounds the work a pattern from a pricing file can cause.
    """
    _screen(pattern, field=field)


def _screen(pattern: str, *, field: str) -> list[Any]:
    """:func:`check_regex`, returning the parsed pattern."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PricingError(f"pattern longer than {MAX_PATTERN_LENGTH} characters", field=field)
    try:
        parsed = _parser.parse(pattern)
        _compiler.compile(parsed)  # the compiler's own checks (look-behinds), without parsing again
    except (re.error, RecursionError, OverflowError) as exc:
        raise PricingError(f"invalid regular expression: {exc}", field=field) from None
    items = list(parsed)
    problem = _backtracking_problem(items, inside_repeat=False)
    if problem is None:
        lookarounds: list[int] = []
        work = _work(items, lookarounds)
        if max(work, *lookarounds, 0) > MAX_REGEX_WORK:
            problem = "too many ways to split a name, like four unbounded quantifiers in a row"
    if problem:
        raise PricingError(
            f"regular expression {pattern!r} may backtrack catastrophically ({problem})",
            field=field,
        )
    return items


def has_top_level_alternation(pattern: str) -> bool:
    """True for patterns like ``a|b`` whose outermost level is an alternation."""
    return any(op.name == "BRANCH" for op, _ in _parser.parse(pattern))


def _is_unbounded(op: Any, av: Any) -> bool:
    return op.name in _REPEATS and av[1] == _parser.MAXREPEAT


def _children(op: Any, av: Any) -> list[list[Any]]:
    """The sub-sequences of one parsed regex item."""
    name = op.name
    if name in _REPEATS:
        return [list(av[2])]
    if name == "SUBPATTERN":
        return [list(av[3])]
    if name == "BRANCH":
        return [list(branch) for branch in av[1]]
    if name in ("ASSERT", "ASSERT_NOT"):
        return [list(av[1])]
    if name == "ATOMIC_GROUP":
        return [list(av)]
    if name == "GROUPREF_EXISTS":
        return [list(branch) for branch in av[1:] if branch is not None]
    return []


def _repeats(op: Any, av: Any) -> bool:
    """A repeat whose body can run more than once."""
    return op.name in _REPEATS and av[1] > 1


def _work(items: list[Any], lookarounds: list[int]) -> int:
    """How many ways a sequence can split a name, at most: the product of its choices.

    A variable repeat offers ``max - min + 1`` lengths (capped at :data:`MAX_NAME_LENGTH`),
    an alternation the sum of its branches. A lookaround's body is matched on its own and is
    appended to ``lookarounds`` instead.
    """
    total = 1
    for op, av in items:
        name = op.name
        if name in _REPEATS:
            lengths = min(av[1], MAX_NAME_LENGTH) - min(av[0], MAX_NAME_LENGTH) + 1
            total *= lengths * _work(list(av[2]), lookarounds)
        elif name in ("BRANCH", "GROUPREF_EXISTS"):
            total *= sum(_work(child, lookarounds) for child in _children(op, av))
        elif name in ("ASSERT", "ASSERT_NOT"):
            lookarounds.append(_work(list(av[1]), lookarounds))
        else:
            for child in _children(op, av):
                total *= _work(child, lookarounds)
    return total


def _backtracking_problem(items: list[Any], *, inside_repeat: bool) -> str | None:
    previous_unbounded = False
    for op, av in items:
        unbounded = _is_unbounded(op, av)
        if inside_repeat and op.name in _REPEATS and av[0] != av[1]:
            return "nested unbounded quantifiers" if unbounded else "variable repeat inside a repeat"
        if inside_repeat and op.name in ("BRANCH", "GROUPREF_EXISTS"):
            return "alternation inside a repeated group"
        if unbounded and previous_unbounded:
            return "adjacent unbounded quantifiers"
        for child in _children(op, av):
            problem = _backtracking_problem(child, inside_repeat=inside_repeat or _repeats(op, av))
            if problem:
                return problem
        previous_unbounded = unbounded or (previous_unbounded and _is_transparent(op, av))
    return None


def _literals_of(items: Any) -> Literals:
    leading: list[str] = []
    for op, av in items:
        if op.name == "LITERAL" and av < 128:
            leading.append(chr(av).lower())
        elif leading or op.name != "AT":  # a zero-width assertion first leaves the name's start
            break
    return Literals("".join(leading), _required_texts(items))


def _required_texts(items: Any) -> tuple[str, ...]:
    """Runs of ASCII literal characters, lowercased, that every match of a parsed pattern contains.

    Besides the pattern's own sequence, the bodies of groups, of repeats that run at least once
    and of positive lookarounds are matched somewhere in the name too; alternations, optional
    parts and character sets contribute nothing. Under ``re.IGNORECASE`` an ASCII literal also
    matches dotless i, long s (U+0131, U+017F) and two letters that lowercase to ASCII (U+0130,
    the Kelvin sign U+212A): the table folds the first two before looking a name up.
    """
    texts: list[str] = []
    run: list[str] = []
    for op, av in items:
        if op.name == "LITERAL" and av < 128:
            run.append(chr(av).lower())
            continue
        if run:
            texts.append("".join(run))
            run = []
        for body in _required_bodies(op, av):
            texts.extend(_required_texts(body))
    if run:
        texts.append("".join(run))
    return tuple(texts)


def _required_bodies(op: Any, av: Any) -> list[Any]:
    """The sub-sequences of one parsed item that every match of the item matches."""
    name = op.name
    if name == "SUBPATTERN":
        return [av[3]]
    if name in _REPEATS and av[0] >= 1:
        return [av[2]]
    if name == "ASSERT":
        return [av[1]]
    if name == "ATOMIC_GROUP":
        return [av]
    return []


def _is_transparent(op: Any, av: Any) -> bool:
    """Items that consume nothing, so the repeats around them are still adjacent."""
    return bool(op.name in ("AT", "ASSERT", "ASSERT_NOT"))
