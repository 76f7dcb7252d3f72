"""``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental``: the GenAI conventions' unreleased
metrics (pinned in ``semconv.SEMCONV_LATEST_COMMIT``) next to the released ones, from real
OpenAI calls against the fake server; counts from the fixtures."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import openai
import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from tests.integration.openai.helpers import scenario
from tests.support.telemetry import metric_points

from genai_cost.config import ENV
from genai_cost.demo.fake_openai import SCENARIOS
from genai_cost.instrumentation.openai import OpenAIInstrumentor
from genai_cost.semconv import GenAI, LatestMetrics, Metrics, Modality

MESSAGES = [{"role": "user", "content": "hi"}]
CACHED, AUDIO, DEFAULT = SCENARIOS["cached_reasoning"], SCENARIOS["audio_input"], SCENARIOS["default"]
LATEST = [value for name, value in vars(LatestMetrics).items() if name.isupper() and name != "OPT_IN"]


def _calls(client: openai.OpenAI) -> int:
    """Chats (cached+reasoning, audio input, a stream, a failure) and embeddings; returns the embedding tokens."""
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, extra_headers=scenario("cached_reasoning"))  # type: ignore[arg-type]
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, extra_headers=scenario("audio_input"))  # type: ignore[arg-type]
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,  # type: ignore[arg-type]
        stream=True,
        stream_options={"include_usage": True},
    )
    list(stream)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, extra_headers=scenario("error_429"))  # type: ignore[arg-type]
    return client.embeddings.create(model="text-embedding-3-small", input="hello").usage.prompt_tokens


def _by_modality(reader: InMemoryMetricReader, name: str) -> dict[str, int]:
    totals: Counter[str] = Counter()
    for point in metric_points(reader, name):
        assert GenAI.ERROR_TYPE not in point.attributes
        totals[point.attributes[GenAI.TOKEN_MODALITY]] += point.value
    return dict(totals)


def test_latest_metrics_beside_the_released_ones(
    configure: Callable[..., None],
    instrument: Callable[..., OpenAIInstrumentor],
    metric_reader: InMemoryMetricReader,
    client: openai.OpenAI,
) -> None:
    configure(**{ENV.SEMCONV_STABILITY_OPT_IN: "http,gen_ai_latest_experimental"})
    instrument()
    embedded = _calls(client)

    durations = metric_points(metric_reader, LatestMetrics.INFERENCE_DURATION)
    assert sum(point.count for point in durations) == 4  # the failure included, embeddings not
    assert {point.attributes.get(GenAI.ERROR_TYPE) for point in durations} == {None, "openai.RateLimitError"}
    assert sum(point.count for point in metric_points(metric_reader, LatestMetrics.INFERENCE_TIME_TO_FIRST_CHUNK)) == 1
    (embeddings,) = metric_points(metric_reader, LatestMetrics.EMBEDDINGS_DURATION)
    assert embeddings.count == 1

    # Counters by modality: the audio call's prompt is split as the provider split it; what no
    # modality accounts for is "unknown".
    assert _by_modality(metric_reader, LatestMetrics.USAGE_INPUT_TOKENS) == {
        Modality.UNKNOWN: CACHED.prompt_tokens + DEFAULT.prompt_tokens,
        Modality.AUDIO: AUDIO.prompt_details["audio_tokens"],
        Modality.TEXT: AUDIO.prompt_details["text_tokens"],
    }
    assert _by_modality(metric_reader, LatestMetrics.USAGE_OUTPUT_TOKENS) == {
        Modality.UNKNOWN: CACHED.completion_tokens + AUDIO.completion_tokens + DEFAULT.completion_tokens
    }
    assert _by_modality(metric_reader, LatestMetrics.USAGE_CACHE_READ_INPUT_TOKENS) == {
        Modality.UNKNOWN: CACHED.cached_tokens
    }
    assert _by_modality(metric_reader, LatestMetrics.USAGE_REASONING_OUTPUT_TOKENS) == {
        Modality.UNKNOWN: CACHED.reasoning_tokens
    }
    assert metric_points(metric_reader, LatestMetrics.USAGE_CACHE_WRITE_INPUT_TOKENS) == []

    # Per-call histograms: inference calls only; embeddings have their own.
    inputs = metric_points(metric_reader, LatestMetrics.OPERATION_INPUT_TOKENS)
    assert (sum(p.count for p in inputs), sum(p.sum for p in inputs)) == (
        3,
        CACHED.prompt_tokens + AUDIO.prompt_tokens + DEFAULT.prompt_tokens,
    )
    outputs = metric_points(metric_reader, LatestMetrics.OPERATION_OUTPUT_TOKENS)
    assert sum(p.sum for p in outputs) == CACHED.completion_tokens + AUDIO.completion_tokens + DEFAULT.completion_tokens
    (embedding_tokens,) = metric_points(metric_reader, LatestMetrics.EMBEDDINGS_INPUT_TOKENS)
    assert (embedding_tokens.count, embedding_tokens.sum) == (1, embedded)

    # The released metrics are unchanged.
    assert sum(point.count for point in metric_points(metric_reader, Metrics.OPERATION_DURATION)) == 5
    assert metric_points(metric_reader, Metrics.TOKEN_USAGE)


@pytest.mark.parametrize("opt_in", [None, "http"], ids=["unset", "other-value"])
def test_released_metrics_only_by_default(
    configure: Callable[..., None],
    instrument: Callable[..., OpenAIInstrumentor],
    metric_reader: InMemoryMetricReader,
    client: openai.OpenAI,
    opt_in: str | None,
) -> None:
    if opt_in is not None:
        configure(**{ENV.SEMCONV_STABILITY_OPT_IN: opt_in})
    instrument()
    _calls(client)
    assert all(metric_points(metric_reader, name) == [] for name in LATEST)
    assert metric_points(metric_reader, Metrics.OPERATION_DURATION)
