"""Pure readers of the Bedrock agent trace and of the Interactions API's usage."""

from __future__ import annotations

from typing import Any

import pytest
from google.genai._gaos.types.interactions import ModalityTokens
from google.genai._gaos.types.interactions import Usage as InteractionUsage

from genai_cost.instrumentation.bedrock.agents import AgentTraceAccumulator
from genai_cost.instrumentation.google_genai.interactions import usage_from_interaction
from genai_cost.semconv import GenAI
from genai_cost.usage import Usage

SONNET = "us.anthropic.claude-3-5-sonnet-20241022-v2:0"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"


def _started(step: str, trace_id: str, model: str | None) -> dict[str, Any]:
    started: dict[str, Any] = {"traceId": trace_id}
    if model is not None:
        started["foundationModel"] = model
    return {"trace": {"trace": {step: {"modelInvocationInput": started}}}}


def _reported(step: str, trace_id: str, usage: dict[str, int] | None) -> dict[str, Any]:
    output: dict[str, Any] = {"traceId": trace_id, "metadata": {} if usage is None else {"usage": usage}}
    return {"trace": {"trace": {step: {"modelInvocationOutput": output}}}}


@pytest.mark.parametrize(
    ("events", "recorded", "response_model"),
    [
        pytest.param(
            [_started("orchestrationTrace", "a", SONNET),
             _reported("orchestrationTrace", "a", {"inputTokens": 5, "outputTokens": 2})],
            [(SONNET, Usage(input_tokens=5, output_tokens=2))],
            SONNET,
            id="one-invocation",
        ),
        pytest.param(
            [_started("routingClassifierTrace", "r", HAIKU), _started("orchestrationTrace", "o", SONNET),
             _reported("orchestrationTrace", "o", {"inputTokens": 7, "outputTokens": 1}),
             _reported("routingClassifierTrace", "r", {"inputTokens": 3, "outputTokens": 0})],
            [(SONNET, Usage(input_tokens=7, output_tokens=1)), (HAIKU, Usage(input_tokens=3, output_tokens=0))],
            None,
            id="interleaved-matched-by-trace-id",
        ),
        pytest.param(
            [_started("preProcessingTrace", "p", SONNET),
             _reported("preProcessingTrace", "other", {"inputTokens": 4, "outputTokens": 4})],
            [(SONNET, Usage(input_tokens=4, output_tokens=4))],
            SONNET,
            id="unmatched-trace-id-takes-the-last-model",
        ),
        pytest.param(
            [_reported("orchestrationTrace", "a", {"inputTokens": 4, "outputTokens": 4})],
            [(None, Usage(input_tokens=4, output_tokens=4))],
            None,
            id="no-model-reported",
        ),
        pytest.param(
            [_started("orchestrationTrace", "a", SONNET), _reported("orchestrationTrace", "a", None),
             {"chunk": {"bytes": b"Hi"}}],
            [],
            None,
            id="no-usage-reported",
        ),
    ],
)  # fmt: skip
def test_agent_trace_records_each_model_invocation(
    events: list[dict[str, Any]], recorded: list[tuple[str | None, Usage]], response_model: str | None
) -> None:
    seen: list[tuple[str | None, Usage]] = []
    accumulator = AgentTraceAccumulator({}, lambda model, usage, started, ended: seen.append((model, usage)))
    for event in events:
        assert accumulator.add(event) is True

    response = accumulator.result()
    assert seen == recorded
    assert response.billed_apart is bool(recorded)
    assert response.usage is None
    assert response.attributes.get(GenAI.RESPONSE_MODEL) == response_model


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        pytest.param(None, None, id="absent"),
        pytest.param(
            {"total_input_tokens": 100, "total_cached_tokens": 60, "total_output_tokens": 20,
             "total_thought_tokens": 30, "total_tool_use_tokens": 5, "total_tokens": 155},
            Usage(input_tokens=105, cache_read_tokens=60, output_tokens=50, reasoning_tokens=30),
            id="dict",
        ),
        pytest.param(
            InteractionUsage.model_construct(
                total_input_tokens=300, total_output_tokens=10, total_cached_tokens=200,
                input_tokens_by_modality=[ModalityTokens(modality="text", tokens=100),
                                          ModalityTokens(modality="audio", tokens=200)],
                cached_tokens_by_modality=[ModalityTokens(modality="audio", tokens=200)],
            ),
            Usage(input_tokens=300, cache_read_tokens=200, output_tokens=10, input_text_tokens=100,
                  input_audio_tokens=200, cache_audio_read_tokens=200, cache_image_read_tokens=None),
            id="sdk-object-with-modalities",
        ),
        pytest.param(
            {"total_input_tokens": 0, "total_output_tokens": 0}, Usage(input_tokens=0, output_tokens=0), id="zeros"
        ),
    ],
)  # fmt: skip
def test_interaction_usage_reads_as_gemini_usage_metadata(usage: Any, expected: Usage | None) -> None:
    assert usage_from_interaction(usage) == expected
