"""``litellm.completion``/``embedding`` requests and results, read with the OpenAI readers.

LiteLLM answers every provider in OpenAI's shapes (``ModelResponse``, ``ModelResponseStream``
chunks, ``EmbeddingResponse``), so the OpenAI instrumentor's response readers and chunk
accumulator serve it. The request side is LiteLLM's own: ``provider/model`` names, resolved
with LiteLLM's ``get_llm_provider`` to the provider that serves the call.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from genai_cost.instrumentation._attributes import request_attributes, server_attributes
from genai_cost.instrumentation._core import Request, Response, Telemetry
from genai_cost.instrumentation.openai.chat import ChunkAccumulator, sampling_attributes, stream_options
from genai_cost.semconv import GenAI, Operation, Provider

__all__ = ["LiteLLMChunks", "read_chat_request", "read_embeddings_request", "with_litellm_cost"]

# LiteLLM's provider names -> gen_ai.provider.name; others are reported as LiteLLM names them.
_PROVIDERS = {
    "openai": Provider.OPENAI,
    "text-completion-openai": Provider.OPENAI,
    "azure": Provider.AZURE_OPENAI,
    "azure_text": Provider.AZURE_OPENAI,
    "anthropic": Provider.ANTHROPIC,
    "bedrock": Provider.AWS_BEDROCK,
    "vertex_ai": Provider.GCP_VERTEX_AI,
    "vertex_ai_beta": Provider.GCP_VERTEX_AI,
    "gemini": Provider.GCP_GEMINI,
    "groq": Provider.GROQ,
    "mistral": Provider.MISTRAL,
    "cohere": Provider.COHERE,
    "cohere_chat": Provider.COHERE,
    "ollama": Provider.OLLAMA,
    "ollama_chat": Provider.OLLAMA,
    "deepseek": Provider.DEEPSEEK,
    "xai": Provider.XAI,
    "perplexity": Provider.PERPLEXITY,
    "openrouter": Provider.OPENROUTER,
    "together_ai": Provider.TOGETHER,
    "fireworks_ai": Provider.FIREWORKS,
    "cerebras": Provider.CEREBRAS,
    "hosted_vllm": Provider.VLLM,
}


def _model_and_provider(model: Any, kwargs: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The provider's own model name and the endpoint attributes, as LiteLLM routes ``model``."""
    import litellm

    api_base = kwargs.get("api_base") or kwargs.get("base_url")
    attributes = server_attributes(api_base, GenAI.SERVER_ADDRESS, GenAI.SERVER_PORT) if api_base else {}
    try:
        name, provider, _key, _base = litellm.get_llm_provider(
            model=model, custom_llm_provider=kwargs.get("custom_llm_provider"), api_base=api_base
        )
    except Exception:  # LiteLLM raises for a model it cannot route: so will the call
        return model, {GenAI.PROVIDER_NAME: "litellm", **attributes}
    return name, {GenAI.PROVIDER_NAME: _PROVIDERS.get(provider, provider), **attributes}


def _request(operation: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
    model, endpoint = _model_and_provider(kwargs["model"] if "model" in kwargs else (args or (None,))[0], kwargs)
    attributes = request_attributes(operation, endpoint, model)
    return Request(attributes, kwargs, covers_inner_calls=True)


def read_chat_request(instance: Any, telemetry: Telemetry, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
    """As OpenAI's: with ``GENAI_COST_OPENAI_STREAM_USAGE`` a stream is asked for its usage
    chunk (LiteLLM passes ``stream_options`` on, or builds that chunk itself), hidden from the app."""
    request = _request(Operation.CHAT, args, kwargs)
    request.attributes.update(sampling_attributes(kwargs))
    request.kwargs, request.options = stream_options(telemetry, kwargs, True)
    return request


def read_embeddings_request(
    instance: Any, telemetry: Telemetry, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Request:
    return _request(Operation.EMBEDDINGS, args, kwargs)


def with_litellm_cost(response: Response, result: Any, *, trust: bool) -> Response:
    """``response`` with LiteLLM's own ``response_cost`` as the provider's cost when trusted,
    else with none (a ``usage.cost`` LiteLLM passes through is not the API's bill either)."""
    cost = None
    if trust:
        hidden = getattr(result, "_hidden_params", None)
        cost = hidden.get("response_cost") if isinstance(hidden, dict) else None
    return replace(response, provider_cost=cost)


class LiteLLMChunks(ChunkAccumulator):
    """Stream chunks; the last one's ``usage.cost`` is LiteLLM's, kept only when trusted."""

    __slots__ = ("_trust",)

    def __init__(self, hide_usage_chunk: bool, *, capture_content: bool, trust: bool) -> None:
        super().__init__(hide_usage_chunk, capture_content=capture_content)
        self._trust = trust

    def result(self) -> Response:
        response = super().result()
        return response if self._trust else replace(response, provider_cost=None)
