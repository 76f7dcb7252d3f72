"""Provider faults through the real openai SDK: the app sees exactly what it sees uninstrumented.

Each test runs one call twice against the same fault, first uninstrumented then
instrumented, and requires the same outcome (return value, class, stream chunks, exception
class, message, status and body); then it checks what the telemetry recorded.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import openai
import pytest
from tests.reliability.support import wire
from tests.reliability.support.checks import assert_failed, assert_valid_attributes, error_type_of
from tests.reliability.support.fault_server import FaultServer, Script
from tests.reliability.support.harness import (
    Outcome,
    Telemetry,
    async_client,
    async_outcome,
    client,
    outcome,
    same_outcome,
    stated_cost,
)

from genai_cost.demo.fake_openai import FakeOpenAIServer
from genai_cost.semconv import GenAI, Metrics, Ours, PricingStatus
from genai_cost.tracking import track_usage

MESSAGES = [{"role": "user", "content": "Say hello."}]


def chat(faults: FaultServer, script: Script, **options: Any) -> Callable[[], Any]:
    """One chat call answered by ``script`` (the same script for both runs)."""
    sdk = client(faults.base_url, timeout=options.pop("timeout", 5.0))
    headers = faults.headers(script)
    model = options.pop("model", "gpt-4o-mini")
    return lambda: sdk.chat.completions.create(model=model, messages=MESSAGES, extra_headers=headers, **options)


# --- HTTP errors (the fake OpenAI server) ------------------------------------------------

ERRORS = [
    pytest.param("error_400", openai.BadRequestError, id="400"),
    pytest.param("error_401", openai.AuthenticationError, id="401"),
    pytest.param("error_404", openai.NotFoundError, id="404"),
    pytest.param("error_429", openai.RateLimitError, id="429"),
    pytest.param("error_500", openai.InternalServerError, id="500"),
    pytest.param("error_503", openai.InternalServerError, id="503"),
]


@pytest.mark.parametrize(("scenario", "error_class"), ERRORS)
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_http_error_reaches_the_app_unchanged_and_is_recorded(
    telemetry: Telemetry, fake: FakeOpenAIServer, scenario: str, error_class: type, stream: bool
) -> None:
    sdk = client(fake.base_url)
    headers = {"x-fake-scenario": scenario}

    def call() -> Any:
        return sdk.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=stream, extra_headers=headers)

    with track_usage() as usage:
        seen = same_outcome(telemetry, call)

    assert seen.error_class is error_class
    span = telemetry.only_span()
    assert_failed(span, error_class)
    (duration,) = telemetry.points(Metrics.OPERATION_DURATION)
    assert duration.attributes[GenAI.ERROR_TYPE] == error_type_of(error_class)
    assert not telemetry.points(Metrics.OPERATION_COST)
    assert not telemetry.points(Metrics.UNPRICED_CALLS)
    assert (usage.successful_requests, usage.failed_requests) == (0, 1)  # only the instrumented run counts


def test_sdk_retries_make_one_span_per_logical_call(telemetry: Telemetry, fake: FakeOpenAIServer) -> None:
    """The SDK retries inside one ``create``: one span, whose duration includes the retries."""
    sdk = client(fake.base_url, max_retries=2)
    before = len(fake.requests)

    def call(scenario: str) -> Outcome:
        headers = {"x-fake-scenario": scenario, "x-fake-run": uuid.uuid4().hex}
        return outcome(
            lambda: sdk.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, extra_headers=headers)
        )

    with telemetry.instrumented():
        recovered = call("retry_429")  # 429 once, then 200
        exhausted = call("error_429")  # 429 three times: first try + 2 retries

    assert recovered.error is None
    assert exhausted.error_class is openai.RateLimitError
    assert len(fake.requests) - before == 2 + 3
    ok, failed = telemetry.finished()
    assert ok.status.is_ok and ok.attributes[Ours.PRICING_STATUS] == PricingStatus.PRICED
    assert_failed(failed, openai.RateLimitError)


# --- transport faults (the raw fault server) ---------------------------------------------


def test_timeout(telemetry: Telemetry, faults: FaultServer) -> None:
    seen = same_outcome(telemetry, chat(faults, wire.stall(), timeout=0.2))
    assert seen.error_class is openai.APITimeoutError
    assert_failed(telemetry.only_span(), openai.APITimeoutError)


def test_connection_reset_before_the_response(telemetry: Telemetry, faults: FaultServer) -> None:
    seen = same_outcome(telemetry, chat(faults, wire.reset_before_response()))
    assert seen.error_class is openai.APIConnectionError
    assert_failed(telemetry.only_span(), openai.APIConnectionError)


@pytest.mark.parametrize("ending", ["reset", "cut"])
def test_connection_lost_in_the_middle_of_a_stream(telemetry: Telemetry, faults: FaultServer, ending: str) -> None:
    script = wire.sse_reply(wire.chat_chunks()[:3], ending=ending)
    seen = same_outcome(telemetry, chat(faults, script, stream=True))
    assert len(seen.chunks) == 3
    assert seen.error_class is openai.APIConnectionError
    span = telemetry.only_span()
    assert_failed(span, openai.APIConnectionError)
    assert span.attributes[GenAI.RESPONSE_TIME_TO_FIRST_CHUNK] >= 0


def test_malformed_json_body(telemetry: Telemetry, faults: FaultServer) -> None:
    seen = same_outcome(telemetry, chat(faults, wire.raw_reply(b'{"id": "chatcmpl-1", "choices": [')))
    assert seen.error is not None
    assert_failed(telemetry.only_span(), seen.error[0])


def test_malformed_sse_event(telemetry: Telemetry, faults: FaultServer) -> None:
    script = wire.sse_reply([wire.chat_chunks()[0], b"{broken", wire.chat_chunks()[1]])
    seen = same_outcome(telemetry, chat(faults, script, stream=True))
    assert len(seen.chunks) == 1
    assert seen.error is not None
    assert_failed(telemetry.only_span(), seen.error[0])


@pytest.mark.parametrize("ending", ["truncate", "eof"])
def test_stream_that_ends_without_usage_or_done(telemetry: Telemetry, faults: FaultServer, ending: str) -> None:
    """A clean end in the middle of an event (or without ``[DONE]``) is a normal end: no usage."""
    script = wire.sse_reply(wire.chat_chunks(usage=None), ending=ending)
    seen = same_outcome(telemetry, chat(faults, script, stream=True))
    assert seen.error is None and len(seen.chunks) == 6
    span = telemetry.only_span()
    assert span.status.is_unset
    assert span.attributes[Ours.PRICING_STATUS] == PricingStatus.NO_USAGE
    assert GenAI.USAGE_INPUT_TOKENS not in span.attributes
    (unpriced,) = telemetry.points(Metrics.UNPRICED_CALLS)
    assert unpriced.attributes[Ours.UNPRICED_REASON] == PricingStatus.NO_USAGE


def test_endless_stream_closed_by_the_app(telemetry: Telemetry, faults: FaultServer) -> None:
    """The app stops reading a stream that never ends: the span ends once, at close, without error."""
    seen = same_outcome(telemetry, chat(faults, wire.endless_stream(), stream=True), max_chunks=40)
    assert seen.error is None and len(seen.chunks) == 40
    span = telemetry.only_span()
    assert span.status.is_unset
    assert span.attributes[Ours.PRICING_STATUS] == PricingStatus.NO_USAGE
    assert_valid_attributes(span)


def test_endless_async_stream_cancelled_by_the_app(telemetry: Telemetry, faults: FaultServer) -> None:
    """A task reading an endless stream is cancelled: the app gets CancelledError, the span records it."""
    sdk = async_client(faults.base_url)
    headers = faults.headers(wire.endless_stream())

    async def read_until_cancelled() -> int:
        received = 0
        stream = await sdk.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True, extra_headers=headers
        )
        try:
            async for _chunk in stream:
                received += 1
        finally:
            await stream.close()
        return received

    async def run() -> type[BaseException] | None:
        task = asyncio.create_task(read_until_cancelled())
        await asyncio.sleep(0.05)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError as error:
            return type(error)
        return None

    plain = asyncio.run(run())
    with telemetry.instrumented():
        traced = asyncio.run(run())
    assert plain is traced is asyncio.CancelledError
    assert_failed(telemetry.only_span(), asyncio.CancelledError)


# --- bad values in well-formed responses --------------------------------------------------

BAD_USAGE = [
    pytest.param({"prompt_tokens": "120", "completion_tokens": None, "prompt_tokens_details": "x"}, id="wrong-types"),
    pytest.param({"prompt_tokens": [1], "completion_tokens": {"n": 2}, "total_tokens": True}, id="containers"),
    pytest.param({"prompt_tokens": -120, "completion_tokens": -30}, id="negative"),
    pytest.param({"prompt_tokens": 10**30, "completion_tokens": 2**63}, id="beyond-int64"),
    pytest.param("not an object", id="usage-is-a-string"),
]


@pytest.mark.parametrize("usage", BAD_USAGE)
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_usage_with_wrong_types_or_impossible_counts(
    telemetry: Telemetry, faults: FaultServer, usage: Any, stream: bool
) -> None:
    body = (
        wire.sse_reply(wire.chat_chunks(usage=usage)) if stream else wire.json_reply(wire.chat_completion(usage=usage))
    )
    with track_usage() as totals:
        seen = same_outcome(telemetry, chat(faults, body, stream=stream))
    assert seen.error is None
    span = telemetry.only_span()
    assert span.status.is_unset
    assert_valid_attributes(span)
    assert span.attributes[Ours.PRICING_STATUS] in (PricingStatus.NO_USAGE, PricingStatus.PRICED)
    assert totals.total_cost >= 0 and totals.prompt_tokens >= 0 and totals.completion_tokens >= 0
    for point in telemetry.points(Metrics.OPERATION_COST) + telemetry.points(Metrics.TOKEN_USAGE):
        assert point.min >= 0


def test_token_counts_beyond_floating_point_range(telemetry: Telemetry, faults: FaultServer) -> None:
    """``1e400`` parses to infinity: the counts are dropped, the rest of the response is kept."""
    body = wire.chat_completion(usage={"prompt_tokens": 7, "completion_tokens": 3})
    raw = wire.json_dumps(body).replace(b'"completion_tokens": 3', b'"completion_tokens": 1e400')
    seen = same_outcome(telemetry, chat(faults, wire.raw_reply(raw)))
    assert seen.error is None
    span = telemetry.only_span()
    assert_valid_attributes(span)
    assert span.attributes[GenAI.RESPONSE_ID] == "chatcmpl-reliability"
    assert span.attributes[GenAI.USAGE_INPUT_TOKENS] == 7
    assert GenAI.USAGE_OUTPUT_TOKENS not in span.attributes


def test_huge_but_valid_counts_are_priced_exactly(telemetry: Telemetry, faults: FaultServer) -> None:
    tokens = 2**53 + 1  # not representable as a float: the cost must come from the exact count
    usage = {"prompt_tokens": tokens, "completion_tokens": 1}
    with track_usage() as totals:
        same_outcome(telemetry, chat(faults, wire.json_reply(wire.chat_completion(usage=usage))))
    span = telemetry.only_span()
    assert_valid_attributes(span)
    expected = stated_cost(input_tokens=tokens, cached=0, output_tokens=1)
    assert totals.total_cost == expected
    assert span.attributes[GenAI.USAGE_COST_AMOUNT] == float(expected)


MODEL_NAMES = [
    pytest.param("no-such-model-2031", id="unknown"),
    pytest.param("模型-ünïcödé-🚀\u200b\x00", id="unicode"),
    pytest.param("m" * 10_240, id="10KB"),
    pytest.param("(a+)+$" * 2000, id="regex-like-12KB"),
]


@pytest.mark.parametrize("model", MODEL_NAMES)
def test_unknown_unicode_and_huge_model_names(telemetry: Telemetry, faults: FaultServer, model: str) -> None:
    script = wire.json_reply(wire.chat_completion(model=model))
    with track_usage() as totals:
        seen = same_outcome(telemetry, chat(faults, script, model=model))
    assert seen.error is None
    span = telemetry.only_span()
    assert_valid_attributes(span)
    assert span.attributes[GenAI.RESPONSE_MODEL] == model
    assert span.attributes[Ours.PRICING_STATUS] == PricingStatus.UNKNOWN_MODEL
    assert GenAI.USAGE_COST_AMOUNT not in span.attributes
    assert span.attributes[GenAI.USAGE_INPUT_TOKENS] == wire.USAGE["prompt_tokens"]
    (unpriced,) = telemetry.points(Metrics.UNPRICED_CALLS)
    assert unpriced.attributes[Ours.UNPRICED_REASON] == PricingStatus.UNKNOWN_MODEL
    assert totals.unpriced_requests == 1 and totals.total_cost == Decimal(0)


def test_response_model_of_the_wrong_type(telemetry: Telemetry, faults: FaultServer) -> None:
    script = wire.json_reply(wire.chat_completion(model={"name": "gpt-4o-mini"}, service_tier=12, choices=None))
    seen = same_outcome(telemetry, chat(faults, script))
    assert seen.error is None
    span = telemetry.only_span()
    assert_valid_attributes(span)
    assert GenAI.RESPONSE_MODEL not in span.attributes
    # Priced by the request model, since the response did not name one usable.
    assert span.attributes[Ours.PRICING_STATUS] == PricingStatus.PRICED


def test_async_faults_match_the_uninstrumented_app(telemetry: Telemetry, faults: FaultServer) -> None:
    sdk = async_client(faults.base_url, timeout=0.2)
    scripts = [
        (wire.stall(), False),
        (wire.reset_before_response(), False),
        (wire.sse_reply(wire.chat_chunks()[:2], ending="reset"), True),
        (wire.json_reply(wire.chat_completion(usage={"prompt_tokens": -1})), False),
    ]

    def call(script: Script, stream: bool) -> Callable[[], Any]:
        headers = faults.headers(script)
        return lambda: sdk.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=stream, extra_headers=headers
        )

    calls = [call(script, stream) for script, stream in scripts]

    async def run_all() -> list[Outcome]:
        return [await async_outcome(call) for call in calls]

    plain = asyncio.run(run_all())
    with telemetry.instrumented():
        traced = asyncio.run(run_all())
    assert traced == plain
    assert [o.error_class for o in traced] == [openai.APITimeoutError, openai.APIConnectionError,
                                               openai.APIConnectionError, None]  # fmt: skip
    spans = telemetry.finished()
    assert len(spans) == 4
    for span, seen in zip(spans[:3], traced[:3], strict=True):
        assert_failed(span, seen.error[0])  # type: ignore[index]
    assert_valid_attributes(spans[3])
