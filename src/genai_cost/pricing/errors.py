"""The one exception raised for bad pricing input."""

from __future__ import annotations

__all__ = ["PricingError"]


class PricingError(ValueError):
    """Bad pricing input: a file, an entry or a field that cannot be used.

    ``str()`` is one line naming what is known of the place, then what is wrong:
    ``"<file>: entry '<id>': field '<field>': <what is wrong>"``.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        entry: str | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        """What is wrong, without the place."""
        self.source = source
        """The file (or ``<entries>`` for entries given in code) the problem is in."""
        self.entry = entry
        """The entry id (or ``#N`` when the entry has no usable id)."""
        self.field = field
        """The field path inside the entry, e.g. ``tiers[0].input``."""
        super().__init__(message)

    def __str__(self) -> str:
        parts = []
        if self.source is not None:
            parts.append(self.source)
        if self.entry is not None:
            parts.append(f"entry '{self.entry}'")
        if self.field is not None:
            parts.append(f"field '{self.field}'")
        parts.append(self.message)
        return ": ".join(parts)

    def located(self, *, source: str | None = None, entry: str | None = None) -> PricingError:
        """The same error with the file and entry filled in where still unknown."""
        return PricingError(
            self.message,
            source=self.source if self.source is not None else source,
            entry=self.entry if self.entry is not None else entry,
            field=self.field,
        )
