"""Real LiteLLM over the real openai SDK against the fake OpenAI server, with our openai
instrumentor on too: one span and one count per logical call.

LiteLLM cannot share the ``test`` environment (it moves boto3/botocore), so it runs in a cached
venv of its own (``test_litellm_venv.py``); here, without it, these tests are skipped.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.support.fake_anthropic import SCENARIOS as ANTHROPIC_SCENARIOS
from tests.support.fake_anthropic import fake_anthropic_server
from tests.support.instrumenting import assert_failed, instrumented
from tests.support.price_oracle import oracle_cost
from tests.support.telemetry import metric_points

from genai_cost.demo.fake_openai import SCENARIOS, FakeOpenAIServer
from genai_cost.instrumentation.openai import OpenAIInstrumentor
from genai_cost.pricing import PricingTable
from genai_cost.semconv import GenAI, Metrics

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network at import
litellm = pytest.importorskip("litellm", reason="litellm is not installed; test_litellm_venv.py runs this in a venv")

from genai_cost.instrumentation.litellm import LiteLLMInstrumentor  # noqa: E402

# LiteLLM's own warnings (its pydantic models, its logging): the app's, with or without us.
pytestmark = [
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

MODEL = "gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Say hello"}]
CACHED = SCENARIOS["cached"]
CLAUDE = "claude-sonnet-4-5"
LITELLM_SCOPE = "genai_cost.instrumentation.litellm"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def both(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> Iterator[None]:
    """Our openai instrumentor under LiteLLM's, as ``opentelemetry-instrument`` would load them."""
    options = {"tracer_provider": tracer_provider, "meter_provider": meter_provider, "pricing": PricingTable.default()}
    with instrumented(OpenAIInstrumentor(), **options), instrumented(LiteLLMInstrumentor(), **options):
        yield


def _options(fake: FakeOpenAIServer, scenario: str = "cached", **more: Any) -> dict[str, Any]:
    return {"model": f"openai/{MODEL}", "messages": MESSAGES, "api_base": fake.base_url, "api_key": "sk-test",
            "max_retries": 0, "extra_headers": {"x-fake-scenario": scenario}, **more}  # fmt: skip


def complete(fake: FakeOpenAIServer, *, is_async: bool, stream: bool, scenario: str = "cached", **more: Any) -> Any:
    """One ``litellm.completion``/``acompletion``; a stream is read to its end (its chunks' texts)."""
    options = _options(fake, scenario, stream=stream, **more)
    if not is_async:
        result = litellm.completion(**options)
        return [chunk.choices[0].delta.content if chunk.choices else None for chunk in result] if stream else result

    async def run() -> Any:
        result = await litellm.acompletion(**options)
        if stream:
            return [chunk.choices[0].delta.content if chunk.choices else None async for chunk in result]
        return result

    return asyncio.run(run())


def _cached_cost() -> float:
    return oracle_cost(MODEL, "openai", input_tokens=CACHED.prompt_tokens, output_tokens=CACHED.completion_tokens,
                       cache_read_tokens=CACHED.cached_tokens)  # fmt: skip


def _only_litellm_span(exporter: InMemorySpanExporter) -> Any:
    spans = exporter.get_finished_spans()
    assert [span.instrumentation_scope.name for span in spans] == [LITELLM_SCOPE]
    return spans[0]


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_one_span_and_one_count_per_call_through_the_openai_sdk(
    fake: FakeOpenAIServer,
    both: None,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
    monkeypatch: pytest.MonkeyPatch,
    is_async: bool,
    stream: bool,
) -> None:
    more = {"stream_options": {"include_usage": True}} if stream else {}
    complete(fake, is_async=is_async, stream=stream, **more)

    span = _only_litellm_span(span_exporter)  # the openai SDK layer under it is suppressed
    attributes = span.attributes or {}
    assert attributes[GenAI.PROVIDER_NAME] == "openai"
    assert attributes[GenAI.REQUEST_MODEL] == MODEL
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == CACHED.prompt_tokens
    assert attributes[GenAI.USAGE_OUTPUT_TOKENS] == CACHED.completion_tokens
    assert attributes[GenAI.USAGE_CACHE_READ_INPUT_TOKENS] == CACHED.cached_tokens
    assert attributes[GenAI.USAGE_COST_SOURCE] == "local"
    assert attributes[GenAI.USAGE_COST_AMOUNT] == pytest.approx(_cached_cost(), rel=1e-9)
    input_counts = [p for p in metric_points(metric_reader, Metrics.TOKEN_USAGE)
                    if p.attributes.get(GenAI.TOKEN_TYPE) == "input"]  # fmt: skip
    assert [(point.count, point.sum) for point in input_counts] == [(1, CACHED.prompt_tokens)]


def _embed(fake: FakeOpenAIServer, *, is_async: bool) -> Any:
    # With an encoding_format LiteLLM goes through the SDK's create() (else client.post()).
    options = {"model": "openai/text-embedding-3-small", "input": ["hello"], "api_base": fake.base_url,
               "api_key": "sk-test", "encoding_format": "float"}  # fmt: skip
    return asyncio.run(litellm.aembedding(**options)) if is_async else litellm.embedding(**options)


def test_without_the_litellm_instrumentor_the_openai_layer_traces_embeddings(
    fake: FakeOpenAIServer, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    # LiteLLM 1.110 embeds through ``embeddings.with_raw_response.create`` of the openai SDK (its
    # chat calls go to ``client.post`` directly, beside the methods our openai layer wraps; older
    # releases called ``chat.completions.with_raw_response.create``): that inner layer is real,
    # and the tests with both instrumentors show it suppressed.
    with instrumented(OpenAIInstrumentor(), tracer_provider=tracer_provider):
        _embed(fake, is_async=False)

    (span,) = span_exporter.get_finished_spans()
    assert span.instrumentation_scope.name == "genai_cost.instrumentation.openai"


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_stream_usage_chunk_asked_for_is_hidden_from_the_app(
    fake: FakeOpenAIServer,
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
    is_async: bool,
) -> None:
    plain = complete(fake, is_async=is_async, stream=True)
    monkeypatch.setenv("GENAI_COST_OPENAI_STREAM_USAGE", "true")
    with instrumented(LiteLLMInstrumentor(), tracer_provider=tracer_provider, pricing=PricingTable.default()):
        traced = complete(fake, is_async=is_async, stream=True)

    assert traced == plain
    span = _only_litellm_span(span_exporter)
    assert (span.attributes or {})[GenAI.USAGE_INPUT_TOKENS] == CACHED.prompt_tokens


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_litellm_cost_is_used_only_when_trusted(
    fake: FakeOpenAIServer,
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
    stream: bool,
) -> None:
    monkeypatch.setenv("GENAI_COST_TRUST_LITELLM_COST", "true")
    more = {"stream_options": {"include_usage": True}} if stream else {}
    with instrumented(LiteLLMInstrumentor(), tracer_provider=tracer_provider, pricing=PricingTable.default()):
        result = complete(fake, is_async=False, stream=stream, **more)

    attributes = _only_litellm_span(span_exporter).attributes or {}
    assert attributes[GenAI.USAGE_COST_SOURCE] == "provider"
    if not stream:
        assert attributes[GenAI.USAGE_COST_AMOUNT] == result._hidden_params["response_cost"]


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_embedding_is_one_priced_span_and_one_count(
    fake: FakeOpenAIServer,
    both: None,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
    is_async: bool,
) -> None:
    result = _embed(fake, is_async=is_async)

    attributes = _only_litellm_span(span_exporter).attributes or {}  # the openai SDK layer under it is suppressed
    assert attributes[GenAI.OPERATION_NAME] == "embeddings"
    assert attributes[GenAI.PROVIDER_NAME] == "openai"
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == result.usage.prompt_tokens
    expected = oracle_cost("text-embedding-3-small", "openai", input_tokens=result.usage.prompt_tokens)
    assert attributes[GenAI.USAGE_COST_AMOUNT] == pytest.approx(expected, rel=1e-9)
    (point,) = metric_points(metric_reader, Metrics.TOKEN_USAGE)
    assert (point.count, point.sum) == (1, result.usage.prompt_tokens)


def _failure(fake: FakeOpenAIServer, is_async: bool) -> tuple[type[BaseException], str]:
    with pytest.raises(Exception) as caught:
        complete(fake, is_async=is_async, stream=False, scenario="error_429")
    return type(caught.value), str(caught.value)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_errors_reach_the_app_unchanged(
    fake: FakeOpenAIServer,
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
    is_async: bool,
) -> None:
    plain = _failure(fake, is_async)
    options = {"tracer_provider": tracer_provider, "meter_provider": meter_provider}
    with instrumented(OpenAIInstrumentor(), **options), instrumented(LiteLLMInstrumentor(), **options):
        traced = _failure(fake, is_async)

    assert traced == plain
    assert_failed(_only_litellm_span(span_exporter), traced[0], metric_reader)


def test_uninstrument_restores_litellm(fake: FakeOpenAIServer, tracer_provider: TracerProvider) -> None:
    originals = (litellm.completion, litellm.acompletion, litellm.embedding, litellm.aembedding)
    with instrumented(LiteLLMInstrumentor(), tracer_provider=tracer_provider):
        assert litellm.completion is not originals[0]
    assert (litellm.completion, litellm.acompletion, litellm.embedding, litellm.aembedding) == originals


@pytest.fixture(scope="module")
def fake_anthropic() -> Iterator[Any]:
    with fake_anthropic_server() as server:
        yield server


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_anthropic_through_litellm_is_priced_with_its_cache_reads_and_writes(
    fake_anthropic: Any, both: None, span_exporter: InMemorySpanExporter, is_async: bool, stream: bool
) -> None:
    # LiteLLM calls Anthropic with its own HTTP client (no SDK of ours underneath) and reports
    # Anthropic's cache writes as ``cache_creation_input_tokens`` beside OpenAI's shape.
    scenario = ANTHROPIC_SCENARIOS["cached_write"]
    options = {"model": f"anthropic/{CLAUDE}", "messages": MESSAGES, "api_base": fake_anthropic.origin,
               "api_key": "sk-ant-test", "extra_headers": {"x-fake-scenario": "cached_write"}, "stream": stream,
               "max_tokens": 200}  # fmt: skip
    if stream:  # LiteLLM sends a stream's usage only when asked, whatever the provider sent
        options["stream_options"] = {"include_usage": True}

    async def run_async() -> None:
        result = await litellm.acompletion(**options)
        if stream:
            [chunk async for chunk in result]

    if is_async:
        asyncio.run(run_async())
    else:
        result = litellm.completion(**options)
        if stream:
            list(result)

    attributes = _only_litellm_span(span_exporter).attributes or {}
    assert attributes[GenAI.PROVIDER_NAME] == "anthropic"
    total_input = scenario.input_tokens + scenario.cache_read + scenario.cache_creation
    usage = {"input_tokens": total_input, "output_tokens": scenario.output_tokens,
             "cache_read_tokens": scenario.cache_read, "cache_write_tokens": scenario.cache_creation}  # fmt: skip
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == total_input
    assert attributes[GenAI.USAGE_CACHE_CREATION_INPUT_TOKENS] == scenario.cache_creation
    assert attributes[GenAI.USAGE_COST_AMOUNT] == pytest.approx(oracle_cost(CLAUDE, "anthropic", **usage), rel=1e-9)
