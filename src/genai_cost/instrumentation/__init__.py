"""Provider instrumentors; one subpackage per provider SDK, all sharing ``_core`` and ``_stream``."""

from __future__ import annotations

__all__: list[str] = []
