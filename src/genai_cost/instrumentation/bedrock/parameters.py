"""``gen_ai.request.*`` parameters, whichever spelling a Bedrock API or model family uses.

Converse uses ``inferenceConfig.maxTokens``/``topP``; invoke_model bodies use each vendor's
native names (Anthropic ``max_tokens``, Nova ``inferenceConfig.max_new_tokens``, Titan
``textGenerationConfig.maxTokenCount``, Llama ``max_gen_len``, Cohere ``p``/``k``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from genai_cost.instrumentation._attributes import numbers, strings
from genai_cost.semconv import GenAI

__all__ = ["request_parameters"]

_MAX, _TOP_P, _TOP_K = GenAI.REQUEST_MAX_TOKENS, GenAI.REQUEST_TOP_P, GenAI.REQUEST_TOP_K
_NUMBERS = (
    *((key, _MAX) for key in ("maxTokens", "max_tokens", "max_new_tokens", "maxTokenCount", "max_gen_len")),
    ("temperature", GenAI.REQUEST_TEMPERATURE),
    *((key, _TOP_P) for key in ("topP", "top_p", "p")),
    *((key, _TOP_K) for key in ("topK", "top_k", "k")),
)
_STOP_SEQUENCES = ("stopSequences", "stop_sequences", "stop")


def request_parameters(*sources: Any) -> dict[str, Any]:
    """Sampling parameters found in ``sources`` (mappings; others are skipped), first source wins."""
    attributes: dict[str, Any] = {}
    for source in reversed(sources):
        if not isinstance(source, Mapping):
            continue
        attributes.update(numbers(source, _NUMBERS))
        stop = next((found for key in _STOP_SEQUENCES if (found := strings(source.get(key)))), None)
        if stop:
            attributes[GenAI.REQUEST_STOP_SEQUENCES] = stop
    return attributes
