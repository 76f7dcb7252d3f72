"""``GENAI_COST_COMPAT``: each backend's names on the spans of real OpenAI calls (fake server).

Costs come from the oracle (``genai_prices.calc_price`` on the fixture's usage), counts from
the fixture; the compat names must say exactly what our own names say.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import genai_prices
import openai
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.integration.openai.helpers import API_KEY, only_span, scenario

from genai_cost.config import ENV
from genai_cost.demo.fake_openai import SCENARIOS, FakeOpenAIServer
from genai_cost.instrumentation.openai import OpenAIInstrumentor
from genai_cost.pricing import PricingTable
from genai_cost.semconv import GenAI, Langfuse, Legacy, Logfire, OpenInference

MODEL = "gpt-4o-mini"
WIRE = SCENARIOS["cached_reasoning"]  # cached input and reasoning output: every OpenInference part

LANGFUSE = {Langfuse.USAGE_COST}
LOGFIRE = {Logfire.OPERATION_COST}
LEGACY = {Legacy.SYSTEM, Legacy.USAGE_PROMPT_TOKENS, Legacy.USAGE_COMPLETION_TOKENS}
OPENINFERENCE = {
    OpenInference.SPAN_KIND,
    OpenInference.MODEL_NAME,
    OpenInference.PROVIDER,
    OpenInference.SYSTEM,
    OpenInference.TOKEN_COUNT_PROMPT,
    OpenInference.TOKEN_COUNT_COMPLETION,
    OpenInference.TOKEN_COUNT_TOTAL,
    OpenInference.TOKEN_COUNT_PROMPT_CACHE_READ,
    OpenInference.TOKEN_COUNT_PROMPT_AUDIO,
    OpenInference.TOKEN_COUNT_COMPLETION_REASONING,
    OpenInference.TOKEN_COUNT_COMPLETION_AUDIO,
    OpenInference.COST_TOTAL,
    OpenInference.COST_PROMPT,
    OpenInference.COST_COMPLETION,
    OpenInference.COST_PROMPT_INPUT,
    OpenInference.COST_PROMPT_CACHE_READ,
    OpenInference.COST_COMPLETION_OUTPUT,
}
ADDED = {"langfuse": LANGFUSE, "logfire": LOGFIRE, "legacy-semconv": LEGACY, "openinference": OPENINFERENCE}
EVERY_NAME = LANGFUSE | LOGFIRE | LEGACY | OPENINFERENCE


@pytest.fixture
def compat_instrumented(
    configure: Callable[..., None], instrument: Callable[..., OpenAIInstrumentor]
) -> Callable[[str], OpenAIInstrumentor]:
    def apply(value: str) -> OpenAIInstrumentor:
        configure(**{ENV.COMPAT: value})
        return instrument(pricing=PricingTable.default())

    return apply


def _oracle(**usage: int) -> genai_prices.types.PriceCalculation:
    return genai_prices.calc_price(genai_prices.Usage(**usage), MODEL, provider_id="openai")


def _chat(client: openai.OpenAI, name: str = "cached_reasoning") -> None:
    client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "hi"}],
        extra_headers=scenario(name),
    )


@pytest.mark.parametrize(
    "value",
    ["langfuse", "logfire", "legacy-semconv", "openinference", "langfuse,openinference,logfire,legacy-semconv"],
)
def test_each_value_adds_its_backends_names_and_only_those(
    compat_instrumented: Callable[[str], OpenAIInstrumentor],
    client: openai.OpenAI,
    span_exporter: InMemorySpanExporter,
    value: str,
) -> None:
    compat_instrumented(value)
    _chat(client)

    attributes = dict(only_span(span_exporter).attributes or {})
    expected_names = set().union(*(ADDED[name] for name in value.split(",")))
    assert EVERY_NAME & attributes.keys() == expected_names
    price = _oracle(
        input_tokens=WIRE.prompt_tokens, cache_read_tokens=WIRE.cached_tokens, output_tokens=WIRE.completion_tokens
    )
    amount = attributes[GenAI.USAGE_COST_AMOUNT]
    assert amount == pytest.approx(float(price.total_price), rel=1e-12)
    expected = {
        Langfuse.USAGE_COST: amount,
        Logfire.OPERATION_COST: amount,
        Legacy.SYSTEM: "openai",
        Legacy.USAGE_PROMPT_TOKENS: WIRE.prompt_tokens,
        Legacy.USAGE_COMPLETION_TOKENS: WIRE.completion_tokens,
        OpenInference.SPAN_KIND: "LLM",
        OpenInference.MODEL_NAME: MODEL,
        OpenInference.PROVIDER: "openai",
        OpenInference.SYSTEM: "openai",
        OpenInference.TOKEN_COUNT_PROMPT: WIRE.prompt_tokens,
        OpenInference.TOKEN_COUNT_COMPLETION: WIRE.completion_tokens,
        OpenInference.TOKEN_COUNT_TOTAL: WIRE.prompt_tokens + WIRE.completion_tokens,
        OpenInference.TOKEN_COUNT_PROMPT_CACHE_READ: WIRE.cached_tokens,
        OpenInference.TOKEN_COUNT_PROMPT_AUDIO: 0,  # reported as 0 on the wire
        OpenInference.TOKEN_COUNT_COMPLETION_REASONING: WIRE.reasoning_tokens,
        OpenInference.TOKEN_COUNT_COMPLETION_AUDIO: 0,
        OpenInference.COST_TOTAL: amount,
    }
    assert {name: attributes[name] for name in expected_names if name in expected} == {
        name: value for name, value in expected.items() if name in expected_names
    }
    if "openinference" in value:
        # Prompt and completion subtotals, and their parts, as genai-prices splits the same usage.
        assert attributes[OpenInference.COST_PROMPT] == pytest.approx(float(price.input_price), rel=1e-12)
        assert attributes[OpenInference.COST_COMPLETION] == pytest.approx(float(price.output_price), rel=1e-12)
        uncached = _oracle(input_tokens=WIRE.prompt_tokens - WIRE.cached_tokens)
        assert attributes[OpenInference.COST_PROMPT_INPUT] == pytest.approx(float(uncached.input_price), rel=1e-12)
        cached = float(price.input_price - uncached.input_price)
        assert attributes[OpenInference.COST_PROMPT_CACHE_READ] == pytest.approx(cached, rel=1e-12)
        assert attributes[OpenInference.COST_COMPLETION_OUTPUT] == pytest.approx(float(price.output_price), rel=1e-12)


def test_unset_adds_no_other_backends_names(
    compat_instrumented: Callable[[str], OpenAIInstrumentor], client: openai.OpenAI, span_exporter: InMemorySpanExporter
) -> None:
    compat_instrumented("")
    _chat(client)
    assert not EVERY_NAME & (only_span(span_exporter).attributes or {}).keys()


def test_openinference_embeddings_span_is_an_llm_span_with_tokens_and_cost(
    compat_instrumented: Callable[[str], OpenAIInstrumentor], client: openai.OpenAI, span_exporter: InMemorySpanExporter
) -> None:
    compat_instrumented("openinference")
    response = client.embeddings.create(model="text-embedding-3-small", input="hello")

    attributes = dict(only_span(span_exporter).attributes or {})
    price = genai_prices.calc_price(
        genai_prices.Usage(input_tokens=response.usage.prompt_tokens), "text-embedding-3-small", provider_id="openai"
    )
    # LLM, not the specification's EMBEDDING: Phoenix shows tokens and cost on LLM spans only.
    assert attributes[OpenInference.SPAN_KIND] == "LLM"
    assert attributes[OpenInference.MODEL_NAME] == attributes[GenAI.RESPONSE_MODEL] == "text-embedding-3-small"
    assert attributes[OpenInference.TOKEN_COUNT_PROMPT] == response.usage.prompt_tokens
    assert attributes[OpenInference.TOKEN_COUNT_TOTAL] == response.usage.total_tokens
    assert attributes[OpenInference.COST_TOTAL] == pytest.approx(float(price.total_price), rel=1e-12)
    assert attributes[OpenInference.COST_PROMPT] == attributes[OpenInference.COST_TOTAL]
    assert OpenInference.COST_COMPLETION not in attributes  # no output side was charged


def test_failed_call_still_names_kind_model_and_system(
    compat_instrumented: Callable[[str], OpenAIInstrumentor], client: openai.OpenAI, span_exporter: InMemorySpanExporter
) -> None:
    compat_instrumented("openinference,legacy-semconv,langfuse")
    with pytest.raises(openai.RateLimitError):
        _chat(client, "error_429")

    attributes: dict[str, Any] = dict(only_span(span_exporter).attributes or {})
    assert attributes[OpenInference.SPAN_KIND] == "LLM"
    assert attributes[OpenInference.MODEL_NAME] == MODEL  # the requested model: no response
    assert attributes[Legacy.SYSTEM] == "openai"
    assert not {OpenInference.COST_TOTAL, Langfuse.USAGE_COST, Legacy.USAGE_PROMPT_TOKENS} & attributes.keys()


def test_azure_provider_in_each_vocabulary(
    configure: Callable[..., None],
    instrument: Callable[..., OpenAIInstrumentor],
    fake_openai: FakeOpenAIServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    configure(**{ENV.COMPAT: "openinference,legacy-semconv"})
    instrument()
    endpoint = f"http://127.0.0.1:{fake_openai.port}"
    with openai.AzureOpenAI(azure_endpoint=endpoint, api_key=API_KEY, api_version="2024-10-21", max_retries=0) as azure:
        azure.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])

    attributes = only_span(span_exporter).attributes or {}
    assert attributes[GenAI.PROVIDER_NAME] == "azure.ai.openai"
    assert attributes[OpenInference.PROVIDER] == "azure"  # the host
    assert attributes[OpenInference.SYSTEM] == "openai"  # the models' vendor
    assert attributes[Legacy.SYSTEM] == "az.ai.openai"  # semantic conventions v1.30's value
