"""Which provider an Anthropic SDK client talks to (from its class) and at which server."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from genai_cost.instrumentation._attributes import server_attributes
from genai_cost.semconv import GenAI, Provider

__all__ = ["endpoint_attributes"]

# Claude served by a cloud under the cloud's own API and billing. The "Anthropic managed"
# gateway clients (AnthropicAWS, AnthropicGoogleCloud) and Foundry speak the first-party API.
_CLOUD_CLIENTS = (
    ("AnthropicBedrock", Provider.AWS_BEDROCK),
    ("AnthropicVertex", Provider.GCP_VERTEX_AI),
)


@lru_cache(maxsize=64)
def _provider(client_type: type) -> str:
    for cls in client_type.__mro__:
        for prefix, provider in _CLOUD_CLIENTS:
            if cls.__name__.removeprefix("Async").startswith(prefix):
                return provider
    return Provider.ANTHROPIC


@lru_cache(maxsize=64)
def _server(base_url: str) -> tuple[tuple[str, Any], ...]:
    return tuple(server_attributes(base_url, GenAI.SERVER_ADDRESS, GenAI.SERVER_PORT).items())


def endpoint_attributes(resource: Any) -> dict[str, Any]:
    """``gen_ai.provider.name``, ``server.address`` and ``server.port`` of a resource's client."""
    client = getattr(resource, "_client", None)
    if client is None:
        return {GenAI.PROVIDER_NAME: Provider.ANTHROPIC}
    attributes = dict(_server(str(getattr(client, "base_url", ""))))
    attributes[GenAI.PROVIDER_NAME] = _provider(client.__class__)
    return attributes
