"""An OpenAI client made for an OpenAI-compatible host is priced at that host's provider (issue 23, item 4).

``api.cerebras.ai`` was reported as ``openai``: Cerebras' gpt-oss-120b was priced at OpenAI's
rate and its other models were ``unknown_model``. Detection now uses the providers' API URL
patterns from genai-prices, kept in the generated table. The real openai SDK is made for
``https://api.cerebras.ai/v1``; its transport carries the requests to the local fault server,
which answers with the shape of a Cerebras chat completion (``time_info``, no ``service_tier``,
as in Cerebras' API reference, inference-docs.cerebras.ai/api-reference/chat-completions).
The expected cost is genai-prices' own ``calc_price`` for the cerebras provider on the same usage.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import httpx2
import openai
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from tests.reliability.support import wire
from tests.reliability.support.archive import API_KEY
from tests.reliability.support.fault_server import FaultServer
from tests.reliability.support.harness import Telemetry

from genai_cost.instrumentation.openai.endpoint import provider_for_host
from genai_cost.pricing import PricingTable
from genai_cost.pricing.sync import PROVIDER_MAP
from genai_cost.pricing.table import BUNDLED_PATH
from genai_cost.semconv import GenAI, Ours, PricingStatus

genai_prices = pytest.importorskip("genai_prices")
pytest.importorskip("genai_prices.data")

CEREBRAS_URL = "https://api.cerebras.ai/v1"
USAGE = {
    "prompt_tokens": 1234,
    "completion_tokens": 567,
    "total_tokens": 1801,
    "prompt_tokens_details": {"cached_tokens": 0},
    "completion_tokens_details": {"accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
}
TIME_INFO = {
    "queue_time": 0.000101,
    "prompt_time": 0.002876,
    "completion_time": 0.190211,
    "total_time": 0.19505,
    "created": 1754400000,
}


class _ToLoopback(httpx2.HTTPTransport):
    """Carries every request to ``root_url``, whatever host the client was made for."""

    def __init__(self, root_url: str) -> None:
        super().__init__()
        self._root = httpx2.URL(root_url)

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        request.url = request.url.copy_with(scheme=self._root.scheme, host=self._root.host, port=self._root.port)
        return super().handle_request(request)


def _calc_price(model: str, span: ReadableSpan) -> Any:
    assert span.start_time is not None
    return genai_prices.calc_price(
        genai_prices.Usage(input_tokens=USAGE["prompt_tokens"], output_tokens=USAGE["completion_tokens"]),
        model,
        provider_id="cerebras",
        genai_request_timestamp=datetime.fromtimestamp(span.start_time / 1e9, timezone.utc),
    ).total_price


@pytest.mark.parametrize(
    ("path", "provider"),
    [
        pytest.param("/v1", "cerebras", id="cerebras"),
        pytest.param("/v1/", "cerebras", id="cerebras-trailing-slash"),
        pytest.param("", "cerebras", id="cerebras-root"),
    ],
)
def test_the_cerebras_url_is_detected(path: str, provider: str) -> None:
    assert provider_for_host("api.cerebras.ai", 443, path) == provider
    assert provider_for_host("api.cerebras.ai.example.com", 443, path) == "openai"


@pytest.mark.parametrize(
    ("host", "path", "provider"),
    [
        pytest.param("my-gateway.azure-api.net", "/openai", "azure.ai.openai", id="azure-api-management"),
        pytest.param("bedrock-runtime.us-east-1.amazonaws.com", "/openai/v1", "aws.bedrock", id="bedrock"),
        pytest.param("api.anthropic.com", "/v1", "anthropic", id="anthropic"),
        pytest.param("api.openrouter.ai", "/api/v1", "openrouter", id="openrouter-api-subdomain"),
        pytest.param("router.huggingface.co", "/cerebras/v1", "huggingface_cerebras", id="huggingface-by-path"),
        pytest.param("router.huggingface.co", "/fireworks-ai/v1", "huggingface_fireworks_ai", id="hyphen-id"),
        pytest.param("router.huggingface.co", "/cerebrasx/v1", "openai", id="path-segment-must-end"),
        pytest.param("api.cloudflare.com", "/client/v4/accounts/abc/ai/v1", "cloudflare", id="cloudflare"),
        pytest.param("api.moonshot.ai", "/v1", "moonshotai", id="moonshot"),
        pytest.param("api.together.ai", "/v1", "together", id="together-ai-domain"),
        pytest.param("api.together.xyz", "/v1", "together", id="together-xyz-domain"),
        pytest.param("us-central1-aiplatform.googleapis.com", "/v1/projects/p/openapi", "gcp.vertex_ai", id="vertex"),
        pytest.param("generativelanguage.googleapis.com", "/v1beta/openai", "gcp.gemini", id="gemini"),
    ],
)
def test_every_mapped_providers_api_pattern_is_detected(host: str, path: str, provider: str) -> None:
    """Hosts the hand-kept list missed, now read from genai-prices' patterns."""
    assert provider_for_host(host, 443, path) == provider


def test_the_table_carries_every_priced_providers_api_pattern() -> None:
    with open(BUNDLED_PATH, "rb") as file:
        header = json.loads(file.readline().rstrip().removesuffix(b",") + b"}")  # the header is line 1
    hosts = header["hosts"]
    expected = [
        {"provider": PROVIDER_MAP[provider.id], "api_pattern": provider.api_pattern}
        for provider in genai_prices.data.providers
        if provider.id != "openai-decisions"  # OpenAI's own URL: its calls are OpenAI's
    ]
    assert hosts == expected


@pytest.mark.parametrize("model", ["gpt-oss-120b", "llama-3.3-70b", "llama3.1-8b"])
def test_a_cerebras_call_is_priced_at_cerebras(telemetry: Telemetry, faults: FaultServer, model: str) -> None:
    body = {**wire.chat_completion(model, usage=USAGE), "system_fingerprint": "fp_0ea2ab1c8b", "time_info": TIME_INFO}
    with (
        telemetry.instrumented(pricing=PricingTable.load()),
        httpx2.Client(transport=_ToLoopback(faults.root_url)) as http,
    ):
        sdk = openai.OpenAI(base_url=CEREBRAS_URL, api_key=API_KEY, max_retries=0, http_client=http)
        sdk.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": "Hello"}],
            extra_headers=faults.headers(wire.json_reply(body)),
        )
    span = telemetry.only_span()
    attributes = span.attributes or {}
    assert attributes[GenAI.PROVIDER_NAME] == "cerebras"
    assert attributes[GenAI.SERVER_ADDRESS] == "api.cerebras.ai"
    assert attributes[Ours.PRICING_STATUS] == PricingStatus.PRICED
    assert attributes[GenAI.USAGE_COST_AMOUNT] == float(_calc_price(model, span))
