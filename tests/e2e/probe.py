"""Prints which genai-cost instrumentors auto-instrumentation turned on, one per line."""

from __future__ import annotations

from importlib.metadata import entry_points

for entry_point in entry_points(group="opentelemetry_instrumentor"):
    if entry_point.name.startswith("genai_cost_"):
        print(entry_point.name, entry_point.load()().is_instrumented_by_opentelemetry)
