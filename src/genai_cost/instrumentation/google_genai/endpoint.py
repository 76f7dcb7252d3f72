"""Gemini API or Vertex AI, and which server: read from a ``Models``/``AsyncModels`` resource."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from genai_cost.instrumentation._attributes import server_attributes
from genai_cost.semconv import GenAI, Provider

__all__ = ["endpoint_attributes", "model_name"]


@lru_cache(maxsize=64)
def _server(base_url: str) -> tuple[tuple[str, Any], ...]:
    return tuple(server_attributes(base_url, GenAI.SERVER_ADDRESS, GenAI.SERVER_PORT).items())


def endpoint_attributes(resource: Any) -> dict[str, Any]:
    """``gen_ai.provider.name`` (``gcp.vertex_ai`` or ``gcp.gemini``), ``server.address``/``port``."""
    options = getattr(getattr(resource, "_api_client", None), "_http_options", None)
    base_url = getattr(options, "base_url", None)
    attributes = dict(_server(base_url)) if isinstance(base_url, str) else {}
    vertex = getattr(resource, "vertexai", False) is True
    attributes[GenAI.PROVIDER_NAME] = Provider.GCP_VERTEX_AI if vertex else Provider.GCP_GEMINI
    return attributes


def model_name(model: Any) -> str | None:
    """The model id of ``gemini-2.5-flash``, ``models/gemini-2.5-flash`` or a Vertex resource name."""
    if not isinstance(model, str):
        return None
    prefix, marker, name = model.rpartition("models/")
    return name if marker and name and (not prefix or prefix.endswith("/")) else model
