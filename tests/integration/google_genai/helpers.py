"""Calling the real google-genai SDK (Gemini API or Vertex AI, sync or async) and the costs to expect."""

from __future__ import annotations

import asyncio
import ssl
from decimal import Decimal
from typing import Any

import genai_prices
import httpx2
from google import genai
from google.oauth2.credentials import Credentials
from tests.support.fake_google_genai import SCENARIOS

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
    """The cost of a fake scenario by genai-prices' ``calc_price`` on the same counts (both
    providers are genai-prices' ``google``): every modality's prompt and tool-use tokens, cached
    ones included, and the cached audio and image (``DOCUMENT`` too) tokens within them."""
    raw = SCENARIOS[scenario]
    usage = expected_usage(scenario)

    def modality(*names: str) -> int | None:
        found = [details[name] for details in (raw.prompt_modalities, raw.tool_use_modalities) for name in names
                 if name in details]  # fmt: skip
        return sum(found) if found else None

    def cached(*names: str) -> int | None:
        found = [raw.cache_modalities[name] for name in names if name in raw.cache_modalities]
        if found:
            return sum(found)
        # Cache details that list other modalities say that none of these was cached.
        return 0 if raw.cache_modalities and modality(*names) is not None else None

    counts = {
        "input_tokens": usage["input"],
        "output_tokens": usage["output"],
        "cache_read_tokens": usage["cache_read"],
        "output_reasoning_tokens": usage["reasoning"],
        "input_audio_tokens": modality("AUDIO"),
        "input_image_tokens": modality("IMAGE", "DOCUMENT"),
        "input_video_tokens": modality("VIDEO"),
        "cache_audio_read_tokens": cached("AUDIO"),
        "cache_image_read_tokens": cached("IMAGE", "DOCUMENT"),
    }
    usage_given = genai_prices.Usage(**{name: value for name, value in counts.items() if value is not None})
    return genai_prices.calc_price(usage_given, model, provider_id="google").total_price
