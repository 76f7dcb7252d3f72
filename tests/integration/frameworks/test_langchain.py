"""LangChain chat models over provider SDKs that genai-cost instruments, each against its fake
server: ChatOpenAI (langchain-openai, openai SDK), ChatAnthropic (langchain-anthropic, anthropic
SDK) and ChatBedrockConverse (langchain-aws, boto3 bedrock-runtime). With our instrumentor of the
SDK on, with and without OpenInference's LangChain instrumentation: each LLM call is counted
exactly once, and the chain's span carries the total.

OpenInference's LangChain spans carry ``llm.token_count.*`` on the chat model's span, but it
does not make its spans current (its tracer says attaching a context from callbacks is
hazardous), so our SDK span of the same call starts in a trace of its own: the tree cannot tell
that the two are one call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import openai
import pytest
from tests.support import fake_bedrock
from tests.support.fake_anthropic import SCENARIOS as ANTHROPIC_SCENARIOS
from tests.support.fake_anthropic import fake_anthropic_server
from tests.support.frameworks import Pipeline, assert_priced_once, assert_rolled_up
from tests.support.instrumenting import instrumented
from tests.support.price_oracle import oracle_cost
from tests.support.venvs import import_peer

from genai_cost import track_usage
from genai_cost.demo.fake_openai import SCENARIOS as OPENAI_SCENARIOS
from genai_cost.demo.fake_openai import FakeOpenAIServer
from genai_cost.instrumentation._base import GenAIInstrumentor
from genai_cost.instrumentation.anthropic import AnthropicInstrumentor
from genai_cost.instrumentation.bedrock import BedrockInstrumentor
from genai_cost.instrumentation.openai import OpenAIInstrumentor
from genai_cost.pricing import PricingTable
from genai_cost.semconv import Ours

ChatOpenAI = import_peer("langchain_openai").ChatOpenAI
ChatAnthropic = import_peer("langchain_anthropic").ChatAnthropic
langchain_anthropic_clients = import_peer("langchain_anthropic._client_utils")
ChatBedrockConverse = import_peer("langchain_aws").ChatBedrockConverse
LangChainInstrumentor = import_peer("openinference.instrumentation.langchain").LangChainInstrumentor
from langchain_core.output_parsers import StrOutputParser  # noqa: E402
from langchain_core.prompts import ChatPromptTemplate  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # LangChain's own, with or without us

CALLS = 2
LANGCHAIN_SCOPE = "openinference.instrumentation.langchain"


@dataclass(frozen=True)
class Fakes:
    openai: FakeOpenAIServer
    anthropic: str
    bedrock: str


@pytest.fixture(scope="module")
def fakes(fake_openai: FakeOpenAIServer) -> Iterator[Fakes]:
    with fake_anthropic_server() as anthropic, fake_bedrock.server() as bedrock:
        yield Fakes(fake_openai, anthropic.origin, bedrock.origin)


@dataclass(frozen=True)
class Case:
    """A LangChain chat model over an SDK we instrument, and what one call of it costs."""

    chat: Callable[[Fakes], Any]
    instrumentor: Callable[[], GenAIInstrumentor]
    scope: str
    cost: float
    tokens: tuple[int, int]
    async_client: Callable[[Any], Any] = lambda chat: None
    """The chat model's async client, to close on the event loop that opened its connections."""


def _chat_openai(fakes: Fakes) -> Any:
    return ChatOpenAI(
        model="gpt-4o-mini",
        base_url=fakes.openai.base_url,
        api_key="sk-test-langchain",
        max_retries=0,
        stream_usage=True,
        default_headers={"x-fake-scenario": "cached"},
        # langchain-openai otherwise shares one async client per base URL, bound to the first event loop.
        http_async_client=openai.DefaultAsyncHttpxClient(),
    )


def _chat_anthropic(fakes: Fakes) -> Any:
    return ChatAnthropic(
        model="claude-haiku-4-5-20251001",
        base_url=fakes.anthropic,
        api_key="sk-ant-test-langchain",
        max_retries=0,
        stream_usage=True,
        default_headers={"x-fake-scenario": "cached"},
    )


def _anthropic_async_client(chat: Any) -> Any:
    # langchain-anthropic shares one async HTTP client per base URL (an lru_cache), bound to the
    # event loop that first used it: this loop gets one of its own.
    langchain_anthropic_clients._get_default_async_httpx_client.cache_clear()
    return chat._async_client


def _chat_bedrock(fakes: Fakes) -> Any:
    client = fake_bedrock.client(fakes.bedrock)
    client.meta.events.register("before-sign.bedrock-runtime", _cached_scenario)
    return ChatBedrockConverse(model=BEDROCK_MODEL, client=client, region_name="us-east-1")


def _cached_scenario(request: Any, **kwargs: Any) -> None:
    request.headers[fake_bedrock.SCENARIO_HEADER] = "cached"


OPENAI_CACHED = OPENAI_SCENARIOS["cached"]
ANTHROPIC_CACHED = ANTHROPIC_SCENARIOS["cached"]
ANTHROPIC_INPUT = ANTHROPIC_CACHED.input_tokens + (ANTHROPIC_CACHED.cache_read or 0)
BEDROCK_MODEL = "us.anthropic.claude-3-5-sonnet-20241022-v2:0"
BEDROCK_CACHED = fake_bedrock.CACHED

CASES = [
    pytest.param(
        Case(
            _chat_openai,
            OpenAIInstrumentor,
            "genai_cost.instrumentation.openai",
            oracle_cost("gpt-4o-mini", "openai", input_tokens=OPENAI_CACHED.prompt_tokens,
                        cache_read_tokens=OPENAI_CACHED.cached_tokens, output_tokens=OPENAI_CACHED.completion_tokens),
            (OPENAI_CACHED.prompt_tokens, OPENAI_CACHED.completion_tokens),
            lambda chat: chat.http_async_client,
        ),
        id="langchain-openai",
    ),
    pytest.param(
        Case(
            _chat_anthropic,
            AnthropicInstrumentor,
            "genai_cost.instrumentation.anthropic",
            oracle_cost("claude-haiku-4-5-20251001", "anthropic", input_tokens=ANTHROPIC_INPUT,
                        cache_read_tokens=ANTHROPIC_CACHED.cache_read or 0,
                        output_tokens=ANTHROPIC_CACHED.output_tokens),
            (ANTHROPIC_INPUT, ANTHROPIC_CACHED.output_tokens),
            _anthropic_async_client,
        ),
        id="langchain-anthropic",
    ),
    pytest.param(
        Case(
            _chat_bedrock,
            BedrockInstrumentor,
            "genai_cost.instrumentation.bedrock",
            oracle_cost(BEDROCK_MODEL, "aws", input_tokens=BEDROCK_CACHED.total_input,
                        cache_read_tokens=BEDROCK_CACHED.cache_read, cache_write_tokens=BEDROCK_CACHED.cache_write,
                        output_tokens=BEDROCK_CACHED.output),
            (BEDROCK_CACHED.total_input, BEDROCK_CACHED.output),
        ),
        id="langchain-aws",
    ),
]  # fmt: skip


@pytest.fixture
def pipeline() -> Pipeline:
    return Pipeline()


@pytest.fixture(params=[pytest.param(True, id="langchain-spans"), pytest.param(False, id="sdk-spans-only")])
def langchain_spans(request: pytest.FixtureRequest, pipeline: Pipeline) -> Iterator[bool]:
    """OpenInference's LangChain instrumentor when the param says so."""
    if not request.param:
        yield False
        return
    instrumentor = LangChainInstrumentor()
    instrumentor.instrument(tracer_provider=pipeline.tracer_provider)
    try:
        yield True
    finally:
        instrumentor.uninstrument()


def chain(chat: Any) -> Any:
    return ChatPromptTemplate.from_template("Tell me about {topic}") | chat | StrOutputParser()


def invoke(runnable: Any, case: Case) -> list[str]:
    return [runnable.invoke({"topic": "foxes"}) for _ in range(CALLS)]


def ainvoke(runnable: Any, case: Case) -> list[str]:
    async def run() -> list[str]:
        async with AsyncExitStack() as stack:
            client = case.async_client(runnable.steps[1])
            if client is not None:
                await stack.enter_async_context(client)
            return [await runnable.ainvoke({"topic": "foxes"}) for _ in range(CALLS)]

    return asyncio.run(run())


def stream(runnable: Any, case: Case) -> list[str]:
    return ["".join(runnable.stream({"topic": "foxes"})) for _ in range(CALLS)]


RUNNERS = [pytest.param(invoke, id="invoke"), pytest.param(ainvoke, id="ainvoke"), pytest.param(stream, id="stream")]


@pytest.mark.parametrize("run", RUNNERS)
@pytest.mark.parametrize("case", CASES)
def test_each_chain_call_priced_once_and_rolled_up_to_the_chain_span(
    fakes: Fakes, pipeline: Pipeline, langchain_spans: bool, case: Case, run: Callable[[Any, Case], list[str]]
) -> None:
    app = pipeline.tracer_provider.get_tracer("app")
    with (
        instrumented(case.instrumentor(), **pipeline.options, pricing=PricingTable.default()),
        track_usage() as usage,
        app.start_as_current_span("request"),
    ):
        outputs = run(chain(case.chat(fakes)), case)

    assert outputs == [outputs[0]] * CALLS and outputs[0], "the app's answers"
    # Exactly one span per call holds the cost: our SDK span.
    assert_priced_once(pipeline, usage, calls=CALLS, cost=case.cost, tokens=case.tokens, scope=case.scope)
    # The app's span around it all: each call once, though our span and LangChain's are both below it.
    assert_rolled_up(pipeline.spans("app", "request"), calls=CALLS, cost=case.cost, tokens=case.tokens)
    chains = pipeline.spans(LANGCHAIN_SCOPE, "RunnableSequence")
    if langchain_spans:
        assert len(chains) == CALLS
        assert_rolled_up(chains, calls=1, cost=case.cost, tokens=case.tokens)
    else:
        assert chains == []
        assert all(Ours.SUBTREE_CALLS not in (s.attributes or {}) for s in pipeline.spans(case.scope))
