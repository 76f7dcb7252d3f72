"""Start-up shim for the "provider SDK not installed" tests.

Makes the top-level modules named in ``E2E_HIDE_MODULES`` unimportable, then runs exactly
what ``opentelemetry-instrument`` runs at start-up (that launcher only puts its own
``sitecustomize`` first on ``PYTHONPATH`` and execs the app).
"""

from __future__ import annotations

import importlib.abc
import os
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

HIDDEN = frozenset(filter(None, os.environ.get("E2E_HIDE_MODULES", "").split(",")))


class _Hide(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname.partition(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


sys.meta_path.insert(0, _Hide())

from opentelemetry.instrumentation.auto_instrumentation import sitecustomize  # noqa: E402, F401
