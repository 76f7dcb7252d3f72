"""Issue 14, defects 6 and 10: ``with_raw_response``/``with_streaming_response`` streams.

Defect 6: a raw response parsed into a stream hands the call on to that stream; dropping the
raw object must not end the call before the stream has reported its usage (OpenAI and
Anthropic, sync and async).

Defect 10: with ``GENAI_COST_OPENAI_STREAM_USAGE=true`` the extra usage chunk cannot be hidden
where the app reads the HTTP body itself, so it is not asked for on raw paths: the app reads
exactly the lines it reads uninstrumented (chat completions, legacy completions, Responses).
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import json
from collections.abc import Callable, Iterator
from functools import reduce
from typing import Any

import anthropic
import pytest
from tests.reliability.support.harness import Telemetry, async_client, client
from tests.support.fake_anthropic import SCENARIOS, fake_anthropic_server
from tests.support.fake_http import FakeHTTPServer

from genai_cost import track_usage
from genai_cost.config import ENV
from genai_cost.demo.fake_openai import SCENARIOS as OPENAI_SCENARIOS
from genai_cost.demo.fake_openai import FakeOpenAIServer
from genai_cost.instrumentation.anthropic import AnthropicInstrumentor
from genai_cost.instrumentation.openai import OpenAIInstrumentor
from genai_cost.semconv import GenAI, Ours, PricingStatus

MESSAGES = [{"role": "user", "content": "hi"}]
ANTHROPIC_MODEL = "claude-haiku-4-5"


@pytest.fixture(scope="module")
def fake_anthropic() -> Iterator[FakeHTTPServer]:
    with fake_anthropic_server() as server:
        yield server


def _anthropic_kwargs() -> dict[str, Any]:
    return {"model": ANTHROPIC_MODEL, "max_tokens": 64, "messages": MESSAGES, "stream": True}


def _openai_kwargs() -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": MESSAGES, "stream": True, "stream_options": {"include_usage": True}}


def _read_sync(sdk: Any, open_stream: Callable[[Any], Any]) -> int:
    with sdk:
        stream = open_stream(sdk)  # the raw response it came from is gone now
        gc.collect()
        return sum(1 for _ in stream)


def _read_async(sdk: Any, open_stream: Callable[[Any], Any]) -> int:
    async def main() -> int:
        async with sdk:
            stream = await open_stream(sdk)
            gc.collect()
            return len([chunk async for chunk in stream])

    return asyncio.run(main())


async def _parsed_async(raw: Any) -> Any:
    parsed = (await raw).parse()  # awaitable for Anthropic's async raw responses, not for OpenAI's
    return (await parsed) if inspect.isawaitable(parsed) else parsed


def _openai_sync(fake: FakeOpenAIServer, fake_anthropic: FakeHTTPServer) -> int:
    return _read_sync(
        client(fake.base_url), lambda sdk: sdk.chat.completions.with_raw_response.create(**_openai_kwargs()).parse()
    )


def _openai_async(fake: FakeOpenAIServer, fake_anthropic: FakeHTTPServer) -> int:
    return _read_async(
        async_client(fake.base_url),
        lambda sdk: _parsed_async(sdk.chat.completions.with_raw_response.create(**_openai_kwargs())),
    )


def _anthropic_sync(fake: FakeOpenAIServer, fake_anthropic: FakeHTTPServer) -> int:
    sdk = anthropic.Anthropic(base_url=fake_anthropic.origin, api_key="sk-ant-test", max_retries=0)
    return _read_sync(sdk, lambda sdk: sdk.messages.with_raw_response.create(**_anthropic_kwargs()).parse())


def _anthropic_async(fake: FakeOpenAIServer, fake_anthropic: FakeHTTPServer) -> int:
    sdk = anthropic.AsyncAnthropic(base_url=fake_anthropic.origin, api_key="sk-ant-test", max_retries=0)
    return _read_async(sdk, lambda sdk: _parsed_async(sdk.messages.with_raw_response.create(**_anthropic_kwargs())))


OPENAI_TOKENS = (OPENAI_SCENARIOS["default"].prompt_tokens, OPENAI_SCENARIOS["default"].completion_tokens)
ANTHROPIC_TOKENS = (SCENARIOS["default"].input_tokens, SCENARIOS["default"].output_tokens)


@pytest.mark.parametrize(
    ("read", "instrumentor", "tokens"),
    [
        pytest.param(_openai_sync, OpenAIInstrumentor, OPENAI_TOKENS, id="openai-sync"),
        pytest.param(_openai_async, OpenAIInstrumentor, OPENAI_TOKENS, id="openai-async"),
        pytest.param(_anthropic_sync, AnthropicInstrumentor, ANTHROPIC_TOKENS, id="anthropic-sync"),
        pytest.param(_anthropic_async, AnthropicInstrumentor, ANTHROPIC_TOKENS, id="anthropic-async"),
    ],
)
def test_raw_stream_read_after_the_raw_response_is_dropped_keeps_its_usage(
    telemetry: Telemetry,
    fake: FakeOpenAIServer,
    fake_anthropic: FakeHTTPServer,
    read: Callable[[FakeOpenAIServer, FakeHTTPServer], int],
    instrumentor: type[Any],
    tokens: tuple[int, int],
) -> None:
    with telemetry.instrumented(instrumentor=instrumentor()), track_usage() as usage:
        chunks = read(fake, fake_anthropic)

    assert chunks > 3
    attributes = telemetry.only_span().attributes or {}
    assert (attributes[GenAI.USAGE_INPUT_TOKENS], attributes[GenAI.USAGE_OUTPUT_TOKENS]) == tokens
    assert attributes[Ours.PRICING_STATUS] != PricingStatus.NO_USAGE
    assert (usage.successful_requests, usage.prompt_tokens, usage.completion_tokens) == (1, *tokens)


def _resource(sdk: Any, path: str) -> Any:
    return reduce(getattr, path.split("."), sdk)


def _streaming_lines(fake: FakeOpenAIServer, path: str, **kwargs: Any) -> list[str]:
    sdk = client(fake.base_url)
    with sdk, _resource(sdk, path).with_streaming_response.create(stream=True, **kwargs) as response:
        return list(response.iter_lines())


def _streaming_lines_async(fake: FakeOpenAIServer, path: str, **kwargs: Any) -> list[str]:
    async def main() -> list[str]:
        sdk = async_client(fake.base_url)
        async with sdk, _resource(sdk, path).with_streaming_response.create(stream=True, **kwargs) as response:
            return [line async for line in response.iter_lines()]

    return asyncio.run(main())


def _raw_lines(fake: FakeOpenAIServer, path: str, **kwargs: Any) -> list[str]:
    with client(fake.base_url) as sdk:
        raw = _resource(sdk, path).with_raw_response.create(stream=True, **kwargs)
        return list(raw.http_response.iter_lines())


_PER_RESPONSE = ("id", "item_id", "created", "created_at")


def _without_ids(value: Any) -> Any:
    """Parsed data lines, minus what differs per response (ids, times)."""
    if isinstance(value, dict):
        return {key: _without_ids(item) for key, item in value.items() if key not in _PER_RESPONSE}
    if isinstance(value, list):
        return [_without_ids(item) for item in value]
    return value


def _parsed(lines: list[str]) -> list[Any]:
    return [_without_ids(json.loads(line[6:])) if line.startswith("data: {") else line for line in lines]


CHAT = {"model": "gpt-4o-mini", "messages": MESSAGES}
RAW_READS = [
    pytest.param(_streaming_lines, "chat.completions", CHAT, id="streaming-chat"),
    pytest.param(_streaming_lines_async, "chat.completions", CHAT, id="streaming-chat-async"),
    pytest.param(_raw_lines, "chat.completions", CHAT, id="raw-chat"),
    pytest.param(_streaming_lines, "completions", {"model": "gpt-3.5-turbo-instruct", "prompt": "hi"},
                 id="streaming-completions"),
    pytest.param(_streaming_lines, "responses", {"model": "gpt-4o-mini", "input": "hi"}, id="streaming-responses"),
]  # fmt: skip


@pytest.mark.parametrize(("read_lines", "path", "kwargs"), RAW_READS)
def test_stream_usage_option_adds_no_line_the_app_reads_on_raw_paths(
    telemetry: Telemetry,
    fake: FakeOpenAIServer,
    settings_env: Callable[..., None],
    read_lines: Callable[..., list[str]],
    path: str,
    kwargs: dict[str, Any],
) -> None:
    plain = read_lines(fake, path, **kwargs)
    settings_env(**{ENV.OPENAI_STREAM_USAGE: "true"})
    with telemetry.instrumented():
        traced = read_lines(fake, path, **kwargs)
        sent = json.loads(fake.requests[-1]["body"])
        gc.collect()
        telemetry.tracer_provider.force_flush()

    assert _parsed(traced) == _parsed(plain)
    assert "stream_options" not in sent
