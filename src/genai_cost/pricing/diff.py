"""What changed between two sets of price entries: entries added, removed, and changed prices.

Entries are paired by id. A changed entry lists each differing field by a readable path:
``input``, ``input_breakdown.cache_read``, ``tiers[>200000].output``,
``variants[service_tier=priority].input``, ``units.web_searches_kcount``, ``match`` (the whole
clause). Display names and notes are not prices and are left out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from genai_cost.pricing.schema import PriceEntry

__all__ = ["Change", "EntryChanges", "TableDiff", "diff_entries"]

_IGNORED = frozenset({"id", "name", "notes"})
_MISSING = None


@dataclass(frozen=True)
class Change:
    """One field of one entry: its value before and after (``None``: absent)."""

    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class EntryChanges:
    entry_id: str
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class TableDiff:
    added: tuple[PriceEntry, ...]
    removed: tuple[PriceEntry, ...]
    changed: tuple[EntryChanges, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "added": [_summary(entry) for entry in self.added],
            "removed": [_summary(entry) for entry in self.removed],
            "changed": [
                {"id": item.entry_id, "changes": [{"field": c.field, "old": c.old, "new": c.new} for c in item.changes]}
                for item in self.changed
            ],
        }


def diff_entries(old: Sequence[PriceEntry], new: Sequence[PriceEntry]) -> TableDiff:
    """Entries of ``new`` not in ``old`` (by id), of ``old`` not in ``new``, and the changed ones."""
    before = {entry.id: entry for entry in old}
    after = {entry.id: entry for entry in new}
    changed = []
    for entry_id in sorted(before.keys() & after.keys()):
        changes = _changes(before[entry_id], after[entry_id])
        if changes:
            changed.append(EntryChanges(entry_id, changes))
    return TableDiff(
        added=tuple(after[key] for key in sorted(after.keys() - before.keys())),
        removed=tuple(before[key] for key in sorted(before.keys() - after.keys())),
        changed=tuple(changed),
    )


def _changes(old: PriceEntry, new: PriceEntry) -> tuple[Change, ...]:
    before, after = dict(_fields(old.to_json())), dict(_fields(new.to_json()))
    return tuple(
        Change(path, before.get(path, _MISSING), after.get(path, _MISSING))
        for path in sorted(before.keys() | after.keys())
        if before.get(path, _MISSING) != after.get(path, _MISSING)
    )


def _fields(value: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, item in value.items():
        if not prefix and key in _IGNORED:
            continue
        path = f"{prefix}{key}"
        if key == "match":
            yield path, json.dumps(item, sort_keys=True)
        elif isinstance(item, Mapping):
            yield from _fields(item, path + ".")
        elif isinstance(item, list) and item and all(isinstance(part, Mapping) for part in item):
            for part in item:
                label, rest = _labelled(part)
                yield from _fields(rest, f"{path}[{label}].")
        else:
            yield path, item


def _labelled(part: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """What tells one tier, variant or time-of-day window from its siblings, and its other fields."""
    if "above_input_tokens" in part:
        keys: tuple[str, ...] = ("above_input_tokens",)
        label = f">{part['above_input_tokens']}"
    elif "when" in part:
        keys = ("when", "valid_from")
        label = ",".join(f"{key}={value}" for key, value in part["when"].items())
        label += f"@{part['valid_from']}" if "valid_from" in part else ""
    elif "start" in part:
        keys = ("start", "end")
        label = f"{part['start']}-{part.get('end')}"
    else:
        keys, label = (), json.dumps(part, sort_keys=True)
    return label, {key: value for key, value in part.items() if key not in keys}


def _summary(entry: PriceEntry) -> dict[str, Any]:
    rates = entry.rates
    return {
        "id": entry.id,
        "name": entry.name,
        "provider": entry.provider,
        "input": None if rates.input is None else str(rates.input),
        "output": None if rates.output is None else str(rates.output),
    }
