"""Calling the real google-genai SDK (Gemini API or Vertex AI, sync or async) and the costs to expect."""

from __future__ import annotations

import asyncio
import ssl
from decimal import Decimal
from typing import Any

import httpx2
from google import genai
from google.oauth2.credentials import Credentials
from tests.support.fake_google_genai import SCENARIOS
from tests.support.pricing_math import MILLION, rates

from genai_cost.pricing import PricingTable
from genai_cost.semconv import Provider

MODES = {"gemini": Provider.GCP_GEMINI, "vertex": Provider.GCP_VERTEX_AI}
FLASH = "gemini-2.5-flash"
PRO = "gemini-2.5-pro"


# Building the SDK's default HTTP clients loads the CA bundle (~0.4 s per client): share one context.
_TLS = ssl.create_default_context()


def client(origin: str, mode: str, *, http: Any = None, async_http: Any = None) -> genai.Client:
    """A real client of the Gemini API or of Vertex AI (project/location paths) at ``origin``.

    The caller owns and closes ``http``/``async_http`` (the SDK leaves given HTTP clients open).
    """
    http_options: dict[str, Any] = {
        "base_url": origin,
        "retry_options": {"attempts": 1},
        "httpx_client": http or httpx2.Client(verify=_TLS),
        "httpx_async_client": async_http or httpx2.AsyncClient(verify=_TLS),
    }
    if mode == "vertex":
        return genai.Client(
            vertexai=True,
            project="demo-project",
            location="us-central1",
            credentials=Credentials(token="ya29.fake-token"),  # type: ignore[no-untyped-call]
            http_options=http_options,
        )
    return genai.Client(api_key="AIza-test-DO-NOT-LEAK", http_options=http_options)


def config(scenario: str = "default", **fields: Any) -> dict[str, Any]:
    """A request ``config`` choosing the fake's scenario."""
    return {"http_options": {"headers": {"x-fake-scenario": scenario}}, **fields}


def call(origin: str, mode: str, shape: str, kwargs: dict[str, Any], *, is_async: bool) -> Any:
    """``generate`` / ``stream`` (drained) / ``embed`` through a fresh client."""
    if not is_async:
        with httpx2.Client(verify=_TLS) as http:
            models = client(origin, mode, http=http).models
            if shape == "stream":
                return list(models.generate_content_stream(**kwargs))
            return (models.embed_content if shape == "embed" else models.generate_content)(**kwargs)

    async def main() -> Any:
        async with httpx2.AsyncClient(verify=_TLS) as http:
            models = client(origin, mode, async_http=http).aio.models
            if shape == "stream":
                return [chunk async for chunk in await models.generate_content_stream(**kwargs)]
            return await (models.embed_content if shape == "embed" else models.generate_content)(**kwargs)

    return asyncio.run(main())


def expected_usage(scenario: str) -> dict[str, int | None]:
    """Semconv counts: input = prompt (cached included) + tool-use prompt; output = candidates + thoughts."""
    raw = SCENARIOS[scenario]
    return {
        "input": raw.prompt + (raw.tool_use_prompt or 0),
        "output": raw.candidates + (raw.thoughts or 0),
        "cache_read": raw.cached,
        "reasoning": raw.thoughts,
    }


def expected_cost(scenario: str, model: str, provider: str) -> Decimal:
    """The cost of a fake scenario from the bundled entry's rates, worked out by hand."""
    raw = SCENARIOS[scenario]
    usage = expected_usage(scenario)
    total_input = int(usage["input"] or 0)
    price = rates(PricingTable.default().match(model, provider=provider), input_tokens=total_input)
    base = price["input"]
    cached = raw.cached or 0
    audio = raw.prompt_modalities.get("AUDIO", 0) - raw.cache_modalities.get("AUDIO", 0)
    thoughts = raw.thoughts or 0
    total = (
        cached * price.get("input.cache_read", base)
        + audio * price.get("input.audio", base)
        + (total_input - cached - audio) * base
        + raw.candidates * price["output"]
        + thoughts * price.get("output.reasoning", price["output"])
    )
    return total / MILLION
