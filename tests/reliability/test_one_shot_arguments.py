"""Content capture never consumes the app's arguments (issue 14, defect 2).

Where an SDK declares ``Iterable[...]`` the app may pass a generator, which the SDK iterates
once to build the request. With ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``
each call below is made uninstrumented and instrumented, with fresh generators each time: the
server must receive the same body and the app the same outcome.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import anthropic
import openai
import pytest
from google import genai
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from tests.reliability.support.harness import Telemetry
from tests.support import fake_bedrock
from tests.support.fake_anthropic import fake_anthropic_server
from tests.support.fake_google_genai import fake_google_genai_server

from genai_cost.demo.fake_openai import FakeOpenAIServer
from genai_cost.instrumentation.anthropic import AnthropicInstrumentor
from genai_cost.instrumentation.bedrock import BedrockInstrumentor
from genai_cost.instrumentation.google_genai import GoogleGenAIInstrumentor
from genai_cost.instrumentation.openai import OpenAIInstrumentor
from genai_cost.semconv import GenAI


def once(*items: Any) -> Iterator[Any]:
    """A one-shot iterator over ``items``, as an app passing a generator expression would."""
    return (item for item in items)


@dataclass(frozen=True)
class Servers:
    openai: FakeOpenAIServer
    anthropic: Any
    google: Any
    bedrock: Any

    def bodies(self) -> list[list[Any]]:
        """The request bodies each server received so far, as data."""
        received = [[json.loads(request["body"] or b"{}") for request in self.openai.requests]]
        return received + [[request.json() for request in server.requests] for server in self.http_servers()]

    def http_servers(self) -> tuple[Any, ...]:
        return self.anthropic, self.google, self.bedrock


@pytest.fixture(scope="module")
def servers(fake: FakeOpenAIServer) -> Iterator[Servers]:
    with fake_anthropic_server() as claude, fake_google_genai_server() as gemini, fake_bedrock.server() as bedrock:
        yield Servers(fake, claude, gemini, bedrock)


Call = Callable[[Servers], Any]


def _openai_chat(messages: Callable[[], Iterable[Any]]) -> Call:
    def call(servers: Servers) -> Any:
        sdk = openai.OpenAI(base_url=servers.openai.base_url, api_key="sk-test", max_retries=0)
        return sdk.chat.completions.create(model="gpt-4o-mini", messages=messages())  # type: ignore[arg-type]

    return call


def _tool_call_turns() -> list[Any]:
    call = {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": '{"city":"Oslo"}'}}
    return [
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "tool_calls": once(call)},
        {"role": "tool", "tool_call_id": "call_1", "content": once({"type": "text", "text": "sunny"})},
    ]


def _openai_responses(servers: Servers) -> Any:
    sdk = openai.OpenAI(base_url=servers.openai.base_url, api_key="sk-test", max_retries=0)
    item = {"role": "user", "content": once({"type": "input_text", "text": "Hello"})}
    return sdk.responses.create(model="gpt-4o-mini", input=[item])  # type: ignore[list-item]


def _openai_completion(servers: Servers) -> Any:
    sdk = openai.OpenAI(base_url=servers.openai.base_url, api_key="sk-test", max_retries=0)
    return sdk.completions.create(model="gpt-3.5-turbo-instruct", prompt=once(9906, 11))


def _anthropic(**arguments: Any) -> Call:
    def call(servers: Servers) -> Any:
        sdk = anthropic.Anthropic(base_url=servers.anthropic.origin, api_key="sk-ant-test", max_retries=0)
        fresh = {name: value() for name, value in arguments.items()}
        return sdk.messages.create(model="claude-haiku-4-5", max_tokens=64, **fresh)

    return call


def _text_blocks() -> Iterator[Any]:
    return once({"type": "text", "text": "Be brief."}, {"type": "text", "text": " Be kind."})


def _tool_result_turns() -> list[Any]:
    use = {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Oslo"}}
    result = {"type": "tool_result", "tool_use_id": "toolu_1", "content": once({"type": "text", "text": "sunny"})}
    return [
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "content": once(use)},
        {"role": "user", "content": [result]},
    ]


def _google(contents: Callable[[], Any]) -> Call:
    def call(servers: Servers) -> Any:
        options = genai.types.HttpOptions(base_url=servers.google.origin, timeout=5_000)
        sdk = genai.Client(api_key="AIza-test", http_options=options)
        config = {"system_instruction": {"parts": once({"text": "Be brief."})}}
        return sdk.models.generate_content(model="gemini-2.5-flash", contents=contents(), config=config)  # type: ignore[arg-type]

    return call


def _bedrock(servers: Servers) -> Any:
    client = fake_bedrock.client(servers.bedrock.origin)
    return client.converse(
        modelId="anthropic.claude-3-haiku-20240307-v1:0",
        messages=[{"role": "user", "content": once({"text": "Hello"})}],
        system=once({"text": "Be brief."}),
    )


CASES = [
    pytest.param(_openai_chat(lambda: [{"role": "user", "content": once({"type": "text", "text": "Hi"})}]),
                 OpenAIInstrumentor, id="openai-content-parts"),
    pytest.param(_openai_chat(_tool_call_turns), OpenAIInstrumentor, id="openai-tool-calls-and-tool-content"),
    pytest.param(_openai_chat(lambda: once({"role": "user", "content": "Hi"})), OpenAIInstrumentor,
                 id="openai-messages"),
    pytest.param(_openai_responses, OpenAIInstrumentor, id="openai-responses-input"),
    pytest.param(_anthropic(system=_text_blocks, messages=lambda: [{"role": "user", "content": "Hi"}]),
                 AnthropicInstrumentor, id="anthropic-system"),
    pytest.param(_anthropic(messages=lambda: [{"role": "user", "content": _text_blocks()}]),
                 AnthropicInstrumentor, id="anthropic-content"),
    pytest.param(_anthropic(messages=_tool_result_turns), AnthropicInstrumentor, id="anthropic-tool-use-and-result"),
    pytest.param(_anthropic(messages=lambda: once({"role": "user", "content": "Hi"})), AnthropicInstrumentor,
                 id="anthropic-messages"),
    pytest.param(_openai_completion, OpenAIInstrumentor, id="openai-completions-prompt"),
    pytest.param(_google(lambda: [{"role": "user", "parts": once({"text": "Hello"}, {"text": " there"})}]),
                 GoogleGenAIInstrumentor, id="google-parts-and-system-parts"),
    pytest.param(_google(lambda: once({"role": "user", "parts": [{"text": "Hello"}]})), GoogleGenAIInstrumentor,
                 id="google-contents"),
    pytest.param(_bedrock, BedrockInstrumentor, id="bedrock-converse"),
]  # fmt: skip


def _observed(call: Call, servers: Servers) -> tuple[type | None, list[Any]]:
    """The exception class the app got (if any) and the bodies the servers received."""
    already = [len(bodies) for bodies in servers.bodies()]
    error: type | None = None
    try:
        call(servers)
    except Exception as raised:  # the reference run decides whether failing is the SDK's answer
        error = type(raised)
    return error, [body for count, bodies in zip(already, servers.bodies(), strict=True) for body in bodies[count:]]


@pytest.mark.parametrize(("call", "instrumentor"), CASES)
def test_capture_leaves_one_shot_arguments_to_the_sdk(
    call: Call,
    instrumentor: type[BaseInstrumentor],
    servers: Servers,
    telemetry: Telemetry,
    capture_content: None,
) -> None:
    plain = _observed(call, servers)
    with telemetry.instrumented(instrumentor=instrumentor()):
        instrumented = _observed(call, servers)
    assert instrumented == plain
    captured = (telemetry.only_span().attributes or {}).get(GenAI.INPUT_MESSAGES)
    assert captured is None or isinstance(json.loads(str(captured)), list)


def test_readable_content_is_still_captured(servers: Servers, telemetry: Telemetry, capture_content: None) -> None:
    """Lists beside the one-shot parts are still read: the tool call and the user turn are there."""
    with telemetry.instrumented(instrumentor=OpenAIInstrumentor()):
        _openai_chat(lambda: [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}])(servers)
    captured = json.loads(str((telemetry.only_span().attributes or {})[GenAI.INPUT_MESSAGES]))
    assert captured == [{"role": "user", "parts": [{"type": "text", "content": "Hi"}]}]
