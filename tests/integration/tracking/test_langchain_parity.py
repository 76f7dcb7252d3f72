"""Parity oracle: LangChain's get_openai_callback and our track_usage watch the same calls.

The same ``ChatOpenAI`` calls (langchain-openai, pointed at the local fake server) run inside
both blocks at once. Token counts and successful requests must be equal; cost must be equal
for every model both price.
"""

from __future__ import annotations

import warnings
from decimal import Decimal

import pytest
from tests.support.venvs import import_peer

from genai_cost.demo.fake_openai import FakeOpenAIServer
from genai_cost.tracking import track_usage

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # langchain-community announces its sunset
    get_openai_callback = import_peer("langchain_community.callbacks.manager").get_openai_callback
ChatOpenAI = import_peer("langchain_openai").ChatOpenAI

pytestmark = pytest.mark.usefixtures("instrumented")

# (model, fake-server scenario): plain, cached-prompt and reasoning calls, all priced by both.
CALLS = [
    pytest.param("gpt-3.5-turbo-0125", "default", id="gpt-3.5-turbo-0125"),
    pytest.param("gpt-4o-mini", "default", id="gpt-4o-mini"),
    pytest.param("gpt-4o", "cached", id="gpt-4o-cached"),
    pytest.param("o3-mini", "reasoning", id="o3-mini-reasoning"),
]


def _chat(server: FakeOpenAIServer, model: str, scenario: str) -> ChatOpenAI:
    return ChatOpenAI(
        model=model,
        base_url=server.base_url,
        api_key="sk-test-langchain",  # type: ignore[arg-type]
        max_retries=0,
        default_headers={"x-fake-scenario": scenario},
    )


@pytest.mark.parametrize(("model", "scenario"), CALLS)
def test_same_tokens_requests_and_cost_as_get_openai_callback(
    fake_openai: FakeOpenAIServer, model: str, scenario: str
) -> None:
    chat = _chat(fake_openai, model, scenario)
    with get_openai_callback() as theirs, track_usage() as ours:
        chat.invoke("Tell me a joke")
        chat.invoke("Tell me another")

    assert ours.prompt_tokens == theirs.prompt_tokens
    assert ours.completion_tokens == theirs.completion_tokens
    assert ours.total_tokens == theirs.total_tokens
    assert ours.prompt_tokens_cached == theirs.prompt_tokens_cached
    assert ours.reasoning_tokens == theirs.reasoning_tokens
    assert ours.successful_requests == theirs.successful_requests == 2
    assert theirs.total_cost > 0, "every model in CALLS is priced by LangChain too"
    assert ours.total_cost == pytest.approx(Decimal(str(theirs.total_cost)), rel=Decimal("1e-9"))


def test_streamed_calls_match_too(fake_openai: FakeOpenAIServer) -> None:
    chat = ChatOpenAI(
        model="gpt-4o-mini",
        base_url=fake_openai.base_url,
        api_key="sk-test-langchain",  # type: ignore[arg-type]
        max_retries=0,
        stream_usage=True,
    )
    with get_openai_callback() as theirs, track_usage() as ours:
        "".join(str(chunk.content) for chunk in chat.stream("Tell me a joke"))

    assert (ours.prompt_tokens, ours.completion_tokens) == (theirs.prompt_tokens, theirs.completion_tokens)
    assert ours.successful_requests == theirs.successful_requests == 1
    assert float(ours.total_cost) == pytest.approx(theirs.total_cost, rel=1e-9)
