"""Server tools through the real SDK: web searches are counted and priced per search, web fetches
are not (Anthropic bills a fetch by the tokens of the fetched content only)."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.integration.anthropic.helpers import MODEL, SHAPES, call, request
from tests.support.fake_http import FakeHTTPServer
from tests.support.price_oracle import oracle_cost

from genai_cost.instrumentation.anthropic import AnthropicInstrumentor
from genai_cost.semconv import GenAI, Ours

WEB_SEARCHES = Ours.USAGE_PREFIX + "web_searches"


def only_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    spans = exporter.get_finished_spans()
    assert len(spans) == 1, [span.name for span in spans]
    return spans[0]


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("shape", SHAPES)
def test_web_searches_are_counted(
    instrumented: AnthropicInstrumentor,
    fake_anthropic: FakeHTTPServer,
    span_exporter: InMemorySpanExporter,
    shape: str,
    is_async: bool,
) -> None:
    call(fake_anthropic.origin, shape, request("web_search"), is_async=is_async)

    attributes = only_span(span_exporter).attributes or {}
    # Streams: the count arrives in message_delta only, with the cumulative input count.
    assert attributes[WEB_SEARCHES] == 2
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == 22397
    assert attributes[GenAI.USAGE_OUTPUT_TOKENS] == 637


@pytest.mark.parametrize("shape", ["create", "stream_helper"])
def test_web_fetches_are_not_web_searches(
    instrumented: AnthropicInstrumentor,
    fake_anthropic: FakeHTTPServer,
    span_exporter: InMemorySpanExporter,
    shape: str,
) -> None:
    call(fake_anthropic.origin, shape, request("web_fetch"), is_async=False)

    attributes = only_span(span_exporter).attributes or {}
    assert attributes[WEB_SEARCHES] == 0
    assert attributes[GenAI.USAGE_COST_AMOUNT] == oracle_cost(
        MODEL, "anthropic", input_tokens=25039, output_tokens=931, cache_read_tokens=0, cache_write_tokens=0
    )


@pytest.mark.parametrize("shape", ["create", "create_stream"])
def test_web_searches_are_priced_per_search(
    instrumented: AnthropicInstrumentor,
    fake_anthropic: FakeHTTPServer,
    span_exporter: InMemorySpanExporter,
    shape: str,
) -> None:
    call(fake_anthropic.origin, shape, request("web_search"), is_async=False)

    attributes = only_span(span_exporter).attributes or {}
    assert attributes[GenAI.USAGE_COST_AMOUNT] == oracle_cost(
        MODEL,
        "anthropic",
        input_tokens=22397,
        output_tokens=637,
        cache_read_tokens=0,
        cache_write_tokens=0,
        web_searches=2,
    )
    assert attributes[Ours.COST_PREFIX + "web_search"] == oracle_cost(MODEL, "anthropic", web_searches=2)
