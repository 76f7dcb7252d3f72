"""genai-cost: OpenTelemetry instrumentation that shows what every LLM call costs."""

from __future__ import annotations

__all__: list[str] = []
