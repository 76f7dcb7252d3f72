"""Errors reach the app unchanged (same type and message as uninstrumented); spans say ERROR."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import openai
import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from tests.integration.openai.helpers import call, only_span, scenario
from tests.support.telemetry import metric_points

from genai_cost.demo.fake_openai import FakeOpenAIServer
from genai_cost.instrumentation.openai import OpenAIInstrumentor
from genai_cost.semconv import GenAI, Metrics, Ours

MESSAGES = [{"role": "user", "content": "hi"}]


def _chat(headers: dict[str, str], *, stream: bool = False, **options: Any) -> Callable[[Any], Any]:
    return lambda sdk: sdk.chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        stream=stream,
        extra_headers=headers,
        **options,
    )


def _outcome(run: Callable[[], Any]) -> tuple[type[BaseException], str, int]:
    """The exception the app sees (type and message) and how many chunks it got before."""
    chunks: list[Any] = []
    with pytest.raises(BaseException) as caught:
        run_result = run()
        chunks.extend(run_result)
    return type(caught.value), str(caught.value), len(chunks)


def _error_type(error: type[BaseException]) -> str:
    return f"{error.__module__}.{error.__qualname__}"


CASES = [
    pytest.param("error_400", False, id="400"),
    pytest.param("error_401", False, id="401"),
    pytest.param("error_404", False, id="404"),
    pytest.param("error_429", False, id="429"),
    pytest.param("error_500", False, id="500"),
    pytest.param("malformed", False, id="malformed-json"),
    pytest.param("error_401", True, id="401-stream"),
    pytest.param("error_500", True, id="500-stream"),
    pytest.param("reset_mid_stream", True, id="reset-mid-stream"),
    pytest.param("malformed", True, id="malformed-sse"),
]


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize(("name", "stream"), CASES)
def test_error_reaches_app_unchanged_and_span_is_error(
    instrument: Callable[..., OpenAIInstrumentor],
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
    fake_openai: FakeOpenAIServer,
    name: str,
    stream: bool,
    is_async: bool,
) -> None:
    def run() -> Any:
        return call(
            fake_openai.base_url,
            _chat(scenario(name), stream=stream),
            is_async=is_async,
            consume=stream,
        )

    plain = _outcome(run)
    instrument()
    seen = _outcome(run)
    assert seen == plain

    span = only_span(span_exporter)
    attrs = dict(span.attributes or {})
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == seen[0].__name__
    assert attrs[GenAI.ERROR_TYPE] == _error_type(seen[0])
    assert GenAI.USAGE_COST_AMOUNT not in attrs
    assert Ours.PRICING_STATUS not in attrs
    if seen[2]:  # chunks arrived before the failure
        assert GenAI.RESPONSE_TIME_TO_FIRST_CHUNK in attrs
    (duration,) = metric_points(metric_reader, Metrics.OPERATION_DURATION)
    assert duration.count == 1
    assert duration.attributes[GenAI.ERROR_TYPE] == attrs[GenAI.ERROR_TYPE]
    assert metric_points(metric_reader, Metrics.UNPRICED_CALLS) == []


def _requests_of(server: FakeOpenAIServer, run_id: str) -> int:
    return sum(1 for request in server.requests if request["headers"].get("x-fake-run") == run_id)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_sdk_retries_make_one_span_per_logical_call(
    instrumented: OpenAIInstrumentor,
    span_exporter: InMemorySpanExporter,
    fake_openai: FakeOpenAIServer,
    is_async: bool,
) -> None:
    # 429 once, then success: the SDK retries inside create(); the app made one call, one span.
    run_id = uuid.uuid4().hex
    completion = call(
        fake_openai.base_url,
        _chat(scenario("retry_429", **{"x-fake-run": run_id})),
        is_async=is_async,
        max_retries=2,
    )
    assert _requests_of(fake_openai, run_id) == 2
    span = only_span(span_exporter)
    assert span.status.status_code is StatusCode.UNSET
    assert (span.attributes or {})[GenAI.RESPONSE_ID] == completion.id


def test_retries_exhausted_make_one_error_span(
    instrumented: OpenAIInstrumentor,
    span_exporter: InMemorySpanExporter,
    fake_openai: FakeOpenAIServer,
) -> None:
    run_id = uuid.uuid4().hex
    with pytest.raises(openai.RateLimitError):
        call(
            fake_openai.base_url,
            _chat(scenario("error_429", **{"x-fake-run": run_id})),
            is_async=False,
            max_retries=2,
        )
    assert _requests_of(fake_openai, run_id) == 3
    span = only_span(span_exporter)
    assert (span.attributes or {})[GenAI.ERROR_TYPE] == _error_type(openai.RateLimitError)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_timeout(
    instrument: Callable[..., OpenAIInstrumentor],
    span_exporter: InMemorySpanExporter,
    fake_openai: FakeOpenAIServer,
    is_async: bool,
) -> None:
    def run() -> Any:
        return call(fake_openai.base_url, _chat(scenario("slow")), is_async=is_async, timeout=0.2)

    plain = _outcome(run)
    instrument()
    seen = _outcome(run)
    assert seen == plain
    assert seen[0] is openai.APITimeoutError
    span = only_span(span_exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})[GenAI.ERROR_TYPE] == _error_type(openai.APITimeoutError)


def test_connection_refused(instrument: Callable[..., OpenAIInstrumentor], span_exporter: InMemorySpanExporter) -> None:
    with FakeOpenAIServer() as server:
        base_url = server.base_url  # a port nobody listens on once the server stopped

    def run() -> Any:
        return call(base_url, _chat({}), is_async=False)

    plain = _outcome(run)
    instrument()
    assert _outcome(run) == plain
    span = only_span(span_exporter)
    assert (span.attributes or {})[GenAI.ERROR_TYPE] == _error_type(openai.APIConnectionError)
