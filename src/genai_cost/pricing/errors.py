"""The one exception raised for bad pricing input."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["PricingError"]


class PricingError(ValueError):
    """Bad pricing input: a file, an entry or a field that cannot be used.

    ``str()`` is one line naming what is known of the place, then what is wrong:
    ``"<file>: entry '<id>': field '<field>': <what is wrong>"``. Where several problems were
    found at once, it is the first one's line with how many more there are, and
    :attr:`problems` holds every one (``pricing validate`` prints them a line each).
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
        self.problems: tuple[PricingError, ...] = (self,)
        """Every problem found, each alone (one line each); just this error when it is one problem."""
        super().__init__(message)

    @classmethod
    def of(cls, problems: Sequence[PricingError]) -> PricingError:
        """One error standing for ``problems`` (each may itself hold several), in order."""
        found = [problem._one() for error in problems for problem in error.problems]
        if len(found) == 1:
            return found[0]
        first = found[0]
        combined = cls(first.message, source=first.source, entry=first.entry, field=first.field)
        combined.problems = tuple(found)
        return combined

    def __str__(self) -> str:
        parts = []
        if self.source is not None:
            parts.append(self.source)
        if self.entry is not None:
            parts.append(f"entry '{self.entry}'")
        if self.field is not None:
            parts.append(f"field '{self.field}'")
        parts.append(self.message)
        more = len(self.problems) - 1
        return ": ".join(parts) + (f" (and {more} more {'problem' if more == 1 else 'problems'})" if more else "")

    def _one(self) -> PricingError:
        """This problem alone."""
        return PricingError(self.message, source=self.source, entry=self.entry, field=self.field)

    def located(self, *, source: str | None = None, entry: str | None = None) -> PricingError:
        """The same error (every problem of it) with the file and entry filled in where still unknown."""
        located = [
            PricingError(
                problem.message,
                source=problem.source if problem.source is not None else source,
                entry=problem.entry if problem.entry is not None else entry,
                field=problem.field,
            )
            for problem in self.problems
        ]
        return PricingError.of(located)
