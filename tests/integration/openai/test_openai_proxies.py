"""Usage an OpenAI-compatible proxy reports beyond OpenAI's own fields, read through the real SDK.

LiteLLM's proxy answers Claude models in OpenAI's chat shape. Its ``Usage`` (litellm/types/utils.py
before 1.7x) keeps Anthropic's cache writes only at the top level, ``cache_creation_input_tokens``
beside ``prompt_tokens_details.cached_tokens``; later releases copy them to
``prompt_tokens_details.cache_write_tokens`` too (tests/integration/litellm_calls covers those).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.integration.openai.helpers import API_KEY, only_span
from tests.support.fake_http import FakeHTTPServer, Reply, Request
from tests.support.price_oracle import oracle_cost

from genai_cost.instrumentation.openai import OpenAIInstrumentor
from genai_cost.pricing import PricingTable
from genai_cost.semconv import GenAI

# Served under the proxy's host, a call is priced at provider ``openai``: a model whose entry there
# prices cache writes, so a write read as plain input would cost less.
MODEL = "gpt-5.6-sol"
USAGE = {"prompt_tokens": 3520, "completion_tokens": 120, "total_tokens": 3640,
         "prompt_tokens_details": {"cached_tokens": 500},
         "cache_creation_input_tokens": 3000, "cache_read_input_tokens": 500}  # fmt: skip


def _answer(request: Request) -> Reply:
    message = {"role": "assistant", "content": "Hello."}
    body = {"id": "chatcmpl-proxy", "object": "chat.completion", "created": 1_763_000_000, "model": MODEL,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}], "usage": USAGE}  # fmt: skip
    return Reply(200, body)


@pytest.fixture(scope="module")
def proxy() -> Iterator[FakeHTTPServer]:
    with FakeHTTPServer(_answer) as server:
        yield server


def test_cache_writes_a_proxy_reports_at_the_top_level_are_priced_as_writes(
    proxy: FakeHTTPServer, instrument: Callable[..., OpenAIInstrumentor], span_exporter: InMemorySpanExporter
) -> None:
    instrument(pricing=PricingTable.default())
    with openai.OpenAI(api_key=API_KEY, base_url=f"{proxy.origin}/v1", max_retries=0) as client:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])

    attributes: Any = only_span(span_exporter).attributes
    assert attributes[GenAI.USAGE_CACHE_CREATION_INPUT_TOKENS] == 3000
    assert attributes[GenAI.USAGE_CACHE_READ_INPUT_TOKENS] == 500
    expected = oracle_cost(MODEL, "openai", input_tokens=3520, output_tokens=120, cache_read_tokens=500,
                           cache_write_tokens=3000)  # fmt: skip
    assert attributes[GenAI.USAGE_COST_AMOUNT] == pytest.approx(expected, rel=1e-9)
