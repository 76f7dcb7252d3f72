"""Gemini usage in genai-prices' units through the real SDK: every input modality (cached tokens
included) with the cached audio and image reads inside it, output modalities, and Google Search
grounding counted the way it is billed (per grounded prompt on Gemini 2.x, per query on 3.x)."""

from __future__ import annotations

import genai_prices
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.integration.google_genai.helpers import FLASH, MODES, call, config
from tests.support.fake_http import FakeHTTPServer
from tests.support.price_oracle import oracle_cost

from genai_cost.instrumentation.google_genai import GoogleGenAIInstrumentor
from genai_cost.semconv import GenAI, Ours

GEMINI_3 = "gemini-3-flash-preview"
WEB_SEARCHES = Ours.USAGE_PREFIX + "web_searches"
CACHE_AUDIO_READ = Ours.USAGE_PREFIX + "cache_audio_read_tokens"
CACHE_IMAGE_READ = Ours.USAGE_PREFIX + "cache_image_read_tokens"
CALLS = [
    pytest.param(mode, shape, is_async, id=f"{mode}-{shape}-{'async' if is_async else 'sync'}")
    for mode in MODES
    for shape in ("generate", "stream")
    for is_async in (False, True)
]


def only_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    spans = exporter.get_finished_spans()
    assert len(spans) == 1, [span.name for span in spans]
    return spans[0]


def traced(origin: str, exporter: InMemorySpanExporter, scenario: str, *, model: str = FLASH,
           mode: str = "gemini", shape: str = "generate", is_async: bool = False) -> dict[str, object]:  # fmt: skip
    call(origin, mode, shape, {"model": model, "contents": "x", "config": config(scenario)}, is_async=is_async)
    return dict(only_span(exporter).attributes or {})


@pytest.mark.parametrize(("mode", "shape", "is_async"), CALLS)
def test_cached_audio_is_part_of_the_audio_input(
    instrumented: GoogleGenAIInstrumentor,
    fake_google: FakeHTTPServer,
    span_exporter: InMemorySpanExporter,
    mode: str,
    shape: str,
    is_async: bool,
) -> None:
    attributes = traced(fake_google.origin, span_exporter, "audio", mode=mode, shape=shape, is_async=is_async)

    # prompt TEXT 300 + AUDIO 1200, of which cached TEXT 200 + AUDIO 800.
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == 1500
    assert attributes[GenAI.USAGE_CACHE_READ_INPUT_TOKENS] == 1000
    assert attributes[GenAI.USAGE_AUDIO_INPUT_TOKENS] == 1200
    assert attributes[GenAI.USAGE_TEXT_INPUT_TOKENS] == 300
    assert attributes[CACHE_AUDIO_READ] == 800
    assert WEB_SEARCHES not in attributes


def test_cached_audio_is_priced_at_the_cached_audio_rate(
    instrumented: GoogleGenAIInstrumentor, fake_google: FakeHTTPServer, span_exporter: InMemorySpanExporter
) -> None:
    attributes = traced(fake_google.origin, span_exporter, "audio")

    assert attributes[GenAI.USAGE_COST_AMOUNT] == oracle_cost(
        FLASH,
        "google",
        input_tokens=1500,
        cache_read_tokens=1000,
        input_audio_tokens=1200,
        cache_audio_read_tokens=800,
        output_tokens=50,
    )
    rate = genai_prices.calc_price(genai_prices.Usage(input_tokens=0), FLASH, provider_id="google").model_price
    assert rate.cache_audio_read_mtok is not None
    assert attributes[Ours.COST_PREFIX + "cache_audio_read"] == float(800 * rate.cache_audio_read_mtok / 1_000_000)


@pytest.mark.parametrize("shape", ["generate", "stream"])
def test_every_modality_is_counted_as_genai_prices_counts_it(
    instrumented: GoogleGenAIInstrumentor, fake_google: FakeHTTPServer, span_exporter: InMemorySpanExporter, shape: str
) -> None:
    attributes = traced(fake_google.origin, span_exporter, "multimodal", shape=shape)

    assert attributes[GenAI.USAGE_INPUT_TOKENS] == 1224 + 40
    assert attributes[GenAI.USAGE_TEXT_INPUT_TOKENS] == 100 + 30
    # IMAGE 258 + DOCUMENT 516 in the prompt, DOCUMENT 10 among the tool-use prompt tokens.
    assert attributes[GenAI.USAGE_IMAGE_INPUT_TOKENS] == 258 + 516 + 10
    assert attributes[GenAI.USAGE_VIDEO_INPUT_TOKENS] == 300
    assert attributes[GenAI.USAGE_AUDIO_INPUT_TOKENS] == 50
    assert attributes[GenAI.USAGE_CACHE_READ_INPUT_TOKENS] == 458
    assert attributes[CACHE_IMAGE_READ] == 258 + 200
    assert attributes[GenAI.USAGE_OUTPUT_TOKENS] == 1310
    assert attributes[GenAI.USAGE_IMAGE_OUTPUT_TOKENS] == 1290
    # The cache details list images only: none of the audio was cached.
    assert attributes[CACHE_AUDIO_READ] == 0


# Four queries reported, two of them empty: Gemini 3 bills the two real ones; Gemini 2.x bills
# the grounded prompt once, however many queries it ran.
GROUNDED = [pytest.param(FLASH, 1, id="gemini-2.5-per-prompt"), pytest.param(GEMINI_3, 2, id="gemini-3-per-query")]


@pytest.mark.parametrize(("model", "searches"), GROUNDED)
@pytest.mark.parametrize(("mode", "shape", "is_async"), CALLS)
def test_grounding_counts_web_searches_as_billed(
    instrumented: GoogleGenAIInstrumentor,
    fake_google: FakeHTTPServer,
    span_exporter: InMemorySpanExporter,
    model: str,
    searches: int,
    mode: str,
    shape: str,
    is_async: bool,
) -> None:
    attributes = traced(fake_google.origin, span_exporter, "grounded", model=model, mode=mode, shape=shape,
                        is_async=is_async)  # fmt: skip

    assert attributes[WEB_SEARCHES] == searches
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == 17 + 104
    assert attributes[GenAI.USAGE_TEXT_INPUT_TOKENS] == 17 + 104


@pytest.mark.parametrize(("model", "searches"), GROUNDED)
def test_grounding_is_priced_per_search(
    instrumented: GoogleGenAIInstrumentor,
    fake_google: FakeHTTPServer,
    span_exporter: InMemorySpanExporter,
    model: str,
    searches: int,
) -> None:
    attributes = traced(fake_google.origin, span_exporter, "grounded", model=model)

    tokens = {"input_tokens": 121, "input_text_tokens": 121, "output_tokens": 205 + 319}
    assert attributes[GenAI.USAGE_COST_AMOUNT] == oracle_cost(model, "google", **tokens, web_searches=searches)
    assert attributes[Ours.COST_PREFIX + "web_search"] == oracle_cost(model, "google", web_searches=searches)


TTS = "gemini-3.8-flash-tts"
"""A model whose flex tier has its own price in the bundled data."""
TIER = Ours.PRICING_CONTEXT_PREFIX + "service_tier"


@pytest.mark.parametrize(("mode", "shape", "is_async"), [call for call in CALLS if call.values[0] == "gemini"])
@pytest.mark.parametrize(
    ("requested", "served"),
    [("flex", None), ("priority", "standard"), (None, None)],
    ids=["flex", "priority-served-at-standard", "no-tier"],
)
def test_a_call_is_priced_at_the_tier_the_api_served(
    instrumented: GoogleGenAIInstrumentor,
    fake_google: FakeHTTPServer,
    span_exporter: InMemorySpanExporter,
    mode: str,
    shape: str,
    is_async: bool,
    requested: str | None,
    served: str | None,
) -> None:
    """The tier comes from the ``x-gemini-service-tier`` response header, not the request.
    (Vertex AI resells Gemini: its calls are priced by the Gemini entry without the Gemini API's
    tier prices, as every reseller's are; genai-prices has no Vertex tier prices.)"""
    settings = config("default", **({"service_tier": requested} if requested else {}))
    if served is not None:
        settings["http_options"]["headers"]["x-fake-served-tier"] = served
    call(fake_google.origin, mode, shape, {"model": TTS, "contents": "x", "config": settings}, is_async=is_async)
    attributes = dict(only_span(span_exporter).attributes or {})

    billed = served or requested or "standard"
    usage = genai_prices.Usage(input_tokens=12, output_tokens=20)
    expected = genai_prices.calc_price(usage, TTS, provider_id="google", price_context={"service_tier": billed})
    assert attributes[GenAI.USAGE_COST_AMOUNT] == float(expected.total_price)
    assert attributes.get(TIER) == (None if billed == "standard" else billed)


def test_the_flex_tier_has_its_own_price() -> None:
    """Guards the test above: flex and standard cost differently for this model."""
    usage = genai_prices.Usage(input_tokens=12, output_tokens=20)
    prices = {
        tier: genai_prices.calc_price(usage, TTS, provider_id="google", price_context={"service_tier": tier})
        for tier in ("flex", "standard")
    }
    assert prices["flex"].total_price != prices["standard"].total_price
