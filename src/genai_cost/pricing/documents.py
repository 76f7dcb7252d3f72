"""A pricing document from anywhere -> one validated layer of entries, with its provenance.

Two formats are read, told apart by their shape:

- ours (an object: ``{"entries": [...]}`` plus header fields), as ``prices.json`` and the
  ``GENAI_COST_PRICING_FILE`` files; JSON, or TOML for a source ending in ``.toml``;
- genai-prices' data JSON (an array of providers), as genai-prices publishes it for its own
  runtime updates. It is parsed by genai-prices itself (the parser its auto-update uses, so the
  ``sync`` extra is needed) and converted exactly as ``genai-cost pricing sync`` converts the
  installed package's data.

Every entry is fully validated (regexes screened too) before a layer exists: a document is
used whole or not at all.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from genai_cost._install import pip_install
from genai_cost.pricing.errors import PricingError
from genai_cost.pricing.loader import check_layer, decode_document, parse_document
from genai_cost.pricing.provenance import (
    BUNDLED,
    Provenance,
    bundled_provenance,
    digest_of,
    header_provenance,
)
from genai_cost.pricing.schema import PriceEntry

__all__ = ["GENAI_PRICES", "Layer", "decode", "load_layer", "read_layer", "to_layer"]

GENAI_PRICES = "genai-prices"
"""The source name of the installed genai-prices package's data (in ``genai-cost pricing diff``)."""


@dataclass(frozen=True)
class Layer:
    """Validated entries of one document, and where they came from."""

    entries: tuple[PriceEntry, ...]
    provenance: Provenance


def decode(data: bytes, *, source: str) -> dict[str, Any] | list[Any]:
    """The decoded document; :class:`PricingError` when it is neither of the two formats' shapes."""
    document = decode_document(data, source=source)
    if not isinstance(document, (dict, list)):
        raise PricingError("expected a pricing object or genai-prices' array of providers", source=source)
    return document


def to_layer(document: object, provenance: Provenance, *, genai_prices: bool = True) -> Layer:
    """Validate a decoded document into a layer; :class:`PricingError` names what is wrong.

    Without ``genai_prices``, only our format is accepted.
    """
    source = provenance.source
    if isinstance(document, list) and genai_prices:
        return Layer(tuple(_genai_prices_entries(document, source)), provenance)
    entries = parse_document(document, source=source)  # not an object: it says so
    header = document if isinstance(document, Mapping) else {}
    dated = header_provenance(
        header, source, etag=provenance.etag, digest=provenance.digest, modified_at=provenance.modified_at
    )
    return Layer(tuple(entries), dated)


def load_layer(location: str, *, timeout: float = 30.0) -> Layer:
    """One document by location: a file path, an http(s) URL, ``bundled`` (the bundled table)
    or ``genai-prices`` (the installed genai-prices package's data). For the command line."""
    if location == BUNDLED:
        from genai_cost.pricing.table import BUNDLED_PATH

        return Layer(tuple(read_layer(BUNDLED_PATH).entries), bundled_provenance())
    if location == GENAI_PRICES:
        return _installed_genai_prices()
    if location.lower().startswith(("http://", "https://")):
        from genai_cost.pricing.fetch import Fetcher, FetchError

        try:
            fetched = Fetcher(location, timeout=timeout).fetch()
        except FetchError as exc:
            raise PricingError(str(exc), source=location) from None
        assert fetched is not None  # a first fetch is never "not modified"
        digest = digest_of(fetched.data)
        provenance = Provenance(location, etag=fetched.etag, digest=digest, modified_at=fetched.modified_at)
        return to_layer(decode(fetched.data, source=location), provenance)
    return read_layer(location)


def read_layer(path: str, *, genai_prices: bool = True) -> Layer:
    """A pricing file as a layer (in our format only, without ``genai_prices``); :class:`PricingError`
    names what is wrong."""
    try:
        with open(path, "rb") as file:
            data = file.read()
        modified = datetime.fromtimestamp(os.stat(path).st_mtime, timezone.utc)
    except OSError as exc:
        raise PricingError(f"cannot read file: {exc.strerror or exc}", source=path) from None
    provenance = Provenance(path, digest=digest_of(data), modified_at=modified)
    return to_layer(decode_document(data, source=path), provenance, genai_prices=genai_prices)


def _genai_prices_entries(document: list[Any], source: str) -> list[PriceEntry]:
    try:
        # genai-prices' own reader of its published data (what its UpdatePrices.fetch() calls).
        from genai_prices.types import _providers_from_raw
    except ImportError:
        raise PricingError(f"genai-prices data needs genai-prices: {pip_install('sync')}", source=source) from None
    from genai_cost.pricing.sync import convert_providers

    try:
        providers = _providers_from_raw(document)
    except ValueError as exc:  # pydantic's ValidationError
        raise PricingError(f"not genai-prices data: {str(exc).splitlines()[0]}", source=source) from None
    try:
        raw_entries = convert_providers(providers)
    except PricingError as exc:
        raise exc.located(source=source) from None
    return check_layer(raw_entries, source=source)


def _installed_genai_prices() -> Layer:
    try:
        from genai_prices import __version__, data
    except ImportError:
        raise PricingError(f"needs genai-prices: {pip_install('sync')}", source=GENAI_PRICES) from None
    from genai_cost.pricing.sync import convert_providers

    source = f"{GENAI_PRICES} {__version__} (installed package)"
    return Layer(tuple(check_layer(convert_providers(data.providers), source=source)), Provenance(source))
