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
    "dump_table",
    "load_file",
    "parse_document",
    "read_document",
    "split_table",
]

HEADER_FIELDS = frozenset({"generated_by", "generated_at", "source", "license", "notes"})
"""Top-level fields allowed next to ``entries``; informative only."""


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
    ids: set[str] = set()
    claims: dict[tuple[object, ...], str] = {}
    for position, raw in enumerate(raw_entries):
        try:
            entry = parse_entry(raw, position=position, check_regex=check_regex)
        except PricingError as exc:
            raise exc.located(source=source) from None
        if entry.id in ids:
            raise PricingError("duplicate id in the same file", source=source, entry=entry.id, field="id")
        ids.add(entry.id)
        for leaf in set(entry.match.leaves()):
            claim = (entry.provider, entry.valid_from, json.dumps(leaf.to_json()))
            other = claims.setdefault(claim, entry.id)
            if other != entry.id:
                raise PricingError(
                    f"{leaf.to_json()} overlaps entry '{other}' (same provider, specificity and "
                    "valid_from); merge them or give one a different valid_from",
                    source=source,
                    entry=entry.id,
                    field="match",
                )
        entries.append(entry)
    return entries


# --- the one-entry-per-line layout of generated tables ---------------------------------------

_ENTRIES_OPEN = '"entries":[\n'
_PROVIDER_HEAD = b'{"provider":"'
_TAIL = b"\n]}\n"


def dump_table(header: Mapping[str, Any], entries: Iterable[Mapping[str, Any]]) -> str:
    """A table as JSON text with one entry per line, each starting with its provider.

    Still a plain pricing file; the layout lets :func:`split_table` group the entries by
    provider without decoding them, so only the providers a lookup needs are decoded.
    """
    lines = [_compact({"provider": e["provider"], **e} if "provider" in e else e) for e in entries]
    return _compact(header)[:-1] + ",\n" + _ENTRIES_OPEN + ",\n".join(lines) + "\n]}\n"


def split_table(data: bytes) -> dict[str | None, list[bytes]] | None:
    """Undecoded entry lines by provider, or ``None`` when ``data`` is not in that layout."""
    _, found, body = data.partition(_ENTRIES_OPEN.encode())
    if not found or not body.endswith(_TAIL):
        return None
    by_provider: dict[str | None, list[bytes]] = {}
    start = len(_PROVIDER_HEAD)
    for line in body[: -len(_TAIL)].split(b",\n"):
        provider = None
        if line.startswith(_PROVIDER_HEAD):
            provider = line[start : line.index(b'"', start)].decode()
        by_provider.setdefault(provider, []).append(line)
    return by_provider


def _compact(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
