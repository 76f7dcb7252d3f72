"""Where each layer of a pricing table came from, and which version of it: the table's version.

A table's version names its layers bottom to top, each as ``source@stamp``, joined by ``+``:
``bundled@2026-12-04T20:22:34Z+https://prices.example.com/prices.json@etag:5f3a``. The stamp is
the document's ``generated_at`` header when it has one, else the HTTP ETag, else a digest of
its bytes: whatever tells two versions of one source apart.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

from genai_cost.pricing.calculate import as_utc
from genai_cost.pricing.loader import header_of

__all__ = [
    "BUNDLED",
    "CODE",
    "Provenance",
    "bundled_provenance",
    "digest_of",
    "header_provenance",
    "parse_timestamp",
    "table_version",
]

BUNDLED = "bundled"
"""The source name of the bundled table."""
CODE = "<entries>"
"""The source name of entries given in code."""


@dataclass(frozen=True, slots=True)
class Provenance:
    """One layer's source and version."""

    source: str
    """``bundled``, a URL, a file path, or ``<entries>`` (given in code)."""
    generated_at: datetime | None = None
    """The document's own ``generated_at`` header, if it has one."""
    etag: str | None = None
    """The HTTP ETag it was served with."""
    digest: str | None = None
    """The start of the SHA-256 of its bytes."""
    modified_at: datetime | None = None
    """When it last changed, as far as we know without a ``generated_at``: the HTTP
    Last-Modified, the file's modification time, or when this process first saw these bytes."""

    @property
    def version(self) -> str:
        if self.generated_at is not None:
            stamp = _iso(self.generated_at)
        elif self.etag:
            stamp = "etag:" + self.etag.removeprefix("W/").strip('"')
        elif self.digest:
            stamp = "sha256:" + self.digest
        else:
            return self.source
        return f"{self.source}@{stamp}"

    @property
    def dated(self) -> datetime | None:
        """When these prices were made: ``generated_at``, else :attr:`modified_at`."""
        return self.generated_at if self.generated_at is not None else self.modified_at


def table_version(layers: Iterable[Provenance]) -> str:
    """The version of a table made of ``layers`` (bottom first)."""
    return "+".join(layer.version for layer in layers)


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def parse_timestamp(value: object) -> datetime | None:
    """An ISO date-time (``Z`` allowed) as an aware UTC datetime; ``None`` when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return as_utc(moment)


def header_provenance(
    header: Mapping[str, object],
    source: str,
    *,
    etag: str | None = None,
    digest: str | None = None,
    modified_at: datetime | None = None,
) -> Provenance:
    """A document's provenance from its header fields and what its transport told."""
    generated_at = parse_timestamp(header.get("generated_at"))
    return Provenance(source, generated_at, etag=etag, digest=digest, modified_at=modified_at)


@functools.lru_cache(maxsize=1)
def bundled_provenance() -> Provenance:
    """The bundled table's provenance, from its first line (the header) alone."""
    from genai_cost.pricing.table import BUNDLED_PATH

    with open(BUNDLED_PATH, "rb") as file:
        first = file.readline()
    stat = os.stat(BUNDLED_PATH)
    modified = datetime.fromtimestamp(stat.st_mtime, timezone.utc)
    return header_provenance(header_of(first), BUNDLED, modified_at=modified)


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
