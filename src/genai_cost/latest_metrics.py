"""The GenAI conventions' unreleased metrics, recorded with
``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental`` in addition to the released ones.

Pinned to :data:`~genai_cost.semconv.SEMCONV_LATEST_COMMIT` of the conventions' repository:

* an inference call (chat, completion, generate_content) records
  ``gen_ai.client.inference.duration`` (and ``.time_to_first_chunk`` when streamed), the
  ``gen_ai.client.inference.usage.*`` counters by ``gen_ai.token.modality`` (input, output and
  their cache-read, cache-write and reasoning parts) and the per-call histograms
  ``gen_ai.client.inference.operation.{input,output}_tokens``;
* an embeddings call records ``gen_ai.client.embeddings.duration`` and
  ``gen_ai.client.embeddings.operation.input_tokens`` instead.

A count the provider splits by modality is recorded per modality; what no modality accounts
for is recorded as ``unknown``, as the conventions ask. Attributes are those of the released
metrics (``error.type`` only on the durations). Off by default: then nothing here exists.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.metrics import Counter, Meter

from genai_cost.semconv import GenAI, LatestMetrics, Modality, Operation
from genai_cost.usage import Usage

__all__ = ["LatestInstruments"]

# (modality, Usage field) of the parts of a count that the provider split by modality.
_INPUT_PARTS = (
    (Modality.TEXT, "input_text_tokens"),
    (Modality.AUDIO, "input_audio_tokens"),
    (Modality.IMAGE, "input_image_tokens"),
    (Modality.VIDEO, "input_video_tokens"),
)
_OUTPUT_PARTS = (
    (Modality.AUDIO, "output_audio_tokens"),
    (Modality.IMAGE, "output_image_tokens"),
    (Modality.VIDEO, "output_video_tokens"),
)
_CACHE_READ_PARTS = ((Modality.AUDIO, "cache_audio_read_tokens"), (Modality.IMAGE, "cache_image_read_tokens"))


def by_modality(whole: int, parts: Mapping[str, int | None]) -> dict[str, int]:
    """``whole`` tokens split by modality: the reported parts, the rest as ``unknown``.

    Parts that add up to more than the whole are not a split of it: then it is all ``unknown``.
    """
    split = {modality: count for modality, count in parts.items() if count}
    rest = whole - sum(split.values())
    if rest < 0:
        return {Modality.UNKNOWN: whole}
    if rest or not split:
        split[Modality.UNKNOWN] = rest
    return split


class LatestInstruments:
    """The latest conventions' instruments on one meter, with the released metrics' bucket advisories."""

    def __init__(self, meter: Meter, *, token_buckets: Sequence[float], duration_buckets: Sequence[float]) -> None:
        self.duration = meter.create_histogram(
            LatestMetrics.INFERENCE_DURATION,
            unit="s",
            description="GenAI client inference operation duration.",
            explicit_bucket_boundaries_advisory=duration_buckets,
        )
        self.time_to_first_chunk = meter.create_histogram(
            LatestMetrics.INFERENCE_TIME_TO_FIRST_CHUNK,
            unit="s",
            description="Time to receive the first chunk of a streamed response.",
            explicit_bucket_boundaries_advisory=duration_buckets,
        )
        self.embeddings_duration = meter.create_histogram(
            LatestMetrics.EMBEDDINGS_DURATION,
            unit="s",
            description="GenAI client embeddings operation duration.",
            explicit_bucket_boundaries_advisory=duration_buckets,
        )
        self.input_tokens = meter.create_histogram(
            LatestMetrics.OPERATION_INPUT_TOKENS,
            unit="{token}",
            description="The number of input (prompt) tokens used per inference operation.",
            explicit_bucket_boundaries_advisory=token_buckets,
        )
        self.output_tokens = meter.create_histogram(
            LatestMetrics.OPERATION_OUTPUT_TOKENS,
            unit="{token}",
            description="The number of output (completion) tokens used per inference operation.",
            explicit_bucket_boundaries_advisory=token_buckets,
        )
        self.embeddings_input_tokens = meter.create_histogram(
            LatestMetrics.EMBEDDINGS_INPUT_TOKENS,
            unit="{token}",
            description="The number of input tokens used per embeddings operation.",
            explicit_bucket_boundaries_advisory=token_buckets,
        )

        def counter(name: str, description: str) -> Counter:
            return meter.create_counter(name, unit="{token}", description=description)

        # (Usage field, its parts by modality, counter, whether a reported 0 is recorded): input
        # and output are recorded for every call with usage, their parts only when there are some.
        self._usage: tuple[tuple[str, tuple[tuple[str, str], ...], Counter, bool], ...] = (
            (
                "input_tokens",
                _INPUT_PARTS,
                counter(LatestMetrics.USAGE_INPUT_TOKENS, "Input (prompt) tokens used, cached ones included."),
                True,
            ),
            (
                "output_tokens",
                _OUTPUT_PARTS,
                counter(LatestMetrics.USAGE_OUTPUT_TOKENS, "Output (completion) tokens used, reasoning included."),
                True,
            ),
            (
                "cache_read_tokens",
                _CACHE_READ_PARTS,
                counter(LatestMetrics.USAGE_CACHE_READ_INPUT_TOKENS, "Input tokens served from the provider's cache."),
                False,
            ),
            (
                "cache_creation_tokens",
                (),
                counter(LatestMetrics.USAGE_CACHE_WRITE_INPUT_TOKENS, "Input tokens written to the provider's cache."),
                False,
            ),
            (
                "reasoning_tokens",
                (),
                counter(LatestMetrics.USAGE_REASONING_OUTPUT_TOKENS, "Output tokens used for reasoning."),
                False,
            ),
        )

    def record_duration(self, seconds: float, first_chunk: float | None, attributes: Mapping[str, Any]) -> None:
        """The call's duration, and for a stream the time to its first chunk (seconds)."""
        if attributes.get(GenAI.OPERATION_NAME) == Operation.EMBEDDINGS:
            self.embeddings_duration.record(seconds, attributes)
            return
        self.duration.record(seconds, attributes)
        if first_chunk is not None:
            self.time_to_first_chunk.record(first_chunk, attributes)

    def record_tokens(self, usage: Usage, attributes: Mapping[str, Any]) -> None:
        """The per-call histograms and the usage counters by modality (no ``error.type``: not theirs)."""
        if GenAI.ERROR_TYPE in attributes:
            attributes = {name: value for name, value in attributes.items() if name != GenAI.ERROR_TYPE}
        if attributes.get(GenAI.OPERATION_NAME) == Operation.EMBEDDINGS:
            if usage.input_tokens is not None:
                self.embeddings_input_tokens.record(usage.input_tokens, attributes)
            return
        if usage.input_tokens is not None:
            self.input_tokens.record(usage.input_tokens, attributes)
        if usage.output_tokens is not None:
            self.output_tokens.record(usage.output_tokens, attributes)
        for whole, parts, counter, zero_too in self._usage:
            count = getattr(usage, whole)
            if count is None or not (count or zero_too):
                continue
            split = by_modality(count, {modality: getattr(usage, part) for modality, part in parts})
            for modality, tokens in split.items():
                counter.add(tokens, {**attributes, GenAI.TOKEN_MODALITY: modality})
