"""``GENAI_COST_COMPAT``: other backends' names for what a span already says, added beside ours.

Backends read the same facts under different names: Langfuse and OpenLIT read the total cost
from ``gen_ai.usage.cost``, Pydantic Logfire from ``operation.cost``, Arize Phoenix tokens and
model from OpenInference's ``llm.*``, older dashboards ``gen_ai.system`` and
``gen_ai.usage.prompt_tokens``. Each value of ``GENAI_COST_COMPAT`` adds one backend's names:

* ``langfuse``: ``gen_ai.usage.cost`` (opt-in only: the name is also the namespace of
  ``gen_ai.usage.cost.amount``, which OpenTelemetry's naming rules forbid);
* ``logfire``: ``operation.cost``;
* ``openinference``: ``openinference.span.kind`` (``LLM``, embeddings calls too: Phoenix counts
  tokens and cost on LLM spans only), ``llm.model_name``, ``llm.provider``, ``llm.system``,
  ``llm.token_count.*`` and ``llm.cost.*``;
* ``legacy-semconv``: ``gen_ai.system`` and ``gen_ai.usage.prompt_tokens``/``completion_tokens``.

The plan is made once (:func:`compat_for`, at instrument time); at the end of a call
:meth:`Compat.attributes` reads the attributes already built (renames, a few sums, value maps,
constants). With ``GENAI_COST_COMPAT`` unset there is no plan and nothing runs.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from genai_cost.pricing.units import UNITS
from genai_cost.semconv import GenAI, Langfuse, Legacy, Logfire, OpenInference, Ours, Provider

__all__ = ["Compat", "compat_for"]

_NUMBERS = (int, float)


@dataclass(frozen=True, slots=True)
class _Plan:
    """What one or more backends add, read from attributes already on the span."""

    renames: tuple[tuple[str, str], ...] = ()
    """(our attribute, its other name); a later pair to the same name wins when both are set."""
    sums: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(name, our attributes it adds up); set when any of them is."""
    lookups: tuple[tuple[str, str, Mapping[str, str], bool], ...] = ()
    """(our attribute, name, value map, keep unmapped values): a provider name in another vocabulary."""
    constants: Mapping[str, Any] = field(default_factory=dict)

    def __add__(self, other: _Plan) -> _Plan:
        return _Plan(
            self.renames + other.renames,
            self.sums + other.sums,
            self.lookups + other.lookups,
            MappingProxyType({**self.constants, **other.constants}),
        )


class Compat:
    """The attributes ``GENAI_COST_COMPAT`` adds to a call's span; build it with :func:`compat_for`."""

    __slots__ = ("_constants", "_lookups", "_renames", "_sums", "names")

    def __init__(self, names: tuple[str, ...], plan: _Plan) -> None:
        self.names = names
        self._renames = plan.renames
        self._sums = plan.sums
        self._lookups = plan.lookups
        self._constants = dict(plan.constants)

    def attributes(self, attributes: Mapping[str, Any]) -> dict[str, Any]:
        """The other backends' names for ``attributes`` (a span's, request attributes included)."""
        get = attributes.get
        added = {name: value for source, name in self._renames if (value := get(source)) is not None}
        for name, sources in self._sums:
            # Only numbers: another instrumentation's span (CostSpanProcessor) may hold anything.
            parts = [value for source in sources if type(value := get(source)) in _NUMBERS]
            if parts:
                added[name] = sum(parts)
        for source, name, mapping, keep in self._lookups:
            value = get(source)
            if isinstance(value, str) and (mapped := mapping.get(value, value if keep else None)):
                added[name] = mapped
        added.update(self._constants)
        return added


def _cost_keys(side: str) -> tuple[str, ...]:
    """``genai_cost.cost.<key>`` of every unit charged to the input (or output) subtotal."""
    return _costs(*(unit.key for unit in UNITS if unit.side == side))


def _costs(*keys: str) -> tuple[str, ...]:
    return tuple(Ours.COST_PREFIX + key for key in keys)


def _langfuse() -> _Plan:
    return _Plan(renames=((GenAI.USAGE_COST_AMOUNT, Langfuse.USAGE_COST),))


def _logfire() -> _Plan:
    return _Plan(renames=((GenAI.USAGE_COST_AMOUNT, Logfire.OPERATION_COST),))


# gen_ai.provider.name values that older conventions spelled differently in gen_ai.system.
_LEGACY_SYSTEMS = MappingProxyType({Provider.AZURE_OPENAI: "az.ai.openai", Provider.XAI: "xai"})


def _legacy_semconv() -> _Plan:
    return _Plan(
        renames=(
            (GenAI.USAGE_INPUT_TOKENS, Legacy.USAGE_PROMPT_TOKENS),
            (GenAI.USAGE_OUTPUT_TOKENS, Legacy.USAGE_COMPLETION_TOKENS),
        ),
        lookups=((GenAI.PROVIDER_NAME, Legacy.SYSTEM, _LEGACY_SYSTEMS, True),),
    )


# llm.provider: the hosting provider, from OpenInference's well-known values (others pass as they are).
_OPENINFERENCE_PROVIDERS = MappingProxyType(
    {
        Provider.AZURE_OPENAI: "azure",
        Provider.AWS_BEDROCK: "aws",
        Provider.GCP_GEMINI: "google",
        Provider.GCP_VERTEX_AI: "google",
        Provider.GCP_GEN_AI: "google",
        Provider.MISTRAL: "mistralai",
        Provider.XAI: "xai",
    }
)
# llm.system: the model's vendor, set only where the provider says it (a Bedrock call may be any vendor's).
_OPENINFERENCE_SYSTEMS = MappingProxyType(
    {
        Provider.OPENAI: "openai",
        Provider.AZURE_OPENAI: "openai",
        Provider.ANTHROPIC: "anthropic",
        Provider.GCP_VERTEX_AI: "vertexai",
        Provider.MISTRAL: "mistralai",
        Provider.COHERE: "cohere",
        Provider.XAI: "xai",
        Provider.DEEPSEEK: "deepseek",
    }
)


def _openinference() -> _Plan:
    # The response model wins (the later pair): "the actual model name returned by the API".
    models = ((GenAI.REQUEST_MODEL, OpenInference.MODEL_NAME), (GenAI.RESPONSE_MODEL, OpenInference.MODEL_NAME))
    cost = Ours.COST_PREFIX
    return _Plan(
        renames=(
            *models,
            (GenAI.USAGE_INPUT_TOKENS, OpenInference.TOKEN_COUNT_PROMPT),
            (GenAI.USAGE_OUTPUT_TOKENS, OpenInference.TOKEN_COUNT_COMPLETION),
            (GenAI.USAGE_CACHE_READ_INPUT_TOKENS, OpenInference.TOKEN_COUNT_PROMPT_CACHE_READ),
            (GenAI.USAGE_CACHE_CREATION_INPUT_TOKENS, OpenInference.TOKEN_COUNT_PROMPT_CACHE_WRITE),
            (GenAI.USAGE_AUDIO_INPUT_TOKENS, OpenInference.TOKEN_COUNT_PROMPT_AUDIO),
            (GenAI.USAGE_REASONING_OUTPUT_TOKENS, OpenInference.TOKEN_COUNT_COMPLETION_REASONING),
            (GenAI.USAGE_AUDIO_OUTPUT_TOKENS, OpenInference.TOKEN_COUNT_COMPLETION_AUDIO),
            (GenAI.USAGE_COST_AMOUNT, OpenInference.COST_TOTAL),
            (cost + "input", OpenInference.COST_PROMPT_INPUT),
            (cost + "input_audio", OpenInference.COST_PROMPT_AUDIO),
            (cost + "output", OpenInference.COST_COMPLETION_OUTPUT),
            (cost + "reasoning", OpenInference.COST_COMPLETION_REASONING),
            (cost + "output_audio", OpenInference.COST_COMPLETION_AUDIO),
        ),
        sums=(
            (OpenInference.TOKEN_COUNT_TOTAL, (GenAI.USAGE_INPUT_TOKENS, GenAI.USAGE_OUTPUT_TOKENS)),
            (OpenInference.COST_PROMPT, _cost_keys("input")),
            (OpenInference.COST_COMPLETION, _cost_keys("output")),
            (OpenInference.COST_PROMPT_CACHE_READ, _costs("cache_read", "cache_audio_read", "cache_image_read")),
            (OpenInference.COST_PROMPT_CACHE_WRITE, _costs("cache_creation", "cache_creation_5m", "cache_creation_1h")),
        ),
        lookups=(
            (GenAI.PROVIDER_NAME, OpenInference.PROVIDER, _OPENINFERENCE_PROVIDERS, True),
            (GenAI.PROVIDER_NAME, OpenInference.SYSTEM, _OPENINFERENCE_SYSTEMS, False),
        ),
        # LLM for embeddings calls too (the specification's kind for them is EMBEDDING): Phoenix
        # shows tokens and cost on LLM spans only (phoenix/db/insertion/span.py, 20.26.1).
        constants=MappingProxyType({OpenInference.SPAN_KIND: OpenInference.SPAN_KIND_LLM}),
    )


_BACKENDS = {
    "langfuse": _langfuse,
    "logfire": _logfire,
    "openinference": _openinference,
    "legacy-semconv": _legacy_semconv,
}


@functools.cache
def compat_for(names: tuple[str, ...]) -> Compat | None:
    """The plan for these ``GENAI_COST_COMPAT`` values (``Settings.compat``); ``None`` when there are none."""
    if not names:
        return None
    return Compat(names, functools.reduce(operator.add, (_BACKENDS[name]() for name in names), _Plan()))
