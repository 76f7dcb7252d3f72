"""What pyproject.toml declares for an instrumentor: its entry point and ``instruments`` extras.

Read from the file, not from package metadata: the shared test install points at another
checkout, whose metadata does not list an instrumentor added here.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from tests.support.venvs import REPO, tomllib

__all__ = ["assert_declared"]


def assert_declared(entry_name: str, instrumentor: type[Any], extra: str) -> None:
    """``genai_cost_<x>`` loads ``instrumentor``; the extra and ``instruments-any`` name its SDK."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    module, _, name = project["entry-points"]["opentelemetry_instrumentor"][entry_name].partition(":")
    assert getattr(import_module(module), name) is instrumentor
    extras = project["optional-dependencies"]
    assert extras[extra] == list(instrumentor().instrumentation_dependencies())
    assert set(extras[extra]) <= set(extras["instruments-any"])
