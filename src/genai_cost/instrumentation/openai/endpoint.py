"""Which provider an OpenAI SDK client talks to, read from the client's class and host."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit
from weakref import WeakKeyDictionary

from genai_cost.instrumentation._attributes import server_attributes
from genai_cost.pricing.hosts import provider_for_url
from genai_cost.semconv import GenAI, Provider

__all__ = ["endpoint_attributes", "provider_for_host"]

# OpenAI-compatible APIs are told apart by their URL, with the patterns genai-prices carries
# (genai_cost.pricing.hosts). Unknown hosts (vLLM, LiteLLM proxies, test servers) speak
# OpenAI's API and are reported as "openai"; their models are priced when the table knows them.
_OLLAMA_PORT = 11434

_cache: WeakKeyDictionary[Any, dict[str, Any]] = WeakKeyDictionary()


def provider_for_host(host: str, port: int | None, path: str = "") -> str:
    """The provider serving ``host`` (any case) and ``path`` (some hosts serve several providers)."""
    provider = provider_for_url(f"https://{host.lower()}{path}")
    if provider is not None:
        return provider
    if port == _OLLAMA_PORT:
        return Provider.OLLAMA
    return Provider.OPENAI


def _path(url: Any) -> str:
    try:
        return urlsplit(str(url)).path
    except ValueError:
        return ""


def _is_azure(client: Any) -> bool:
    return any(cls.__name__ in ("AzureOpenAI", "AsyncAzureOpenAI") for cls in type(client).__mro__)


def _read(client: Any, provider: str | None = None) -> dict[str, Any]:
    attributes = server_attributes(getattr(client, "base_url", None), GenAI.SERVER_ADDRESS, GenAI.SERVER_PORT)
    if provider is None and _is_azure(client):
        provider = Provider.AZURE_OPENAI
    elif provider is None:
        host = attributes.get(GenAI.SERVER_ADDRESS)
        port = attributes.get(GenAI.SERVER_PORT)
        provider = provider_for_host(host, port, _path(getattr(client, "base_url", None))) if host else Provider.OPENAI
    attributes[GenAI.PROVIDER_NAME] = provider
    return attributes


def endpoint_attributes(resource: Any, provider: str | None = None) -> dict[str, Any]:
    """``gen_ai.provider.name``, ``server.address`` and ``server.port`` of an SDK resource's client.

    ``provider``: the one an SDK's clients always talk to (groq's), else told by class and host.
    Read once per client (a client's ``base_url`` is fixed in practice) and cached weakly.
    """
    client = getattr(resource, "_client", None)
    if client is None:
        return {GenAI.PROVIDER_NAME: provider or Provider.OPENAI}
    try:
        cached = _cache.get(client)
    except TypeError:
        return _read(client, provider)
    if cached is None:
        cached = _cache[client] = _read(client, provider)
    return cached
