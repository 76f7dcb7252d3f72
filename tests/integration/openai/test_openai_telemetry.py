"""Metrics for every call, content capture and secrets, instrument/uninstrument, our own failures."""

from __future__ import annotations

import gc
import importlib
import json
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

import openai
import pytest
import wrapt
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from tests.integration.openai.helpers import API_KEY, only_span, scenario, scenario_cost
from tests.support.telemetry import metric_points

from genai_cost.config import ENV
from genai_cost.demo.fake_openai import SCENARIOS, FakeOpenAIServer
from genai_cost.instrumentation.openai import OpenAIInstrumentor, chat
from genai_cost.instrumentation.openai.content import MAX_TEXT_CHARS
from genai_cost.pricing import PricingTable
from genai_cost.semconv import GenAI, Metrics, Ours, PricingStatus, TokenType

ANY_PROXY: type = getattr(wrapt, "BaseObjectProxy", wrapt.ObjectProxy)
SECRET_PROMPT = "my password is hunter2"
MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": SECRET_PROMPT}]


def _calls(client: openai.OpenAI) -> None:
    """A mix of calls: plain, streamed, unknown model, embeddings."""
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, extra_headers=scenario("cached"))  # type: ignore[arg-type]
    list(
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=MESSAGES,  # type: ignore[arg-type]
            stream=True,
            stream_options={"include_usage": True},
            extra_headers=scenario("cached"),
        )
    )
    client.chat.completions.create(model="gpt-unreleased-9", messages=MESSAGES)  # type: ignore[arg-type]
    client.embeddings.create(model="text-embedding-3-small", input=SECRET_PROMPT)


@pytest.mark.parametrize("tracing", ["always_off", "no_tracer_provider"])
def test_metrics_for_every_call_even_without_sampled_spans(
    instrument: Callable[..., OpenAIInstrumentor],
    metric_reader: InMemoryMetricReader,
    span_exporter: InMemorySpanExporter,
    pricing: PricingTable,
    client: openai.OpenAI,
    tracing: str,
) -> None:
    if tracing == "always_off":
        provider = TracerProvider(sampler=ALWAYS_OFF)
        provider.add_span_processor(SimpleSpanProcessor(span_exporter))
        instrument(tracer_provider=provider)
    else:
        instrument(tracer_provider=None)  # the global API default: a no-op tracer
    _calls(client)
    assert span_exporter.get_finished_spans() == ()

    durations = metric_points(metric_reader, Metrics.OPERATION_DURATION)
    assert sum(point.count for point in durations) == 4
    tokens = metric_points(metric_reader, Metrics.TOKEN_USAGE)
    by_type: dict[str, int] = {}
    for point in tokens:
        token_type = point.attributes[GenAI.TOKEN_TYPE]
        by_type[token_type] = by_type.get(token_type, 0) + int(point.sum)
    cached, default = SCENARIOS["cached"], SCENARIOS["default"]
    assert by_type[TokenType.INPUT] == 2 * cached.prompt_tokens + 2 * default.prompt_tokens
    assert by_type[TokenType.OUTPUT] == 2 * cached.completion_tokens + default.completion_tokens
    (cost,) = metric_points(metric_reader, Metrics.OPERATION_COST)[:1]
    one_call = scenario_cost(pricing.match("gpt-4o-mini", provider="openai"), cached)
    chat_costs = [
        p for p in metric_points(metric_reader, Metrics.OPERATION_COST) if p.attributes[GenAI.OPERATION_NAME] == "chat"
    ]
    assert sum(p.count for p in chat_costs) == 2
    assert sum(p.sum for p in chat_costs) == pytest.approx(2 * one_call, rel=1e-12)
    (unpriced,) = metric_points(metric_reader, Metrics.UNPRICED_CALLS)
    assert unpriced.value == 1
    assert unpriced.attributes[Ours.UNPRICED_REASON] == PricingStatus.UNKNOWN_MODEL
    assert cost.count >= 1
    assert metric_points(metric_reader, Metrics.TIME_TO_FIRST_CHUNK)[0].count == 1


def test_cached_and_reasoning_parts_are_running_totals(
    instrumented: OpenAIInstrumentor, metric_reader: InMemoryMetricReader, client: openai.OpenAI
) -> None:
    def parts() -> dict[str, int]:
        points = metric_points(metric_reader, Metrics.TOKEN_DETAIL)
        assert all(point.attributes[GenAI.REQUEST_MODEL] == "o4-mini" for point in points)
        return {point.attributes[GenAI.TOKEN_TYPE]: point.value for point in points}

    def call() -> None:
        client.chat.completions.create(model="o4-mini", messages=MESSAGES, extra_headers=scenario("cached_reasoning"))  # type: ignore[arg-type]

    both = SCENARIOS["cached_reasoning"]
    assert both.cached_tokens and both.reasoning_tokens
    call()
    assert parts() == {TokenType.CACHE_READ: both.cached_tokens, TokenType.REASONING: both.reasoning_tokens}
    call()
    call()
    assert parts() == {TokenType.CACHE_READ: 3 * both.cached_tokens, TokenType.REASONING: 3 * both.reasoning_tokens}


def test_metric_attributes_are_low_cardinality(
    instrumented: OpenAIInstrumentor, metric_reader: InMemoryMetricReader, client: openai.OpenAI
) -> None:
    _calls(client)
    allowed = {
        GenAI.OPERATION_NAME,
        GenAI.PROVIDER_NAME,
        GenAI.REQUEST_MODEL,
        GenAI.RESPONSE_MODEL,
        GenAI.SERVER_ADDRESS,
        GenAI.SERVER_PORT,
        GenAI.ERROR_TYPE,
        GenAI.TOKEN_TYPE,
        Ours.UNPRICED_REASON,
    }
    metrics = (Metrics.OPERATION_DURATION, Metrics.TOKEN_USAGE, Metrics.OPERATION_COST, Metrics.UNPRICED_CALLS)
    for name in (*metrics, Metrics.TOKEN_DETAIL):
        for point in metric_points(metric_reader, name):
            assert set(point.attributes) <= allowed, (name, point.attributes)


def _all_text(exporter: InMemorySpanExporter) -> str:
    """Everything a span exporter would ship, as text."""
    return json.dumps([json.loads(span.to_json()) for span in exporter.get_finished_spans()])


def test_content_not_captured_by_default_and_no_secrets(
    configure: Callable[..., None],
    instrument: Callable[..., OpenAIInstrumentor],
    span_exporter: InMemorySpanExporter,
    fake_openai: FakeOpenAIServer,
    client: openai.OpenAI,
) -> None:
    configure()
    instrument()
    _calls(client)
    with pytest.raises(openai.AuthenticationError) as caught:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, extra_headers=scenario("error_401"))  # type: ignore[arg-type]
    assert API_KEY in str(caught.value)  # the SDK's message quotes the key...
    with openai.AzureOpenAI(
        api_key=API_KEY, api_version="2024-10-21", azure_endpoint=f"http://127.0.0.1:{fake_openai.port}"
    ) as azure:
        azure.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
    exported = _all_text(span_exporter)
    assert len(span_exporter.get_finished_spans()) == 6
    assert API_KEY not in exported  # ...the spans never do
    assert "Bearer" not in exported
    assert "api-key" not in exported.lower()
    assert SECRET_PROMPT not in exported
    assert "Be brief" not in exported
    for span in span_exporter.get_finished_spans():
        names = set(span.attributes or {})
        assert not names & {GenAI.INPUT_MESSAGES, GenAI.OUTPUT_MESSAGES, GenAI.SYSTEM_INSTRUCTIONS}


@pytest.mark.parametrize("value", ["true", "SPAN_ONLY"])
def test_content_captured_when_asked(
    configure: Callable[..., None],
    instrument: Callable[..., OpenAIInstrumentor],
    span_exporter: InMemorySpanExporter,
    client: openai.OpenAI,
    value: str,
) -> None:
    configure(**{ENV.CAPTURE_MESSAGE_CONTENT: value})
    instrument()
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
    chunks = list(
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)  # type: ignore[arg-type]
    )
    plain, streamed = span_exporter.get_finished_spans()
    expected_input = [
        {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
        {"role": "user", "parts": [{"type": "text", "content": SECRET_PROMPT}]},
    ]
    streamed_text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    for span, text in ((plain, completion.choices[0].message.content), (streamed, streamed_text)):
        attrs = dict(span.attributes or {})
        assert json.loads(attrs[GenAI.INPUT_MESSAGES]) == expected_input
        assert json.loads(attrs[GenAI.OUTPUT_MESSAGES]) == [
            {"role": "assistant", "parts": [{"type": "text", "content": text}], "finish_reason": "stop"}
        ]
    assert API_KEY not in _all_text(span_exporter)


def test_captured_content_is_size_limited_and_valid_json(
    configure: Callable[..., None],
    instrument: Callable[..., OpenAIInstrumentor],
    span_exporter: InMemorySpanExporter,
    client: openai.OpenAI,
) -> None:
    configure(**{ENV.CAPTURE_MESSAGE_CONTENT: "true"})
    instrument()
    huge = "x" * (MAX_TEXT_CHARS * 3)
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": huge}])
    (message,) = json.loads(dict(only_span(span_exporter).attributes or {})[GenAI.INPUT_MESSAGES])
    content = message["parts"][0]["content"]
    assert content.startswith("x" * MAX_TEXT_CHARS)
    assert len(content) < MAX_TEXT_CHARS + 32


def test_responses_content_capture(
    configure: Callable[..., None],
    instrument: Callable[..., OpenAIInstrumentor],
    span_exporter: InMemorySpanExporter,
    client: openai.OpenAI,
) -> None:
    configure(**{ENV.CAPTURE_MESSAGE_CONTENT: "true"})
    instrument()
    response = client.responses.create(model="o4-mini", input=SECRET_PROMPT, instructions="Be brief.")
    attrs = dict(only_span(span_exporter).attributes or {})
    assert json.loads(attrs[GenAI.SYSTEM_INSTRUCTIONS]) == [{"type": "text", "content": "Be brief."}]
    assert json.loads(attrs[GenAI.INPUT_MESSAGES]) == [
        {"role": "user", "parts": [{"type": "text", "content": SECRET_PROMPT}]}
    ]
    assert json.loads(attrs[GenAI.OUTPUT_MESSAGES]) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": response.output_text}],
            "finish_reason": "completed",
        }
    ]


WRAPPED = [
    (getattr(importlib.import_module(row.module), cls), row.method)
    for row in OpenAIInstrumentor._wraps
    for cls in (row.cls, f"Async{row.cls}")
]


def test_every_row_resolves() -> None:
    assert len(WRAPPED) == 20  # 8 rows of sync + async methods, and 2 of Realtime connections (GA, beta)
    assert all(callable(cls.__dict__[method]) for cls, method in WRAPPED)


def test_uninstrument_restores_the_original_methods(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    span_exporter: InMemorySpanExporter,
    client: openai.OpenAI,
) -> None:
    originals = [cls.__dict__[method] for cls, method in WRAPPED]
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        assert all(isinstance(cls.__dict__[method], ANY_PROXY) for cls, method in WRAPPED)
    finally:
        instrumentor.uninstrument()
    assert [cls.__dict__[method] for cls, method in WRAPPED] == originals
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
    assert span_exporter.get_finished_spans() == ()


def test_instrumenting_twice_does_not_double_wrap(
    instrumented: OpenAIInstrumentor,
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    client: openai.OpenAI,
) -> None:
    OpenAIInstrumentor().instrument(tracer_provider=tracer_provider)
    instrumented.instrument(tracer_provider=tracer_provider)
    create = WRAPPED[0][0].__dict__["create"]
    assert not isinstance(create.__wrapped__, ANY_PROXY)
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
    only_span(span_exporter)


def test_another_instrumentation_is_reported_and_both_work(
    instrument: Callable[..., OpenAIInstrumentor],
    span_exporter: InMemorySpanExporter,
    client: openai.OpenAI,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # What any other wrapt-based OpenAI instrumentation does to the same method.
    cls, method = WRAPPED[0]
    peer_calls: list[str] = []

    def peer(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        peer_calls.append(kwargs["model"])
        return wrapped(*args, **kwargs)

    original = cls.__dict__[method]
    wrapt.wrap_function_wrapper(cls, method, peer)
    try:
        instrumentor = instrument()
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
        instrumentor.uninstrument()
    finally:
        setattr(cls, method, original)
    assert any("already wrapped by another instrumentation" in r.getMessage() for r in caplog.records)
    assert peer_calls == ["gpt-4o-mini"]
    only_span(span_exporter)


def test_entry_point_loads_the_instrumentor() -> None:
    (entry,) = [e for e in entry_points(group="opentelemetry_instrumentor") if e.name == "genai_cost_openai"]
    assert entry.load() is OpenAIInstrumentor
    assert OpenAIInstrumentor().instrumentation_dependencies() == ("openai >= 1.0",)


def _boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("extractor bug")


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_raising_response_extractor_still_returns_the_sdk_result(
    instrument: Callable[..., OpenAIInstrumentor],
    span_exporter: InMemorySpanExporter,
    client: openai.OpenAI,
    monkeypatch: pytest.MonkeyPatch,
    stream: bool,
) -> None:
    def run() -> list[Any]:
        result = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=MESSAGES,
            stream=stream,
            stream_options={"include_usage": True} if stream else openai.omit,  # type: ignore[call-overload]
        )
        items = list(result) if stream else [result]
        return [item.model_dump(exclude={"id", "created"}) for item in items]

    plain = run()
    monkeypatch.setattr(chat, "usage_from_openai", _boom)  # used by both the plain and stream paths
    monkeypatch.setattr(chat.ChunkAccumulator, "add", _boom)
    instrument()
    assert run() == plain
    span = only_span(span_exporter)
    assert GenAI.USAGE_INPUT_TOKENS not in (span.attributes or {})


def test_raising_request_extractor_calls_the_sdk_untouched(
    instrument: Callable[..., OpenAIInstrumentor],
    span_exporter: InMemorySpanExporter,
    client: openai.OpenAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(chat, "endpoint_attributes", _boom)
    instrument()
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
    assert completion.usage is not None
    gc.collect()
    assert span_exporter.get_finished_spans() == ()
