"""Provider names for pricing: canonical ``gen_ai.provider.name`` values, aliases, fallbacks.

Price entries name their provider with a ``gen_ai.provider.name`` value. Callers may pass the
names other instrumentations use (``"azure"``, ``"bedrock"``, ``"google"``, ``"xai"``...);
:func:`canonical_provider` maps them. A reseller without its own price for a model falls back
to the vendor's entries (:data:`FALLBACKS`).
"""

from __future__ import annotations

from types import MappingProxyType

from genai_cost.semconv import Provider

__all__ = [
    "FALLBACKS",
    "GENAI_PRICES_ONLY",
    "KNOWN_PROVIDERS",
    "PROVIDER_ALIASES",
    "PROVIDER_ORDER",
    "VENDOR_PREFIXES",
    "canonical_provider",
    "name_of_genai_prices_id",
]

GENAI_PRICES_ONLY: tuple[str, ...] = (
    # model vendors
    "arcee",
    "elevenlabs",
    "meta",
    "minimax",
    "moonshotai",
    "voyageai",
    "zai",
    "zhipuai",
    # hosts of other vendors' models
    "avian",
    "baseten",
    "cloudflare",
    "cursor",
    "databricks",
    "doubleword",
    "github-copilot",
    "modal",
    "novita",
    "ovhcloud",
    "quicksilverpro",
    "typesafe",
    # Hugging Face's router, by backend
    "huggingface_cerebras",
    "huggingface_fireworks-ai",
    "huggingface_groq",
    "huggingface_hyperbolic",
    "huggingface_nebius",
    "huggingface_novita",
    "huggingface_nscale",
    "huggingface_ovhcloud",
    "huggingface_publicai",
    "huggingface_sambanova",
    "huggingface_together",
)
"""genai-prices provider ids with no ``gen_ai.provider.name`` value of their own: named by
:func:`name_of_genai_prices_id`, after the other providers in :data:`PROVIDER_ORDER`, vendors
first. (``openai-decisions`` is left out: it shares OpenAI's API URL.)"""


def name_of_genai_prices_id(provider_id: str) -> str:
    """The ``gen_ai.provider.name`` of a :data:`GENAI_PRICES_ONLY` provider (semconv style: no ``-``)."""
    return provider_id.replace("-", "_")


PROVIDER_ORDER: tuple[str, ...] = (
    Provider.OPENAI,
    Provider.ANTHROPIC,
    Provider.GCP_GEMINI,
    Provider.MISTRAL,
    Provider.COHERE,
    Provider.DEEPSEEK,
    Provider.XAI,
    Provider.GROQ,
    Provider.PERPLEXITY,
    Provider.AZURE_OPENAI,
    Provider.AWS_BEDROCK,
    Provider.GCP_VERTEX_AI,
    Provider.GCP_GEN_AI,
    Provider.TOGETHER,
    Provider.FIREWORKS,
    Provider.CEREBRAS,
    Provider.OPENROUTER,
    Provider.OLLAMA,
    Provider.VLLM,
    *map(name_of_genai_prices_id, GENAI_PRICES_ONLY),
)
"""Every provider a price entry may name, in the order used to break ties when the caller
gives no provider: first-party vendors before resellers and routers."""

KNOWN_PROVIDERS = frozenset(PROVIDER_ORDER)

PROVIDER_ALIASES = MappingProxyType(
    {
        "azure": Provider.AZURE_OPENAI,
        "azure_openai": Provider.AZURE_OPENAI,
        "az.ai.openai": Provider.AZURE_OPENAI,
        "azure.openai": Provider.AZURE_OPENAI,
        "aws": Provider.AWS_BEDROCK,
        "bedrock": Provider.AWS_BEDROCK,
        "aws_bedrock": Provider.AWS_BEDROCK,
        "amazon_bedrock": Provider.AWS_BEDROCK,
        "google": Provider.GCP_GEMINI,
        "gemini": Provider.GCP_GEMINI,
        "google_genai": Provider.GCP_GEN_AI,
        "vertex_ai": Provider.GCP_VERTEX_AI,
        "vertexai": Provider.GCP_VERTEX_AI,
        "vertex": Provider.GCP_VERTEX_AI,
        "x-ai": Provider.XAI,
        "xai": Provider.XAI,
        "mistral": Provider.MISTRAL,
        "mistralai": Provider.MISTRAL,
        "together_ai": Provider.TOGETHER,
        "togetherai": Provider.TOGETHER,
        "fireworks_ai": Provider.FIREWORKS,
        "fireworks-ai": Provider.FIREWORKS,
    }
)
"""Lowercased provider names used by other instrumentations and SDKs -> canonical name."""

FALLBACKS = MappingProxyType(
    {
        Provider.AZURE_OPENAI: (Provider.OPENAI,),
        Provider.AWS_BEDROCK: (Provider.ANTHROPIC,),
        Provider.GCP_VERTEX_AI: (Provider.GCP_GEMINI, Provider.ANTHROPIC),
        Provider.GCP_GEN_AI: (Provider.GCP_GEMINI, Provider.ANTHROPIC),
    }
)
"""Provider -> providers whose entries price a model the provider has no entry for."""

VENDOR_PREFIXES = MappingProxyType(
    {
        "openai": Provider.OPENAI,
        "anthropic": Provider.ANTHROPIC,
        "google": Provider.GCP_GEMINI,
        "mistralai": Provider.MISTRAL,
        "cohere": Provider.COHERE,
        "deepseek": Provider.DEEPSEEK,
        "x-ai": Provider.XAI,
        "perplexity": Provider.PERPLEXITY,
    }
)
"""OpenRouter's ``vendor/`` model prefixes -> the vendor's provider name."""


def canonical_provider(name: str | None) -> str | None:
    """The canonical provider for a caller-supplied name; ``None`` when absent or unknown."""
    if not name:
        return None
    key = name.strip().lower()
    if key in KNOWN_PROVIDERS:
        return key
    return PROVIDER_ALIASES.get(key)
