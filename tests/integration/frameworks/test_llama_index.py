"""LlamaIndex's OpenAI LLM (llama-index-llms-openai) in a chat engine, over the real openai SDK
against the fake OpenAI server, with our openai instrumentor on, with and without OpenInference's
llama-index instrumentation: each LLM call is counted exactly once, and the app's and the chat
engine's spans carry the total.

OpenInference's ``OpenAI.chat`` span carries ``llm.token_count.*``; of a stream, it stamps its
end time when the LLM returns the stream and is ended once the stream is read, after our span of
the call. llama-index-llms-openai needs openai < 3 (``test`` has 3.x), so it runs in a cached
venv (``test_frameworks_venv.py``); here, without it, these tests are skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tests.support.frameworks import Pipeline, assert_priced_once, assert_rolled_up
from tests.support.instrumenting import instrumented
from tests.support.price_oracle import oracle_cost

from genai_cost import track_usage
from genai_cost.demo.fake_openai import SCENARIOS, FakeOpenAIServer
from genai_cost.instrumentation.openai import OpenAIInstrumentor
from genai_cost.pricing import PricingTable
from genai_cost.semconv import Ours

pytest.importorskip(
    "llama_index.llms.openai", reason="llama-index-llms-openai is not installed; test_frameworks_venv.py runs this"
)
from llama_index.core.chat_engine import SimpleChatEngine
from llama_index.llms.openai import OpenAI
from openinference.instrumentation.llama_index import LlamaIndexInstrumentor

# OpenInference's llama-index handler calls pydantic's deprecated ``.json()``; as an error, the
# handler drops the LLM span.
pytestmark = pytest.mark.filterwarnings("ignore:The `json` method is deprecated:DeprecationWarning")

MODEL = "gpt-4o-mini"
CACHED = SCENARIOS["cached"]
CALLS = 2
LLAMA_INDEX_SCOPE = "openinference.instrumentation.llama_index"
OUR_SCOPE = "genai_cost.instrumentation.openai"


@pytest.fixture
def pipeline() -> Pipeline:
    return Pipeline()


@pytest.fixture(params=[pytest.param(True, id="llama-index-spans"), pytest.param(False, id="sdk-spans-only")])
def llama_index_spans(request: pytest.FixtureRequest, pipeline: Pipeline) -> Iterator[bool]:
    """Our openai instrumentor always; OpenInference's llama-index instrumentor when the param says so."""
    with instrumented(OpenAIInstrumentor(), **pipeline.options, pricing=PricingTable.default()):
        if not request.param:
            yield False
            return
        instrumentor = LlamaIndexInstrumentor()
        instrumentor.instrument(tracer_provider=pipeline.tracer_provider)
        try:
            yield True
        finally:
            instrumentor.uninstrument()


def engine(fake: FakeOpenAIServer) -> Any:
    llm = OpenAI(
        model=MODEL,
        api_base=fake.base_url,
        api_key="sk-test-llama-index",
        max_retries=0,
        default_headers={"x-fake-scenario": "cached"},
        additional_kwargs={"stream_options": {"include_usage": True}},  # sent with streams only
    )
    return SimpleChatEngine.from_defaults(llm=llm)


def chat(chat_engine: Any) -> list[str]:
    return [str(chat_engine.chat("Say hello")) for _ in range(CALLS)]


def achat(chat_engine: Any) -> list[str]:
    async def run() -> list[str]:
        return [str(await chat_engine.achat("Say hello")) for _ in range(CALLS)]

    return asyncio.run(run())


def stream_chat(chat_engine: Any) -> list[str]:
    return ["".join(chat_engine.stream_chat("Say hello").response_gen) for _ in range(CALLS)]


def astream_chat(chat_engine: Any) -> list[str]:
    async def one() -> str:
        response = await chat_engine.astream_chat("Say hello")
        return "".join([token async for token in response.async_response_gen()])

    async def run() -> list[str]:
        return [await one() for _ in range(CALLS)]

    return asyncio.run(run())


RUNNERS = [
    pytest.param(chat, id="chat"),
    pytest.param(achat, id="achat"),
    pytest.param(stream_chat, id="stream_chat"),
    pytest.param(astream_chat, id="astream_chat"),
]


@pytest.mark.parametrize("run", RUNNERS)
def test_each_engine_call_priced_once_and_rolled_up(
    fake_openai: FakeOpenAIServer, pipeline: Pipeline, llama_index_spans: bool, run: Callable[[Any], list[str]]
) -> None:
    app = pipeline.tracer_provider.get_tracer("app")
    with track_usage() as usage, app.start_as_current_span("request"):
        outputs = run(engine(fake_openai))

    assert outputs == [outputs[0]] * CALLS and outputs[0], "the app's answers"
    cost = oracle_cost(
        MODEL,
        "openai",
        input_tokens=CACHED.prompt_tokens,
        cache_read_tokens=CACHED.cached_tokens,
        output_tokens=CACHED.completion_tokens,
    )
    tokens = (CACHED.prompt_tokens, CACHED.completion_tokens)
    assert_priced_once(pipeline, usage, calls=CALLS, cost=cost, tokens=tokens, scope=OUR_SCOPE)

    assert_rolled_up(pipeline.spans("app", "request"), calls=CALLS, cost=cost, tokens=tokens)
    if not llama_index_spans:
        return
    engines = [s for s in pipeline.spans(LLAMA_INDEX_SCOPE) if s.name.startswith("SimpleChatEngine.")]
    llms = [s for s in pipeline.spans(LLAMA_INDEX_SCOPE) if s.name.startswith("OpenAI.")]
    assert (len(engines), len(llms)) == (CALLS, CALLS)  # the LLM spans with usage are there, not priced
    if run in (stream_chat, astream_chat):
        # The engine's span ends when it returns the stream, before the call that reads it.
        assert all(Ours.SUBTREE_CALLS not in (s.attributes or {}) for s in engines)
    else:
        assert_rolled_up(engines, calls=1, cost=cost, tokens=tokens)
