"""Which Groq calls are compound systems, and what a ``usage_breakdown`` bills them as."""

from __future__ import annotations

from typing import Any

import pytest
from groq.types.chat.chat_completion import UsageBreakdown

from genai_cost.instrumentation._core import Response
from genai_cost.instrumentation.groq.compound import is_compound, with_parts
from genai_cost.semconv import Ours
from genai_cost.usage import Usage


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        pytest.param("groq/compound", True, id="compound"),
        pytest.param("groq/compound-mini", True, id="compound-mini"),
        pytest.param("compound-beta-mini", True, id="beta-name"),
        pytest.param("llama-3.3-70b-versatile", False, id="plain-model"),
        pytest.param(None, False, id="none"),
    ],
)
def test_is_compound(model: Any, expected: bool) -> None:
    assert is_compound(model) is expected


BREAKDOWN = {"models": [{"model": "openai/gpt-oss-20b",
                         "usage": {"prompt_tokens": 10, "completion_tokens": 4, "total_tokens": 14}}]}  # fmt: skip


@pytest.mark.parametrize(
    "breakdown",
    [pytest.param(BREAKDOWN, id="dict"), pytest.param(UsageBreakdown.model_validate(BREAKDOWN), id="sdk-model")],
)
def test_a_breakdown_bills_the_call_as_its_models(breakdown: Any) -> None:
    billed = with_parts(Response(Usage(input_tokens=10, output_tokens=4)), breakdown)
    assert billed.parts == (("openai/gpt-oss-20b", Usage(input_tokens=10, output_tokens=4)),)
    assert billed.attributes[Ours.BILLED_APART] is True


@pytest.mark.parametrize("breakdown", [None, {"models": []}, {"models": [{"model": "x"}]}])
def test_without_a_breakdown_the_call_is_billed_as_itself(breakdown: Any) -> None:
    response = Response(Usage(input_tokens=1))
    assert with_parts(response, breakdown) is response
