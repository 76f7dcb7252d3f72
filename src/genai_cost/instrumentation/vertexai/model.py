"""``GenerativeModel.generate_content(_async)`` and ``ChatSession.send_message(_async)``: the request.

The model, its location and default generation config are the ``GenerativeModel``'s (a chat's
``_model``); the endpoint is the one ``vertexai.init(api_endpoint=...)`` set, else the model's
regional one, as the SDK builds its clients.
"""

from __future__ import annotations

import sys
from typing import Any

from genai_cost.instrumentation._attributes import read, request_attributes
from genai_cost.instrumentation._core import Invocation, Request, Telemetry
from genai_cost.instrumentation._gapic import ChunkAccumulator, config_attributes, server
from genai_cost.instrumentation._stream import AsyncStreamProxy, SyncStreamProxy
from genai_cost.instrumentation.google_genai.endpoint import model_name
from genai_cost.semconv import GenAI, Operation, Provider

__all__ = ["read_chat_request", "read_request", "wrap_stream"]


def _endpoint(resource_name: Any) -> str:
    """``projects/{p}/locations/{l}/publishers/google/models/{m}`` -> ``{l}-aiplatform.googleapis.com``."""
    config = getattr(sys.modules.get("google.cloud.aiplatform.initializer"), "global_config", None)
    configured = getattr(config, "api_endpoint", None)
    if isinstance(configured, str) and configured:
        return configured
    parts = resource_name.split("/") if isinstance(resource_name, str) else []
    location = parts[3] if len(parts) > 3 and parts[2] == "locations" else "global"
    return "aiplatform.googleapis.com" if location == "global" else f"{location}-aiplatform.googleapis.com"


def _request(model: Any, kwargs: dict[str, Any]) -> Request:
    endpoint = {
        GenAI.PROVIDER_NAME: Provider.GCP_VERTEX_AI,
        **server(_endpoint(read(model, "_prediction_resource_name"))),
    }
    attributes = request_attributes(Operation.GENERATE_CONTENT, endpoint, model_name(read(model, "_model_name")))
    # The call's generation_config replaces the model's (the SDK does not merge them).
    attributes.update(config_attributes(kwargs.get("generation_config") or read(model, "_generation_config")))
    return Request(attributes, kwargs)


def read_request(instance: Any, telemetry: Telemetry, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
    """``GenerativeModel.generate_content(_async)``."""
    return _request(instance, kwargs)


def read_chat_request(instance: Any, telemetry: Telemetry, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
    """``ChatSession.send_message(_async)``, which calls the model's private methods, not ``generate_content``."""
    return _request(read(instance, "_model"), kwargs)


def wrap_stream(result: Any, invocation: Invocation, request: Request) -> Any:
    """A proxy of the (async) generator of a ``stream=True`` call; None (record it now) otherwise."""
    if not request.kwargs.get("stream"):
        return None
    proxy_type = AsyncStreamProxy if hasattr(result, "__aiter__") else SyncStreamProxy
    return proxy_type(result, invocation, ChunkAccumulator())
