"""mistralai's own OpenTelemetry tracing (the SDK's tracing hook, opt-in: ``configure_telemetry(client,
provider=...)`` or ``MISTRAL_SDK_TELEMETRY=global``) puts ``gen_ai.usage.*`` on its span of each
request; with genai-cost's Mistral instrumentor on too, that span runs inside ours. Priced by
``CostSpanProcessor``, each call is counted exactly once: on our span when it is there, else on
the SDK's, and the app's span around the calls carries their total."""

from __future__ import annotations

import asyncio
from contextlib import nullcontext
from typing import Any

import pytest
from mistralai.client import Mistral
from tests.support.fake_http import FakeHTTPServer
from tests.support.fake_mistral import SCENARIOS
from tests.support.frameworks import Pipeline, assert_priced_once, assert_rolled_up
from tests.support.instrumenting import instrumented
from tests.support.price_oracle import oracle_cost

from genai_cost import track_usage
from genai_cost.instrumentation.mistralai import MistralInstrumentor
from genai_cost.pricing import PricingTable

observability = pytest.importorskip(
    "mistralai.extra.observability", reason="this mistralai has no tracing of its own (mistralai 2.x+)"
)

MODEL = "mistral-small-2603"
SCENARIO = "cached"
CALLS = 2
MISTRAL_SCOPE = "mistralai_sdk_tracer"
OUR_SCOPE = "genai_cost.instrumentation.mistralai"


def _calls(origin: str, pipeline: Pipeline, *, stream: bool, is_async: bool) -> None:
    """``CALLS`` chat calls (streamed or not) through one client whose tracing goes to ``pipeline``."""
    kwargs: dict[str, Any] = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "what is Coca Cola"}],
        "http_headers": {"x-fake-scenario": SCENARIO},
    }
    # The SDK's own HTTP clients: its tracing wraps stream responses in the HTTP library it ships
    # with (httpx2 in mistralai 3.x) and cannot read a stream of another one's client.
    if not is_async:
        with Mistral(api_key="mistral-test-DO-NOT-LEAK", server_url=origin) as client:
            observability.configure_telemetry(client, provider=pipeline.tracer_provider)
            for _ in range(CALLS):
                list(client.chat.stream(**kwargs)) if stream else client.chat.complete(**kwargs)
        return

    async def main() -> None:
        async with Mistral(api_key="mistral-test-DO-NOT-LEAK", server_url=origin) as client:
            observability.configure_telemetry(client, provider=pipeline.tracer_provider)
            for _ in range(CALLS):
                if stream:
                    [event async for event in await client.chat.stream_async(**kwargs)]
                else:
                    await client.chat.complete_async(**kwargs)

    asyncio.run(main())


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
@pytest.mark.parametrize("ours", [pytest.param(True, id="with-our-span"), pytest.param(False, id="alone")])
def test_each_call_priced_once_beside_the_sdk_tracing(
    fake_mistral: FakeHTTPServer, stream: bool, is_async: bool, ours: bool
) -> None:
    pipeline = Pipeline()
    pricing = PricingTable.default()
    layer = instrumented(MistralInstrumentor(), **pipeline.options, pricing=pricing) if ours else nullcontext()
    with layer, track_usage() as usage, pipeline.tracer_provider.get_tracer("app").start_as_current_span("request"):
        _calls(fake_mistral.origin, pipeline, stream=stream, is_async=is_async)

    raw = SCENARIOS[SCENARIO]
    cost = oracle_cost(
        MODEL, "mistral", input_tokens=raw.prompt_tokens, output_tokens=raw.completion_tokens,
        cache_read_tokens=raw.cached_tokens,
    )  # fmt: skip
    tokens = (raw.prompt_tokens, raw.completion_tokens)
    assert len(pipeline.spans(MISTRAL_SCOPE)) == CALLS, "the SDK traced each call"
    scope = OUR_SCOPE if ours else MISTRAL_SCOPE
    assert_priced_once(pipeline, usage, calls=CALLS, cost=cost, tokens=tokens, scope=scope)
    assert_rolled_up(pipeline.spans("app", "request"), calls=CALLS, cost=cost, tokens=tokens)
