"""Issue 14, defects 15 and 16: what the app holds before and around a stream behaves as uninstrumented.

Defect 16: the proxies of SDK streams, raw responses and stream managers copy, deep-copy,
pickle and iterate like the SDK objects they stand for (outcomes compared with the plain
object's, not hard-coded), and a shallow copy is the same call.

Defect 15: a stream helper's manager that is never entered sends nothing, so it is no call:
no span, no duration point, no ``track_usage`` request (Anthropic ``messages.stream()``; the
OpenAI ``chat.completions.stream()``/``responses.stream()`` helpers checked alike).
"""

from __future__ import annotations

import asyncio
import copy
import gc
import pickle
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import anthropic
import boto3
import httpx2
import pytest
from google import genai
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from tests.reliability.support.harness import Telemetry, async_client, client
from tests.support import fake_bedrock
from tests.support.fake_anthropic import fake_anthropic_server
from tests.support.fake_google_genai import fake_google_genai_server
from tests.support.fake_http import FakeHTTPServer

from genai_cost import track_usage
from genai_cost.demo.fake_openai import FakeOpenAIServer
from genai_cost.instrumentation.anthropic import AnthropicInstrumentor
from genai_cost.instrumentation.bedrock import BedrockInstrumentor
from genai_cost.instrumentation.google_genai import GoogleGenAIInstrumentor
from genai_cost.instrumentation.openai import OpenAIInstrumentor
from genai_cost.semconv import GenAI, Metrics

MESSAGES = [{"role": "user", "content": "hi"}]
CHAT = {"model": "gpt-4o-mini", "messages": MESSAGES}
CLAUDE = {"model": "claude-haiku-4-5", "max_tokens": 64, "messages": MESSAGES}
SONNET = "us.anthropic.claude-3-5-sonnet-20241022-v2:0"


class Servers:
    def __init__(
        self, openai: FakeOpenAIServer, anthropic: FakeHTTPServer, bedrock: FakeHTTPServer, google: FakeHTTPServer
    ) -> None:
        self.openai = openai
        self.anthropic = anthropic
        self.bedrock = bedrock
        self.google = google


@pytest.fixture(scope="module")
def servers(fake: FakeOpenAIServer) -> Iterator[Servers]:
    with fake_anthropic_server() as claude, fake_bedrock.server() as bedrock, fake_google_genai_server() as google:
        yield Servers(fake, claude, bedrock, google)


def _outcome(operation: Callable[[], Any], describe: Callable[[Any], Any] = lambda result: result.__class__) -> Any:
    """("ok", what describes the result: its class by default) or ("error", the exception's class)."""
    try:
        result = operation()
    except Exception as error:
        return "error", type(error)
    return "ok", describe(result)


def _observe(held: Any, *, is_async: bool) -> dict[str, Any]:
    """What the app can see of an object's copy, deep copy, pickle and iteration."""
    with _partial_copies_forgotten():
        return {
            "copy": _outcome(lambda: copy.copy(held)),
            "deepcopy": _outcome(lambda: copy.deepcopy(held)),
            "pickle": _outcome(lambda: pickle.dumps(held)),
            "iter is self": _outcome(lambda: (aiter(held) if is_async else iter(held)) is held, bool),
        }


@contextmanager
def _partial_copies_forgotten() -> Iterator[None]:
    """A deep copy that fails half-way leaves SDK objects built without ``__init__`` (an HTTP
    client wrapper) whose finalizers then fail, instrumented or not: not what is compared."""
    hook = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: None
    try:
        yield
        gc.collect()
    finally:
        sys.unraisablehook = hook


# Each case opens one object through a fresh client, passes it to ``look`` and cleans up.
Case = Callable[[Servers, Callable[[Any], None]], None]


def _openai_stream(servers: Servers, look: Callable[[Any], None]) -> None:
    with client(servers.openai.base_url) as sdk, sdk.chat.completions.create(stream=True, **CHAT) as stream:
        look(stream)


def _openai_raw_stream(servers: Servers, look: Callable[[Any], None]) -> None:
    with client(servers.openai.base_url) as sdk:
        raw = sdk.chat.completions.with_raw_response.create(stream=True, **CHAT)
        look(raw)
        with raw.parse() as stream:
            look(stream)


def _openai_async_stream(servers: Servers, look: Callable[[Any], None]) -> None:
    async def main() -> None:
        sdk = async_client(servers.openai.base_url)
        async with sdk, await sdk.chat.completions.create(stream=True, **CHAT) as stream:
            look(stream)

    asyncio.run(main())


def _anthropic_stream(servers: Servers, look: Callable[[Any], None]) -> None:
    sdk = anthropic.Anthropic(base_url=servers.anthropic.origin, api_key="sk-ant-test", max_retries=0)
    with sdk, sdk.messages.create(stream=True, **CLAUDE) as stream:  # type: ignore[call-overload]
        look(stream)


def _anthropic_async_stream(servers: Servers, look: Callable[[Any], None]) -> None:
    async def main() -> None:
        sdk = anthropic.AsyncAnthropic(base_url=servers.anthropic.origin, api_key="sk-ant-test", max_retries=0)
        async with sdk, await sdk.messages.create(stream=True, **CLAUDE) as stream:  # type: ignore[call-overload]
            look(stream)

    asyncio.run(main())


def _anthropic_manager(servers: Servers, look: Callable[[Any], None]) -> None:
    sdk = anthropic.Anthropic(base_url=servers.anthropic.origin, api_key="sk-ant-test", max_retries=0)
    with sdk:
        manager = sdk.messages.stream(**CLAUDE)  # type: ignore[arg-type]
        look(manager)
        with manager as stream:
            look(stream)


def _bedrock_event_stream(servers: Servers, look: Callable[[Any], None]) -> None:
    runtime = fake_bedrock.client(servers.bedrock.origin, boto3.session.Session())
    stream = runtime.converse_stream(modelId=SONNET, messages=[{"role": "user", "content": [{"text": "hi"}]}])
    look(stream["stream"])
    stream["stream"].close()


def _google_stream(servers: Servers, look: Callable[[Any], None]) -> None:
    with httpx2.Client() as http:
        options = {"base_url": servers.google.origin, "retry_options": {"attempts": 1}, "httpx_client": http}
        sdk = genai.Client(api_key="AIza-test", http_options=options)  # type: ignore[arg-type]
        stream = sdk.models.generate_content_stream(model="gemini-2.5-flash", contents="hi")
        look(stream)
        stream.close()


CASES = [
    pytest.param(_openai_stream, OpenAIInstrumentor, False, id="openai-stream"),
    pytest.param(_openai_raw_stream, OpenAIInstrumentor, False, id="openai-raw-response-and-its-stream"),
    pytest.param(_openai_async_stream, OpenAIInstrumentor, True, id="openai-async-stream"),
    pytest.param(_anthropic_stream, AnthropicInstrumentor, False, id="anthropic-stream"),
    pytest.param(_anthropic_async_stream, AnthropicInstrumentor, True, id="anthropic-async-stream"),
    pytest.param(_anthropic_manager, AnthropicInstrumentor, False, id="anthropic-stream-manager-and-stream"),
    pytest.param(_bedrock_event_stream, BedrockInstrumentor, False, id="bedrock-event-stream"),
    pytest.param(_google_stream, GoogleGenAIInstrumentor, False, id="google-genai-stream"),
]


@pytest.mark.parametrize(("case", "instrumentor", "is_async"), CASES)
def test_proxies_copy_pickle_and_iterate_like_the_sdk_object(
    telemetry: Telemetry, servers: Servers, case: Case, instrumentor: type[BaseInstrumentor], is_async: bool
) -> None:
    def observe(into: list[dict[str, Any]]) -> Callable[[Any], None]:
        return lambda held: into.append(_observe(held, is_async=is_async))

    plain: list[dict[str, Any]] = []
    case(servers, observe(plain))
    traced: list[dict[str, Any]] = []
    with telemetry.instrumented(instrumentor=instrumentor()):
        case(servers, observe(traced))

    assert traced == plain


def test_a_copy_of_a_stream_is_the_same_call(telemetry: Telemetry, servers: Servers) -> None:
    with telemetry.instrumented(), client(servers.openai.base_url) as sdk, track_usage() as usage:
        stream = sdk.chat.completions.create(stream=True, stream_options={"include_usage": True}, **CHAT)
        duplicate = copy.copy(stream)
        del stream
        gc.collect()
        chunks = list(duplicate)

    assert chunks[-1].usage is not None
    attributes = telemetry.only_span().attributes or {}
    assert attributes[GenAI.USAGE_INPUT_TOKENS] == chunks[-1].usage.prompt_tokens
    assert usage.successful_requests == 1


def _anthropic_stream_helper(servers: Servers) -> None:
    with anthropic.Anthropic(base_url=servers.anthropic.origin, api_key="sk-ant-test", max_retries=0) as sdk:
        sdk.messages.stream(**CLAUDE)  # type: ignore[arg-type]
        sdk.beta.messages.stream(**CLAUDE)  # type: ignore[arg-type]


def _anthropic_async_stream_helper(servers: Servers) -> None:
    async def main() -> None:
        sdk = anthropic.AsyncAnthropic(base_url=servers.anthropic.origin, api_key="sk-ant-test", max_retries=0)
        async with sdk:
            sdk.messages.stream(**CLAUDE)  # type: ignore[arg-type]
            sdk.beta.messages.stream(**CLAUDE)  # type: ignore[arg-type]

    asyncio.run(main())


def _openai_stream_helpers(servers: Servers) -> None:
    with client(servers.openai.base_url) as sdk:
        sdk.chat.completions.stream(**CHAT)  # type: ignore[arg-type]
        sdk.responses.stream(model="gpt-4o-mini", input="hi")


def _openai_async_stream_helpers(servers: Servers) -> None:
    async def main() -> None:
        async with async_client(servers.openai.base_url) as sdk:
            sdk.chat.completions.stream(**CHAT)  # type: ignore[arg-type]
            sdk.responses.stream(model="gpt-4o-mini", input="hi")

    asyncio.run(main())


@pytest.mark.parametrize(
    ("build_and_drop", "instrumentor"),
    [
        pytest.param(_anthropic_stream_helper, AnthropicInstrumentor, id="anthropic"),
        pytest.param(_anthropic_async_stream_helper, AnthropicInstrumentor, id="anthropic-async"),
        pytest.param(_openai_stream_helpers, OpenAIInstrumentor, id="openai"),
        pytest.param(_openai_async_stream_helpers, OpenAIInstrumentor, id="openai-async"),
    ],
)
def test_stream_manager_never_entered_is_no_call(
    telemetry: Telemetry,
    servers: Servers,
    build_and_drop: Callable[[Servers], None],
    instrumentor: type[BaseInstrumentor],
) -> None:
    sent = len(servers.anthropic.requests), len(servers.openai.requests)
    with telemetry.instrumented(instrumentor=instrumentor()), track_usage() as usage:
        with warnings.catch_warnings():
            # An async manager holds the request's coroutine: never awaited, as uninstrumented.
            warnings.simplefilter("ignore", RuntimeWarning)
            build_and_drop(servers)
            gc.collect()
        telemetry.tracer_provider.force_flush()

    assert (len(servers.anthropic.requests), len(servers.openai.requests)) == sent
    assert telemetry.finished() == ()
    assert telemetry.points(Metrics.OPERATION_DURATION) == []
    assert (usage.successful_requests, usage.failed_requests) == (0, 0)
