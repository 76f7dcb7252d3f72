"""Helpers for pricing tests: tables built from plain entry objects, without the bundled data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from genai_cost.pricing import PriceEntry, PricingTable
from genai_cost.pricing.schema import parse_entry

TableFactory = Callable[..., PricingTable]
EntryFactory = Callable[..., PriceEntry]


@pytest.fixture
def make_table() -> TableFactory:
    """``make_table(raw, ...)``: a table of just these entries (objects or dicts)."""

    def build(*entries: Any, aliases: dict[str, str] | None = None) -> PricingTable:
        return PricingTable.load(include_bundled=False, entries=entries, aliases=aliases)

    return build


@pytest.fixture
def make_entry() -> EntryFactory:
    """``make_entry(**fields)``: a validated entry; ``id`` and ``match`` have defaults."""

    def build(**fields: Any) -> PriceEntry:
        fields.setdefault("id", "e")
        fields.setdefault("match", {"exact": "m"})
        return parse_entry(fields)

    return build
