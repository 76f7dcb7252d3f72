"""An exception that carries a billed response still records its usage and cost; the span fails.

``chat.completions.parse(response_format=Model)`` answered with finish reason ``length`` or
``content_filter`` raises ``LengthFinishReasonError`` / ``ContentFilterFinishReasonError``,
whose ``.completion`` is the billed ``ChatCompletion``. The app gets that exception unchanged;
the span is ERROR with ``error.type``, and carries the call's tokens and cost; the cost metric
is recorded, and ``track_usage`` counts a failed request with its tokens and cost (so a hard
budget sees it). Sync, async, and the ``with_raw_response`` path (the error comes from
``raw.parse()``); and ``CostSpanProcessor`` counts another instrumentation's ERROR span that
reports usage the same way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import openai
import pydantic
import pytest
from opentelemetry.trace import SpanKind, Status, StatusCode
from tests.reliability.support import wire
from tests.reliability.support.archive import Archive
from tests.reliability.support.checks import assert_valid_attributes, error_type_of
from tests.reliability.support.fault_server import FaultServer
from tests.reliability.support.harness import Telemetry, async_client, client, stated_cost

from genai_cost import BudgetExceeded, track_usage
from genai_cost.semconv import GenAI, Metrics, Ours, PricingStatus

COST = stated_cost(input_tokens=120, cached=100, output_tokens=30)
"""Of ``wire.USAGE``: 120 input (100 cached), 30 output."""
MESSAGES = [{"role": "user", "content": "Give me a city."}]


class City(pydantic.BaseModel):
    name: str


ERRORS = [
    pytest.param("length", openai.LengthFinishReasonError, id="length"),
    pytest.param("content_filter", openai.ContentFilterFinishReasonError, id="content-filter"),
]


def _completion(finish_reason: str) -> dict[str, Any]:
    body = wire.chat_completion()
    body["choices"][0]["finish_reason"] = finish_reason
    return body


def _sync(faults: FaultServer, finish_reason: str, *, raw: bool) -> Callable[[], Any]:
    completions = client(faults.base_url).chat.completions
    request = {"model": "gpt-4o-mini", "messages": MESSAGES, "response_format": City}
    headers = faults.headers(wire.json_reply(_completion(finish_reason)))
    if raw:
        return lambda: completions.with_raw_response.parse(**request, extra_headers=headers).parse()
    return lambda: completions.parse(**request, extra_headers=headers)


def _async(faults: FaultServer, finish_reason: str, *, raw: bool) -> Callable[[], Any]:
    completions = async_client(faults.base_url).chat.completions
    headers = faults.headers(wire.json_reply(_completion(finish_reason)))

    async def parse() -> Any:
        if raw:
            response = await completions.with_raw_response.parse(
                model="gpt-4o-mini", messages=MESSAGES, response_format=City, extra_headers=headers
            )
            return await response.parse()
        return await completions.parse(
            model="gpt-4o-mini", messages=MESSAGES, response_format=City, extra_headers=headers
        )

    return lambda: asyncio.run(parse())


@pytest.mark.parametrize("make_call", [_sync, _async], ids=["sync", "async"])
@pytest.mark.parametrize("raw", [False, True], ids=["parse", "with-raw-response"])
@pytest.mark.parametrize(("finish_reason", "error_class"), ERRORS)
def test_parse_failure_records_the_billed_completion(
    telemetry: Telemetry,
    faults: FaultServer,
    make_call: Callable[..., Callable[[], Any]],
    raw: bool,
    finish_reason: str,
    error_class: type[BaseException],
) -> None:
    call = make_call(faults, finish_reason, raw=raw)
    with telemetry.instrumented(), track_usage() as usage, pytest.raises(error_class):
        call()

    span = telemetry.only_span()
    assert_valid_attributes(span)
    attributes = span.attributes or {}
    assert span.status.status_code is StatusCode.ERROR
    assert attributes[GenAI.ERROR_TYPE] == error_type_of(error_class)
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == 120
    assert attributes[GenAI.USAGE_OUTPUT_TOKENS] == 30
    assert attributes[GenAI.RESPONSE_FINISH_REASONS] == (finish_reason,)
    assert attributes[Ours.PRICING_STATUS] == PricingStatus.PRICED
    assert attributes[GenAI.USAGE_COST_AMOUNT] == float(COST)

    [cost_point] = telemetry.points(Metrics.OPERATION_COST)
    assert cost_point.sum == float(COST)
    assert cost_point.attributes[GenAI.ERROR_TYPE] == error_type_of(error_class)

    assert (usage.successful_requests, usage.failed_requests) == (0, 1)
    assert (usage.prompt_tokens, usage.prompt_tokens_cached, usage.completion_tokens) == (120, 100, 30)
    assert usage.total_cost == COST


def test_hard_budget_sees_billed_parse_failures(telemetry: Telemetry, faults: FaultServer) -> None:
    with telemetry.instrumented(), track_usage(budget_usd=COST / 2, hard=True) as usage:
        with pytest.raises(openai.LengthFinishReasonError):
            _sync(faults, "length", raw=False)()
        sent = len(faults.requests)
        with pytest.raises(BudgetExceeded):
            _sync(faults, "length", raw=False)()

    assert len(faults.requests) == sent
    assert usage.budget_exceeded
    assert usage.total_cost == COST


def test_a_failure_without_a_billed_response_stays_without_cost(telemetry: Telemetry, faults: FaultServer) -> None:
    completions = client(faults.base_url).chat.completions
    headers = faults.headers(wire.json_reply({"error": {"message": "bad", "type": "invalid_request_error"}}, 400))
    with telemetry.instrumented(), track_usage() as usage, pytest.raises(openai.BadRequestError):
        completions.parse(model="gpt-4o-mini", messages=MESSAGES, response_format=City, extra_headers=headers)

    attributes = telemetry.only_span().attributes or {}
    assert GenAI.USAGE_COST_AMOUNT not in attributes
    assert GenAI.USAGE_INPUT_TOKENS not in attributes
    assert telemetry.points(Metrics.OPERATION_COST) == []
    assert (usage.failed_requests, usage.total_cost, usage.total_tokens) == (1, Decimal(0), 0)


def test_a_failed_foreign_span_with_usage_counts_its_billed_tokens(archive: Archive) -> None:
    """The processor's sibling: another instrumentation's ERROR span that reports usage was billed."""
    telemetry = Telemetry(archive, cost_processor=True)
    tracer = telemetry.tracer_provider.get_tracer("other-instrumentation")
    attributes = {
        GenAI.PROVIDER_NAME: "openai",
        GenAI.REQUEST_MODEL: "gpt-4o-mini",
        GenAI.USAGE_INPUT_TOKENS: 120,
        GenAI.USAGE_CACHE_READ_INPUT_TOKENS: 100,
        GenAI.USAGE_OUTPUT_TOKENS: 30,
    }
    with track_usage() as usage:
        span = tracer.start_span("chat gpt-4o-mini", kind=SpanKind.CLIENT, attributes=attributes)
        span.set_status(Status(StatusCode.ERROR, "LengthFinishReasonError"))
        span.end()

    assert (telemetry.only_span().attributes or {})[GenAI.USAGE_COST_AMOUNT] == float(COST)
    assert [point.sum for point in telemetry.points(Metrics.OPERATION_COST)] == [float(COST)]
    assert (usage.successful_requests, usage.failed_requests) == (0, 1)
    assert (usage.prompt_tokens, usage.prompt_tokens_cached, usage.completion_tokens) == (120, 100, 30)
    assert usage.total_cost == COST
    telemetry.collect()
