"""``gen_ai.request.*`` parameters, whichever spelling a Bedrock API or model family uses.

Converse uses ``inferenceConfig.maxTokens``/``topP``; invoke_model bodies use each vendor's
native names (Anthropic ``max_tokens``, Nova ``inferenceConfig.max_new_tokens``, Titan
``textGenerationConfig.maxTokenCount``, Llama ``max_gen_len``, Cohere ``p``/``k``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from genai_cost.instrumentation._attributes import number, strings
from genai_cost.semconv import GenAI

__all__ = ["request_parameters"]

_NUMBERS = (
    (
        GenAI.REQUEST_MAX_TOKENS,
        ("maxTokens", "max_tokens", "max_new_tokens", "maxTokenCount", "max_gen_len"),
    ),
    (GenAI.REQUEST_TEMPERATURE, ("temperature",)),
    (GenAI.REQUEST_TOP_P, ("topP", "top_p", "p")),
    (GenAI.REQUEST_TOP_K, ("topK", "top_k", "k")),
)
_STOP_SEQUENCES = ("stopSequences", "stop_sequences", "stop")


def request_parameters(*sources: Any) -> dict[str, Any]:
    """Sampling parameters found in ``sources`` (mappings; others are skipped), first wins."""
    mappings = [source for source in sources if isinstance(source, Mapping)]
    attributes: dict[str, Any] = {}
    for name, keys in _NUMBERS:
        for source in mappings:
            value = next((v for key in keys if (v := number(source.get(key))) is not None), None)
            if value is not None:
                attributes[name] = value
                break
    for source in mappings:
        stop = next((s for key in _STOP_SEQUENCES if (s := strings(source.get(key)))), None)
        if stop:
            attributes[GenAI.REQUEST_STOP_SEQUENCES] = stop
            break
    return attributes
