"""``GENAI_COST_COMPAT`` parsing and plans, the ``cache_write`` alias, and ``CostSpanProcessor``
adding the compat names to the spans of other instrumentations that it prices."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import genai_prices
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from genai_cost.compat import _BACKENDS, compat_for
from genai_cost.config import COMPAT_VALUES, ENV, get_settings, settings_from_env
from genai_cost.pricing import PricingTable
from genai_cost.processor import CostSpanProcessor
from genai_cost.semconv import GenAI, Langfuse, Legacy, Logfire, OpenInference, Ours
from genai_cost.usage import Usage, usage_from_attributes

CLAUDE = "claude-haiku-4-5-20251001"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(None, (), id="unset"),
        pytest.param("", (), id="empty"),
        pytest.param("openinference", ("openinference",), id="one"),
        pytest.param(" Langfuse , logfire,langfuse ", ("langfuse", "logfire"), id="case-space-duplicate"),
        pytest.param("legacy-semconv,phoenix", ("legacy-semconv",), id="unknown-dropped"),
    ],
)
def test_compat_setting(raw: str | None, expected: tuple[str, ...], caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="genai_cost.config"):
        settings = settings_from_env({} if raw is None else {ENV.COMPAT: raw})
    assert settings.compat == expected
    assert ("phoenix" in caplog.text) == (raw is not None and "phoenix" in raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, False),
        ("http", False),
        ("http,gen_ai_latest_experimental", True),
        (" gen_ai_latest_experimental ", True),
    ],
)
def test_latest_semconv_opt_in(raw: str | None, expected: bool) -> None:
    env = {} if raw is None else {ENV.SEMCONV_STABILITY_OPT_IN: raw}
    assert settings_from_env(env).latest_semconv is expected


def test_every_documented_value_has_a_plan() -> None:
    assert set(COMPAT_VALUES) == set(_BACKENDS)
    assert compat_for(()) is None


# The attributes one priced call has at its end: request, response, usage and cost.
CALL: dict[str, Any] = {
    GenAI.OPERATION_NAME: "chat",
    GenAI.PROVIDER_NAME: "anthropic",
    GenAI.REQUEST_MODEL: "claude-haiku-4-5",
    GenAI.RESPONSE_MODEL: CLAUDE,
    **Usage(
        input_tokens=3520, output_tokens=120, cache_read_tokens=500, cache_creation_tokens=3000, reasoning_tokens=20
    ).to_attributes(),
    GenAI.USAGE_COST_AMOUNT: 0.5,
    Ours.COST_PREFIX + "input": 0.01,
    Ours.COST_PREFIX + "cache_read": 0.02,
    Ours.COST_PREFIX + "cache_creation_5m": 0.04,
    Ours.COST_PREFIX + "cache_creation_1h": 0.08,
    Ours.COST_PREFIX + "output": 0.15,
    Ours.COST_PREFIX + "reasoning": 0.2,
}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("langfuse", {Langfuse.USAGE_COST: 0.5}, id="langfuse"),
        pytest.param("logfire", {Logfire.OPERATION_COST: 0.5}, id="logfire"),
        pytest.param(
            "legacy-semconv",
            {Legacy.SYSTEM: "anthropic", Legacy.USAGE_PROMPT_TOKENS: 3520, Legacy.USAGE_COMPLETION_TOKENS: 120},
            id="legacy-semconv",
        ),
        pytest.param(
            "openinference",
            {
                OpenInference.SPAN_KIND: "LLM",
                OpenInference.MODEL_NAME: CLAUDE,  # the model that answered
                OpenInference.PROVIDER: "anthropic",
                OpenInference.SYSTEM: "anthropic",
                OpenInference.TOKEN_COUNT_PROMPT: 3520,
                OpenInference.TOKEN_COUNT_COMPLETION: 120,
                OpenInference.TOKEN_COUNT_TOTAL: 3640,
                OpenInference.TOKEN_COUNT_PROMPT_CACHE_READ: 500,
                OpenInference.TOKEN_COUNT_PROMPT_CACHE_WRITE: 3000,
                OpenInference.TOKEN_COUNT_COMPLETION_REASONING: 20,
                OpenInference.COST_TOTAL: 0.5,
                OpenInference.COST_PROMPT: pytest.approx(0.01 + 0.02 + 0.04 + 0.08),
                OpenInference.COST_COMPLETION: pytest.approx(0.15 + 0.2),
                OpenInference.COST_PROMPT_INPUT: 0.01,
                OpenInference.COST_PROMPT_CACHE_READ: 0.02,
                OpenInference.COST_PROMPT_CACHE_WRITE: pytest.approx(0.04 + 0.08),
                OpenInference.COST_COMPLETION_OUTPUT: 0.15,
                OpenInference.COST_COMPLETION_REASONING: 0.2,
            },
            id="openinference",
        ),
    ],
)
def test_plan_reads_the_attributes_already_built(value: str, expected: dict[str, Any]) -> None:
    compat = compat_for((value,))
    assert compat is not None
    assert compat.attributes(CALL) == expected


def test_provider_names_outside_the_other_vocabularies() -> None:
    compat = compat_for(("openinference", "legacy-semconv"))
    assert compat is not None
    bedrock = compat.attributes({GenAI.PROVIDER_NAME: "aws.bedrock"})
    assert bedrock[OpenInference.PROVIDER] == "aws"
    assert OpenInference.SYSTEM not in bedrock  # a Bedrock model may be any vendor's
    assert bedrock[Legacy.SYSTEM] == "aws.bedrock"
    custom = compat.attributes({GenAI.PROVIDER_NAME: "in-house"})
    assert custom[OpenInference.PROVIDER] == custom[Legacy.SYSTEM] == "in-house"
    assert compat.attributes({GenAI.PROVIDER_NAME: 7}).keys() == {OpenInference.SPAN_KIND}


def test_sums_take_numbers_only() -> None:
    compat = compat_for(("openinference",))
    assert compat is not None
    added = compat.attributes({GenAI.USAGE_INPUT_TOKENS: "12", GenAI.USAGE_OUTPUT_TOKENS: 5})
    assert added[OpenInference.TOKEN_COUNT_TOTAL] == 5
    assert OpenInference.TOKEN_COUNT_TOTAL not in compat.attributes({GenAI.USAGE_INPUT_TOKENS: True})


def test_cache_write_is_emitted_beside_cache_creation_and_read_alone() -> None:
    attributes = Usage(input_tokens=10, cache_creation_tokens=4).to_attributes()
    assert attributes[GenAI.USAGE_CACHE_WRITE_INPUT_TOKENS] == attributes[GenAI.USAGE_CACHE_CREATION_INPUT_TOKENS] == 4
    newer = {GenAI.USAGE_INPUT_TOKENS: 10, GenAI.USAGE_CACHE_WRITE_INPUT_TOKENS: 4}
    assert usage_from_attributes(newer) == Usage(input_tokens=10, cache_creation_tokens=4)


@pytest.fixture
def pipeline(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    monkeypatch.setenv(ENV.COMPAT, "openinference,langfuse")
    get_settings.cache_clear()
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(CostSpanProcessor(SimpleSpanProcessor(exporter), pricing=PricingTable.default()))
    yield provider, exporter
    get_settings.cache_clear()


def test_processor_prices_a_foreign_cache_write_span_and_adds_the_compat_names(
    pipeline: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = pipeline
    # Another instrumentation on the conventions' newer name only (cache writes inside input).
    attributes = {
        GenAI.PROVIDER_NAME: "anthropic",
        GenAI.RESPONSE_MODEL: CLAUDE,
        GenAI.USAGE_INPUT_TOKENS: 3020,
        GenAI.USAGE_CACHE_WRITE_INPUT_TOKENS: 3000,
        GenAI.USAGE_OUTPUT_TOKENS: 120,
    }
    provider.get_tracer("another-instrumentation").start_span("chat", attributes=attributes).end()

    (span,) = exporter.get_finished_spans()
    forwarded = dict(span.attributes or {})
    oracle = genai_prices.calc_price(
        genai_prices.Usage(input_tokens=3020, cache_write_tokens=3000, output_tokens=120),
        CLAUDE,
        provider_id="anthropic",
    )
    assert forwarded[GenAI.USAGE_COST_AMOUNT] == pytest.approx(float(oracle.total_price), rel=1e-12)
    assert forwarded[Langfuse.USAGE_COST] == forwarded[OpenInference.COST_TOTAL] == forwarded[GenAI.USAGE_COST_AMOUNT]
    assert forwarded[OpenInference.COST_PROMPT] == pytest.approx(float(oracle.input_price), rel=1e-12)
    assert forwarded[OpenInference.COST_PROMPT_CACHE_WRITE] == forwarded[Ours.COST_PREFIX + "cache_creation"]
    assert forwarded[OpenInference.MODEL_NAME] == CLAUDE
    assert forwarded[OpenInference.SPAN_KIND] == "LLM"


def test_processor_keeps_what_the_other_instrumentation_wrote(
    pipeline: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = pipeline
    # An OpenInference embedding span: its own kind and token names.
    attributes = {
        OpenInference.SPAN_KIND: "EMBEDDING",
        OpenInference.EMBEDDING_MODEL_NAME: "text-embedding-3-small",
        OpenInference.PROVIDER: "openai",
        OpenInference.TOKEN_COUNT_PROMPT: 8,
        OpenInference.TOKEN_COUNT_TOTAL: 8,
    }
    provider.get_tracer("openinference").start_span("CreateEmbeddings", attributes=attributes).end()

    (span,) = exporter.get_finished_spans()
    forwarded = dict(span.attributes or {})
    oracle = genai_prices.calc_price(genai_prices.Usage(input_tokens=8), "text-embedding-3-small", provider_id="openai")
    assert forwarded[OpenInference.SPAN_KIND] == "EMBEDDING"
    assert forwarded[OpenInference.COST_TOTAL] == pytest.approx(float(oracle.total_price), rel=1e-12)
    assert {name: forwarded[name] for name in attributes} == attributes
