"""Realtime API (issue 20 item 7): one priced span per ``response.done`` that reports usage.

The real openai SDK (``client.realtime`` and ``client.beta.realtime``, sync and async) connects
over a real websocket to :class:`~tests.support.fake_realtime.FakeRealtimeServer`. Expected
counts come from the server's fixture; expected costs from genai-prices: its own Realtime
extractor (``api_flavor="realtime"``) reads the same ``response.done`` event and its
``calc_price`` prices it.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import time
import weakref
from collections.abc import Awaitable, Callable, Iterator
from functools import partial
from typing import Any, TypeVar

import genai_prices
import openai
import pytest
from openai.types.realtime import RealtimeResponseUsage
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.support.fake_realtime import TRANSCRIPTION_SECONDS, TRANSCRIPTION_TOKENS, TURNS, FakeRealtimeServer
from tests.support.price_oracle import oracle_cost
from websockets.exceptions import ConnectionClosedError

from genai_cost.instrumentation.openai import OpenAIInstrumentor
from genai_cost.instrumentation.openai.realtime import _Connection, read_realtime_usage, read_transcription_usage
from genai_cost.pricing import PricingTable
from genai_cost.semconv import GenAI, Ours, PricingStatus
from genai_cost.usage import Usage

API_KEY = "sk-test-realtime"
T = TypeVar("T")

# The SDK's sync client opens its websocket the way websockets 17.1 deprecated (not our code).
pytestmark = pytest.mark.filterwarnings(r"ignore:connect\(\) must be used as a context manager:DeprecationWarning")

FLAVORS = [
    pytest.param(False, False, "gpt-realtime", id="sync"),
    pytest.param(True, False, "gpt-realtime", id="async"),
    pytest.param(False, True, "gpt-4o-realtime-preview", id="sync-beta"),
    pytest.param(True, True, "gpt-4o-realtime-preview", id="async-beta"),
]
SCRIPT = ("completed", "cancelled", "completed", "failed")
"""The responses a session asks for, in order: two of them report usage."""


@pytest.fixture(scope="module")
def server() -> Iterator[FakeRealtimeServer]:
    with FakeRealtimeServer() as fake:
        yield fake


@pytest.fixture
def bundled(instrument: Callable[..., OpenAIInstrumentor]) -> Callable[[], OpenAIInstrumentor]:
    """Instrument with the bundled table, the one the genai-prices oracle is checked against."""
    return lambda: instrument(pricing=PricingTable.load())


async def _settle(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _client(server: FakeRealtimeServer, is_async: bool) -> Any:
    client_type = openai.AsyncOpenAI if is_async else openai.OpenAI
    return client_type(base_url=server.base_url, websocket_base_url=server.websocket_base_url, api_key=API_KEY)


def _realtime(sdk: Any, beta: bool) -> Any:
    return sdk.beta.realtime if beta else sdk.realtime


async def _enter(manager: Any) -> Any:
    return await _settle(manager.__aenter__() if hasattr(manager, "__aenter__") else manager.__enter__())


async def _until_done(connection: Any, seen: list[Any]) -> None:
    """Receive events into ``seen`` up to the next ``response.done``, by ``recv()`` as apps do."""
    while True:
        event = await _settle(connection.recv())
        seen.append(event)
        if event.type == "response.done":
            return


async def _converse(connection: Any, script: tuple[str, ...]) -> list[Any]:
    seen = [await _settle(connection.recv())]  # session.created
    for scenario in script:
        await _settle(connection.response.create(response={"metadata": {"scenario": scenario}}))
        await _until_done(connection, seen)
    return seen


def on_connection(
    server: FakeRealtimeServer,
    app: Callable[[Any], Awaitable[T]],
    *,
    is_async: bool,
    beta: bool = False,
    model: str = "gpt-realtime",
) -> T:
    """``app(connection)`` on a new connection of a sync or async client, closed after."""

    async def main() -> T:
        sdk = _client(server, is_async)
        connection = await _enter(_realtime(sdk, beta).connect(model=model))
        try:
            return await app(connection)
        finally:
            await _settle(connection.close())
            await _settle(sdk.close())

    return asyncio.run(main())


def run_session(server: FakeRealtimeServer, *, is_async: bool, beta: bool, model: str) -> list[Any]:
    """One connection running :data:`SCRIPT`; the events the app received."""
    return on_connection(server, partial(_converse, script=SCRIPT), is_async=is_async, beta=beta, model=model)


def _oracle(model: str, turn: dict[str, Any]) -> float:
    event = {"type": "response.done", "response": {"usage": turn}}
    extracted = genai_prices.extract_usage(event, provider_id="openai", api_flavor="realtime").usage
    return oracle_cost(model, "openai", **vars(extracted))


def _assert_priced(span: ReadableSpan, model: str, turn: dict[str, Any]) -> None:
    attributes = span.attributes or {}
    details, cached = turn["input_token_details"], turn["input_token_details"]["cached_tokens_details"]
    assert span.name == f"chat {model}"
    assert attributes[GenAI.REQUEST_MODEL] == model
    assert attributes[GenAI.RESPONSE_MODEL] == model
    assert attributes[GenAI.PROVIDER_NAME] == "openai"
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == turn["input_tokens"]
    assert attributes[GenAI.USAGE_OUTPUT_TOKENS] == turn["output_tokens"]
    assert attributes[GenAI.USAGE_CACHE_READ_INPUT_TOKENS] == details["cached_tokens"]
    assert attributes[GenAI.USAGE_AUDIO_INPUT_TOKENS] == details["audio_tokens"]
    assert attributes[GenAI.USAGE_AUDIO_OUTPUT_TOKENS] == turn["output_token_details"]["audio_tokens"]
    assert attributes[f"{Ours.USAGE_PREFIX}cache_audio_read_tokens"] == cached["audio_tokens"]
    assert attributes[Ours.PRICING_STATUS] == PricingStatus.PRICED
    assert attributes[GenAI.USAGE_COST_AMOUNT] == pytest.approx(_oracle(model, turn), rel=1e-12)
    assert attributes[GenAI.RESPONSE_FINISH_REASONS] == ("completed",)


def _dumped(events: list[Any]) -> list[tuple[str, Any]]:
    return [(type(event).__qualname__, event.to_dict()) for event in events]


@pytest.mark.parametrize(("is_async", "beta", "model"), FLAVORS)
def test_each_response_with_usage_is_one_priced_span(
    server: FakeRealtimeServer,
    bundled: Callable[[], OpenAIInstrumentor],
    span_exporter: InMemorySpanExporter,
    is_async: bool,
    beta: bool,
    model: str,
) -> None:
    plain = run_session(server, is_async=is_async, beta=beta, model=model)
    bundled()
    seen = run_session(server, is_async=is_async, beta=beta, model=model)

    assert _dumped(seen) == _dumped(plain)  # the app's events, unchanged
    done = [event.response for event in seen if event.type == "response.done"]
    assert [response.status for response in done] == ["completed", "cancelled", "completed", "failed"]
    first, second = span_exporter.get_finished_spans()  # none for the responses without usage
    assert [first.attributes[GenAI.RESPONSE_ID], second.attributes[GenAI.RESPONSE_ID]] == [done[0].id, done[2].id]
    _assert_priced(first, model, TURNS[0])
    _assert_priced(second, model, TURNS[1])


def test_span_runs_from_response_created_to_response_done(
    server: FakeRealtimeServer, bundled: Callable[[], OpenAIInstrumentor], span_exporter: InMemorySpanExporter
) -> None:
    """The span starts when the app read ``response.created``, not at ``connect`` or ``response.create``."""
    bundled()
    with _client(server, False) as sdk, sdk.realtime.connect(model="gpt-realtime") as connection:
        connection.recv()  # session.created
        connection.response.create()
        sent = time.time_ns()
        assert connection.recv().type == "response.created"
        read_created = time.time_ns()
        while connection.recv().type != "response.done":
            pass
        read_done = time.time_ns()
    (span,) = span_exporter.get_finished_spans()
    assert sent <= span.start_time <= read_created <= span.end_time <= read_done


async def _mid_response(connection: Any) -> None:
    """Ask for a response that never finishes and read its first events."""
    await _settle(connection.recv())  # session.created
    await _settle(connection.response.create(response={"metadata": {"scenario": "hang"}}))
    for kind in ("response.created", "response.output_audio.delta", "response.output_audio_transcript.delta"):
        assert (await _settle(connection.recv())).type == kind


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_connection_abandoned_mid_response_leaves_no_span(
    server: FakeRealtimeServer,
    bundled: Callable[[], OpenAIInstrumentor],
    span_exporter: InMemorySpanExporter,
    is_async: bool,
) -> None:
    """One app closes its connection mid-response, another drops it unclosed: nothing is left
    open or kept alive, and the next connection's response is priced alone."""
    bundled()

    async def abandon() -> None:
        sdk = _client(server, is_async)
        closed = await _enter(sdk.realtime.connect(model="gpt-realtime"))
        await _mid_response(closed)
        await _settle(closed.close())
        dropped = await _enter(sdk.realtime.connect(model="gpt-realtime"))
        await _mid_response(dropped)
        websocket = dropped._connection  # only to close the socket once the app's object is gone
        gone = weakref.ref(dropped)
        del dropped
        gc.collect()
        assert gone() is None  # our per-connection state does not keep it alive
        await _settle(websocket.close())
        await _settle(sdk.close())

    asyncio.run(abandon())
    assert span_exporter.get_finished_spans() == ()
    on_connection(server, partial(_converse, script=("completed",)), is_async=is_async)
    (span,) = span_exporter.get_finished_spans()
    _assert_priced(span, "gpt-realtime", TURNS[0])


async def _until_dropped(connection: Any) -> tuple[list[Any], type[BaseException], Any]:
    """A completed response, then the server drops the connection mid-response: what the app saw."""
    seen = await _converse(connection, ("completed",))
    await _settle(connection.response.create(response={"metadata": {"scenario": "drop"}}))
    try:
        while True:
            seen.append(await _settle(connection.recv()))
    except ConnectionClosedError as error:
        return seen, type(error), error.rcvd and error.rcvd.code


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_server_dropping_the_connection_reaches_the_app_unchanged(
    server: FakeRealtimeServer,
    bundled: Callable[[], OpenAIInstrumentor],
    span_exporter: InMemorySpanExporter,
    is_async: bool,
) -> None:
    plain_events, *plain_error = on_connection(server, _until_dropped, is_async=is_async)
    bundled()
    events, *error = on_connection(server, _until_dropped, is_async=is_async)
    assert error == plain_error == [ConnectionClosedError, 1011]
    assert _dumped(events) == _dumped(plain_events)
    (span,) = span_exporter.get_finished_spans()  # the completed response; the dropped one has no usage
    _assert_priced(span, "gpt-realtime", TURNS[0])


GA_USAGE = TURNS[1]
BETA_USAGE = {  # the beta shape: no image tokens, no cached split
    "input_tokens": 521,
    "output_tokens": 20,
    "input_token_details": {"text_tokens": 292, "audio_tokens": 229, "cached_tokens": 0},
    "output_token_details": {"text_tokens": 20, "audio_tokens": 0},
}


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        pytest.param(
            GA_USAGE,
            Usage(input_tokens=174, output_tokens=150, cache_read_tokens=128, input_text_tokens=110,
                  input_audio_tokens=64, input_image_tokens=0, cache_audio_read_tokens=32,
                  cache_image_read_tokens=0, output_audio_tokens=110),
            id="ga-dict",
        ),
        pytest.param(
            RealtimeResponseUsage.model_validate(GA_USAGE),
            Usage(input_tokens=174, output_tokens=150, cache_read_tokens=128, input_text_tokens=110,
                  input_audio_tokens=64, input_image_tokens=0, cache_audio_read_tokens=32,
                  cache_image_read_tokens=0, output_audio_tokens=110),
            id="ga-sdk-model",
        ),
        pytest.param(
            BETA_USAGE,
            Usage(input_tokens=521, output_tokens=20, cache_read_tokens=0, input_text_tokens=292,
                  input_audio_tokens=229, output_audio_tokens=0),
            id="beta-dict",
        ),
        pytest.param({}, Usage(), id="empty"),
        pytest.param(None, None, id="none"),
    ],
)  # fmt: skip
def test_read_realtime_usage(usage: Any, expected: Usage | None) -> None:
    assert read_realtime_usage(usage) == expected


def test_responses_never_done_are_remembered_within_a_bound() -> None:
    """A connection that starts responses it never finishes keeps the start times of the latest 64."""
    state = _Connection()
    for number in range(1_000):
        assert state.see({"type": "response.created", "response": {"id": f"resp_{number}"}}) is None
    assert list(state.started) == [f"resp_{number}" for number in range(936, 1_000)]
    done = {"type": "response.done", "response": {"id": "resp_999", "status": "completed", "usage": GA_USAGE}}
    finished = state.see(done)
    assert finished is not None and finished.started is not None
    assert "resp_999" not in state.started


TRANSCRIBED = "conversation.item.input_audio_transcription.completed"


def _transcribing(beta: bool, transcriber: str) -> dict[str, Any]:
    """The ``session.update`` session that turns input audio transcription on."""
    if beta:
        return {"input_audio_transcription": {"model": transcriber}}
    return {"type": "realtime", "audio": {"input": {"transcription": {"model": transcriber}}}}


async def _until(connection: Any, kind: str, seen: list[Any]) -> None:
    """Receive events into ``seen`` up to the next one of type ``kind``."""
    while True:
        seen.append(await _settle(connection.recv()))
        if seen[-1].type == kind:
            return


async def _speak_then_respond(connection: Any, *, beta: bool, transcriber: str) -> list[Any]:
    """Turn transcription on, commit two audio turns (each transcribed), then ask for a response."""
    seen: list[Any] = [await _settle(connection.recv())]  # session.created
    await _settle(connection.session.update(session=_transcribing(beta, transcriber)))
    await _until(connection, "session.updated", seen)
    for _ in range(2):
        await _settle(connection.input_audio_buffer.append(audio="AAAA" * 64))
        await _settle(connection.input_audio_buffer.commit())
        await _until(connection, TRANSCRIBED, seen)
    await _settle(connection.response.create())
    await _until_done(connection, seen)
    return seen


def _transcription_oracle(transcriber: str, usage: dict[str, Any]) -> float:
    if usage["type"] == "duration":
        seconds = 5  # 4.2 s billed as 5 whole seconds (a started second counts)
        return oracle_cost(transcriber, "openai", audio_seconds=seconds, input_audio_seconds=seconds)
    details = usage["input_token_details"]
    return oracle_cost(
        transcriber,
        "openai",
        input_tokens=usage["input_tokens"],
        output_tokens=usage["output_tokens"],
        input_audio_tokens=details["audio_tokens"],
        input_text_tokens=details["text_tokens"],
    )


@pytest.mark.parametrize(
    ("transcriber", "usage"),
    [
        pytest.param("gpt-4o-transcribe", TRANSCRIPTION_TOKENS, id="tokens"),
        pytest.param("whisper-1", TRANSCRIPTION_SECONDS, id="duration"),
    ],
)
@pytest.mark.parametrize(("is_async", "beta", "model"), FLAVORS)
def test_each_input_audio_transcription_is_one_priced_span(
    server: FakeRealtimeServer,
    bundled: Callable[[], OpenAIInstrumentor],
    span_exporter: InMemorySpanExporter,
    is_async: bool,
    beta: bool,
    model: str,
    transcriber: str,
    usage: dict[str, Any],
) -> None:
    """Transcription is billed apart, at the transcription model's rates: one span per completed
    transcription, and the response's span holds the response's usage alone."""
    app = partial(_speak_then_respond, beta=beta, transcriber=transcriber)
    bundled()
    on_connection(server, app, is_async=is_async, beta=beta, model=model)

    *transcribed, responded = span_exporter.get_finished_spans()
    assert len(transcribed) == 2  # one per committed audio turn
    expected = _transcription_oracle(transcriber, usage)
    for span in transcribed:
        attributes = span.attributes or {}
        assert span.name == f"transcription {transcriber}"
        assert attributes[GenAI.OPERATION_NAME] == "transcription"
        assert attributes[GenAI.REQUEST_MODEL] == attributes[GenAI.RESPONSE_MODEL] == transcriber
        assert attributes[GenAI.PROVIDER_NAME] == "openai"
        assert attributes[Ours.PRICING_STATUS] == PricingStatus.PRICED
        assert attributes[GenAI.USAGE_COST_AMOUNT] == pytest.approx(expected, rel=1e-12)
        assert span.start_time is not None and span.end_time is not None and span.start_time < span.end_time
    _assert_priced(responded, model, TURNS[0])


def test_transcription_whose_model_was_not_seen_is_recorded_unpriced(
    server: FakeRealtimeServer, bundled: Callable[[], OpenAIInstrumentor], span_exporter: InMemorySpanExporter
) -> None:
    """Instrumented after the session named its transcription model: the transcription still
    gets its span and tokens, flagged unknown_model, never a silent 0."""
    with _client(server, False) as sdk, sdk.realtime.connect(model="gpt-realtime") as connection:
        connection.recv()  # session.created
        connection.session.update(session=_transcribing(False, "gpt-4o-transcribe"))
        assert connection.recv().type == "session.updated"
        bundled()
        connection.input_audio_buffer.append(audio="AAAA")
        connection.input_audio_buffer.commit()
        while connection.recv().type != TRANSCRIBED:
            pass
    (span,) = span_exporter.get_finished_spans()
    attributes = span.attributes or {}
    assert span.name == "transcription"
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == TRANSCRIPTION_TOKENS["input_tokens"]
    assert attributes[GenAI.USAGE_AUDIO_INPUT_TOKENS] == TRANSCRIPTION_TOKENS["input_token_details"]["audio_tokens"]
    assert attributes[Ours.PRICING_STATUS] == PricingStatus.UNKNOWN_MODEL
    assert GenAI.USAGE_COST_AMOUNT not in attributes


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        pytest.param(
            TRANSCRIPTION_TOKENS,
            Usage(input_tokens=16, output_tokens=8, input_text_tokens=0, input_audio_tokens=16),
            id="tokens",
        ),
        pytest.param(TRANSCRIPTION_SECONDS, Usage(audio_seconds=5, input_audio_seconds=5), id="seconds-rounded-up"),
        pytest.param({"type": "duration", "seconds": 3}, Usage(audio_seconds=3, input_audio_seconds=3), id="whole"),
        pytest.param({"type": "duration", "seconds": float("nan")}, Usage(), id="nan"),
        pytest.param({"type": "duration", "seconds": True}, Usage(), id="bool"),
        pytest.param(
            {"type": "tokens", "input_tokens": 7, "output_tokens": 2},
            Usage(input_tokens=7, output_tokens=2),
            id="no-details",
        ),
        pytest.param(None, None, id="none"),
    ],
)
def test_read_transcription_usage(usage: Any, expected: Usage | None) -> None:
    assert read_transcription_usage(usage) == expected
