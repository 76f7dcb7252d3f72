"""``genai_cost.client.token.detail`` reports every instrumentor's cached and reasoning tokens.

Each instrumentor (and ``CostSpanProcessor``) builds its own instruments; the SDK keeps only
the first callback of an observable counter registered under one name, so per-instrumentor
totals left every provider but the first one out of the metric. The totals are shared per
meter provider: here the four providers' real SDKs, over loopback HTTP to the fake servers,
all land in the one counter, with ``CostSpanProcessor`` (the distro's order) built first.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import textwrap
import weakref
from collections.abc import Iterator
from contextlib import ExitStack

import anthropic
import httpx2
import openai
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.integration.google_genai.helpers import client as gemini_client
from tests.integration.google_genai.helpers import config as gemini_config
from tests.reliability.support.harness import pricing_table
from tests.support import fake_bedrock
from tests.support.fake_anthropic import fake_anthropic_server
from tests.support.fake_google_genai import fake_google_genai_server
from tests.support.telemetry import metric_points

import genai_cost
from genai_cost.demo.fake_openai import FakeOpenAIServer
from genai_cost.instrumentation.anthropic import AnthropicInstrumentor
from genai_cost.instrumentation.bedrock import BedrockInstrumentor
from genai_cost.instrumentation.google_genai import GoogleGenAIInstrumentor
from genai_cost.instrumentation.openai import OpenAIInstrumentor
from genai_cost.metrics import Instruments
from genai_cost.processor import CostSpanProcessor
from genai_cost.semconv import GenAI, Metrics, TokenType

MESSAGES = [{"role": "user", "content": "Hello"}]
BEDROCK_MESSAGES = [{"role": "user", "content": [{"text": "Hello"}]}]


@pytest.fixture
def reader() -> Iterator[InMemoryMetricReader]:
    """One meter provider for the processor and all four instrumentors (the processor first)."""
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(
        CostSpanProcessor(SimpleSpanProcessor(InMemorySpanExporter()), pricing_table(), meter_provider)
    )
    instrumentors = [AnthropicInstrumentor(), OpenAIInstrumentor(), GoogleGenAIInstrumentor(), BedrockInstrumentor()]
    for instrumentor in instrumentors:
        instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, pricing=pricing_table())
    yield reader
    for instrumentor in instrumentors:
        instrumentor.uninstrument()
    meter_provider.shutdown()


def _details(reader: InMemoryMetricReader) -> dict[tuple[str, str], int]:
    return {
        (point.attributes[GenAI.PROVIDER_NAME], point.attributes[GenAI.TOKEN_TYPE]): point.value
        for point in metric_points(reader, Metrics.TOKEN_DETAIL)
    }


def _call_every_provider() -> None:
    with ExitStack() as servers:
        fake_openai = servers.enter_context(FakeOpenAIServer())
        fake_anthropic = servers.enter_context(fake_anthropic_server())
        fake_gemini = servers.enter_context(fake_google_genai_server())
        fake_aws = servers.enter_context(fake_bedrock.server())

        chat = openai.OpenAI(base_url=fake_openai.base_url, api_key="sk-test", max_retries=0)
        chat.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, extra_headers={"x-fake-scenario": "cached_reasoning"}
        )

        claude = anthropic.Anthropic(base_url=fake_anthropic.origin, api_key="sk-ant-test", max_retries=0)
        for scenario in ("cached", "thinking"):
            claude.messages.create(
                model="claude-haiku-4-5", max_tokens=64, messages=MESSAGES, extra_headers={"x-fake-scenario": scenario}
            )

        with httpx2.Client() as http:
            gemini = gemini_client(fake_gemini.origin, "gemini", http=http)
            for scenario in ("cached", "thinking"):
                config = gemini_config(scenario)
                gemini.models.generate_content(model="gemini-2.5-flash", contents="Hello", config=config)

        bedrock = fake_bedrock.client(fake_aws.origin)
        with fake_bedrock.scenario(bedrock, "cached"):
            bedrock.converse(modelId="anthropic.claude-3-5-haiku-20241022-v1:0", messages=BEDROCK_MESSAGES)


def test_every_instrumentor_reports_its_cached_and_reasoning_tokens(reader: InMemoryMetricReader) -> None:
    _call_every_provider()

    assert _details(reader) == {
        ("openai", TokenType.CACHE_READ): 1920,
        ("openai", TokenType.REASONING): 320,
        ("anthropic", TokenType.CACHE_READ): 2000,
        ("anthropic", TokenType.REASONING): 320,
        ("gcp.gemini", TokenType.CACHE_READ): 3000,
        ("gcp.gemini", TokenType.REASONING): 250,
        ("aws.bedrock", TokenType.CACHE_READ): fake_bedrock.CACHED.cache_read,
        ("aws.bedrock", TokenType.CACHE_CREATION): fake_bedrock.CACHED.cache_write,
    }


def test_shared_totals_do_not_keep_a_meter_provider_alive() -> None:
    meter_provider = MeterProvider(shutdown_on_exit=False)
    Instruments(meter_provider, model_limit=10)
    Instruments(meter_provider, model_limit=10)
    gone = weakref.ref(meter_provider)

    del meter_provider
    gc.collect()

    assert gone() is None


# What ``opentelemetry-instrument`` does: the distro's configurator builds CostSpanProcessor
# before the SDK sets the global meter provider (its instruments go through the API's proxy),
# then the instrumentors instrument with the global providers.
_DISTRO_ORDER = textwrap.dedent(
    """
    import json, sys
    import anthropic, openai
    from opentelemetry import metrics
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from genai_cost.instrumentation.anthropic import AnthropicInstrumentor
    from genai_cost.instrumentation.openai import OpenAIInstrumentor
    from genai_cost.processor import CostSpanProcessor

    processor = CostSpanProcessor(SimpleSpanProcessor(InMemorySpanExporter()))
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(processor)
    for instrumentor in (AnthropicInstrumentor(), OpenAIInstrumentor()):
        instrumentor.instrument(tracer_provider=tracer_provider)

    openai_url, anthropic_url = sys.argv[1:]
    messages = [{"role": "user", "content": "Hello"}]
    openai.OpenAI(base_url=openai_url, api_key="sk-test", max_retries=0).chat.completions.create(
        model="gpt-4o-mini", messages=messages, extra_headers={"x-fake-scenario": "cached_reasoning"})
    anthropic.Anthropic(base_url=anthropic_url, api_key="sk-ant-test", max_retries=0).messages.create(
        model="claude-haiku-4-5", max_tokens=64, messages=messages, extra_headers={"x-fake-scenario": "cached"})
    points = [point for resource in reader.get_metrics_data().resource_metrics for scope in resource.scope_metrics
              for metric in scope.metrics if metric.name == "genai_cost.client.token.detail"
              for point in metric.data.data_points]
    print(json.dumps(sorted([point.attributes["gen_ai.provider.name"], point.attributes["gen_ai.token.type"],
                             point.value] for point in points)))
    """
)


@pytest.mark.slow  # a subprocess importing both SDKs: seconds on a loaded machine
def test_global_meter_provider_configured_after_the_processor() -> None:
    source = os.path.dirname(os.path.dirname(genai_cost.__file__))
    env = {**os.environ, "PYTHONPATH": source}
    with FakeOpenAIServer() as fake_openai, fake_anthropic_server() as fake_anthropic:
        run = subprocess.run(
            [sys.executable, "-c", _DISTRO_ORDER, fake_openai.base_url, fake_anthropic.origin],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )

    assert json.loads(run.stdout) == [
        ["anthropic", TokenType.CACHE_READ, 2000],
        ["openai", TokenType.CACHE_READ, 1920],
        ["openai", TokenType.REASONING, 320],
    ]
