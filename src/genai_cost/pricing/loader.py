"""Pricing files (JSON or TOML) -> validated price entries of one layer.

File shape: ``{"entries": [...]}`` in JSON, ``[[entries]]`` tables in TOML, plus optional
header fields (``generated_by``, ``generated_at``, ``source``, ``license``, ``notes``). Within
one layer, ids are unique and no two entries may claim the same names with the same
specificity, provider and ``valid_from`` (identical exact names, prefixes or regexes).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from genai_cost.pricing.errors import PricingError
from genai_cost.pricing.schema import PriceEntry, parse_entry

__all__ = [
    "HEADER_FIELDS",
    "check_layer",
    "decode_document",
    "dump_table",
    "header_of",
    "load_file",
    "parse_document",
    "read_document",
    "split_table",
]

HEADER_FIELDS = frozenset({"generated_by", "generated_at", "source", "license", "notes", "hosts"})
"""Top-level fields allowed next to ``entries``; informative only, except the bundled table's
``hosts`` (read by :mod:`genai_cost.pricing.hosts`)."""


def load_file(path: str | os.PathLike[str], *, check_regex: bool = True) -> list[PriceEntry]:
    """Read, parse and validate one pricing file."""
    source = os.fspath(path)
    return parse_document(read_document(source), source=source, check_regex=check_regex)


def read_document(path: str | os.PathLike[str]) -> Any:
    """The decoded file: TOML for ``*.toml``, JSON otherwise."""
    source = os.fspath(path)
    try:
        with open(source, "rb") as file:
            data = file.read()
    except OSError as exc:
        raise PricingError(f"cannot read file: {exc.strerror or exc}", source=source) from None
    return decode_document(data, source=source)


def decode_document(data: bytes, *, source: str) -> Any:
    """Decoded bytes of a pricing document from ``source``: TOML for ``*.toml``, JSON otherwise."""
    if source.lower().endswith(".toml"):
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - exercised on Python 3.10 only
            import tomli as tomllib
        try:
            return tomllib.loads(data.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise PricingError(f"malformed TOML: {exc}", source=source) from None
    try:
        return json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PricingError(f"malformed JSON: {exc}", source=source) from None


def parse_document(document: object, *, source: str, check_regex: bool = True) -> list[PriceEntry]:
    """Validate a decoded pricing document into the entries of one layer."""
    if not isinstance(document, Mapping):
        raise PricingError("expected an object with an 'entries' list", source=source)
    for key in document:
        if key != "entries" and key not in HEADER_FIELDS:
            raise PricingError("unknown top-level field", source=source, field=key)
    raw_entries = document.get("entries")
    if not isinstance(raw_entries, list):
        raise PricingError("required: a list of entries", source=source, field="entries")
    return check_layer(raw_entries, source=source, check_regex=check_regex)


def check_layer(raw_entries: Iterable[object], *, source: str, check_regex: bool = True) -> list[PriceEntry]:
    """Parse entries (objects or :class:`PriceEntry`) and check ids and overlaps in the layer."""
    entries: list[PriceEntry] = []
    problems: list[PricingError] = []  # every bad entry is reported, not only the first
    ids: set[str] = set()
    claims: dict[tuple[object, ...], str] = {}
    for position, raw in enumerate(raw_entries):
        try:
            entry = parse_entry(raw, position=position, check_regex=check_regex)
        except PricingError as exc:
            problems.append(exc.located(source=source))
            continue
        if entry.id in ids:
            problems.append(PricingError("duplicate id in the same file", source=source, entry=entry.id, field="id"))
            continue
        ids.add(entry.id)
        for leaf in set(entry.match.leaves()):
            claim = (entry.provider, entry.valid_from, leaf)  # leaves are equal by kind and value
            other = claims.setdefault(claim, entry.id)
            if other != entry.id:
                problems.append(
                    PricingError(
                        f"{leaf.to_json()} overlaps entry '{other}' (same provider, specificity and "
                        "valid_from); merge them or give one a different valid_from",
                        source=source,
                        entry=entry.id,
                        field="match",
                    )
                )
        entries.append(entry)
    if problems:
        raise PricingError.of(problems)
    return entries


# --- the layout of generated tables ---------------------------------------------------------

_ENTRIES_OPEN = '"entries":[\n'
_HEAD = b'{"provider":"'
_TAIL = b"\n]}\n"


def dump_table(header: Mapping[str, Any], entries: Iterable[Mapping[str, Any]]) -> str:
    """A table as JSON text: one entry per line, grouped by provider, provider key first.

    Still a plain pricing file; the layout lets :func:`split_table` cut it into one block per
    provider without decoding it, so a lookup decodes only the providers it searches.
    Entries without a provider come first; providers keep their order of first appearance.
    """
    groups: dict[str | None, list[str]] = {None: []}
    for entry in entries:
        provider = entry.get("provider")
        line = _compact(entry if provider is None else {"provider": provider, **entry})
        groups.setdefault(provider, []).append(line)
    lines = [line for group in groups.values() for line in group]
    return _compact(header)[:-1] + ",\n" + _ENTRIES_OPEN + ",\n".join(lines) + "\n]}\n"


def header_of(first_line: bytes) -> dict[str, Any]:
    """The header fields of a generated table, from its first line (see :func:`dump_table`)."""
    header: dict[str, Any] = json.loads(first_line.rstrip().removesuffix(b",") + b"}")
    return header


def split_table(data: bytes) -> dict[str | None, bytes] | None:
    """Per provider, its entries as an undecoded JSON array; ``None`` if not in that layout."""
    _, found, body = data.partition(_ENTRIES_OPEN.encode())
    if not found or not body.endswith(_TAIL):
        return None
    body = body[: -len(_TAIL)]
    blocks: dict[str | None, bytes] = {}
    start = 0
    while start < len(body):
        provider: str | None = None
        if body.startswith(_HEAD, start):
            name = body[start + len(_HEAD) : body.index(b'"', start + len(_HEAD))]
            provider = name.decode()
            last = body.rfind(b"\n" + _HEAD + name + b'"', start)
            end = body.find(b",\n", start if last < 0 else last)
        else:
            following = body.find(b"\n" + _HEAD, start)
            end = following - 1 if following >= 0 else -1
        end = len(body) if end < 0 else end
        if provider in blocks:
            return None
        blocks[provider] = b"[" + body[start:end] + b"]"
        start = end + 2
    return blocks


def _compact(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
