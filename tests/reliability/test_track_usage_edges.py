"""``track_usage`` used the ways a hostile app uses it: decorated generators, one object shared
by concurrent threads and tasks, a block entered again inside itself.

Real openai calls against the local fake server; the totals must count each call made inside
the block exactly once and nothing made outside it.
"""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from tests.reliability.support.harness import Telemetry, async_client, client

from genai_cost.demo.fake_openai import FakeOpenAIServer
from genai_cost.tracking import track_usage

MODEL = "gpt-4o-mini"


def _ask(sdk: Any) -> Any:
    return sdk.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])


def test_decorated_generator_counts_the_calls_made_while_it_is_iterated(
    telemetry: Telemetry, fake: FakeOpenAIServer
) -> None:
    sdk = client(fake.base_url)
    tracker = track_usage()

    @tracker
    def answers() -> Iterator[int]:
        for _ in range(2):
            yield _ask(sdk).usage.prompt_tokens

    with telemetry.instrumented():
        prompt_tokens = list(answers())
        _ask(sdk)  # outside the generator: not counted

    assert tracker.usage.successful_requests == 2
    assert tracker.usage.prompt_tokens == sum(prompt_tokens)


def test_decorated_generator_leaves_the_consumer_untracked_between_steps(
    telemetry: Telemetry, fake: FakeOpenAIServer
) -> None:
    sdk = client(fake.base_url)
    tracker = track_usage()

    @tracker
    def steps() -> Iterator[int]:
        yield 1
        yield 2

    with telemetry.instrumented():
        for _ in steps():
            _ask(sdk)  # the consumer's calls, between the generator's steps

    assert tracker.usage.successful_requests == 0


def test_decorated_generator_counts_calls_in_its_cleanup_and_passes_values_and_errors(
    telemetry: Telemetry, fake: FakeOpenAIServer
) -> None:
    sdk = client(fake.base_url)
    tracker = track_usage()
    received: list[Any] = []

    @tracker
    def echo() -> Iterator[Any]:
        try:
            while True:
                try:
                    received.append((yield len(received)))
                except KeyError as error:
                    received.append(error)
        finally:
            _ask(sdk)  # runs on close()

    with telemetry.instrumented():
        generator = echo()
        assert next(generator) == 0
        assert generator.send("a") == 1
        assert generator.throw(KeyError("k")) == 2
        generator.close()

    assert received[0] == "a"
    assert isinstance(received[1], KeyError)
    assert tracker.usage.successful_requests == 1


def test_decorated_async_generator_counts_the_calls_made_while_it_is_iterated(
    telemetry: Telemetry, fake: FakeOpenAIServer
) -> None:
    tracker = track_usage()

    @tracker
    async def answers(sdk: Any) -> AsyncIterator[int]:
        for _ in range(2):
            completion = await sdk.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
            yield completion.usage.prompt_tokens

    async def main() -> list[int]:
        async with async_client(fake.base_url) as sdk:
            tokens = [tokens async for tokens in answers(sdk)]
            await sdk.chat.completions.create(model=MODEL, messages=[])  # outside: not counted
            return tokens

    with telemetry.instrumented():
        prompt_tokens = asyncio.run(main())

    assert tracker.usage.successful_requests == 2
    assert tracker.usage.prompt_tokens == sum(prompt_tokens)


def test_one_tracker_entered_in_concurrent_threads(telemetry: Telemetry, fake: FakeOpenAIServer) -> None:
    sdk = client(fake.base_url)
    shared = track_usage()
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        with shared:
            first_in.set()
            second_in.wait(10)
            _ask(sdk)
        first_out.set()  # left while the second thread is still inside: interleaved, not nested

    def second() -> None:
        first_in.wait(10)
        with shared:
            second_in.set()
            _ask(sdk)
            first_out.wait(10)

    def run(target: Any) -> None:
        try:
            target()
        except BaseException as error:
            errors.append(error)

    with telemetry.instrumented():
        threads = [threading.Thread(target=run, args=(target,)) for target in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        _ask(sdk)  # after both blocks: not counted

    assert errors == []
    assert shared.usage.successful_requests == 2


def test_one_tracker_entered_in_concurrent_tasks(telemetry: Telemetry, fake: FakeOpenAIServer) -> None:
    shared = track_usage()

    async def main() -> None:
        first_in, second_in, first_out = asyncio.Event(), asyncio.Event(), asyncio.Event()

        async def first(sdk: Any) -> None:
            async with shared:
                first_in.set()
                await second_in.wait()
                await sdk.chat.completions.create(model=MODEL, messages=[])
            first_out.set()  # left while the second task is still inside: interleaved, not nested

        async def second(sdk: Any) -> None:
            await first_in.wait()
            async with shared:
                second_in.set()
                await sdk.chat.completions.create(model=MODEL, messages=[])
                await first_out.wait()

        async with async_client(fake.base_url) as sdk:
            await asyncio.gather(first(sdk), second(sdk))
            await sdk.chat.completions.create(model=MODEL, messages=[])  # after both blocks

    with telemetry.instrumented():
        asyncio.run(main())

    assert shared.usage.successful_requests == 2


@pytest.mark.parametrize("depth", [2, 3])
def test_a_block_entered_inside_itself_counts_each_call_once(
    telemetry: Telemetry, fake: FakeOpenAIServer, depth: int
) -> None:
    sdk = client(fake.base_url)
    tracker = track_usage()

    @tracker
    def recurse(level: int) -> None:
        _ask(sdk)
        if level > 1:
            recurse(level - 1)

    with telemetry.instrumented():
        recurse(depth)
        _ask(sdk)  # after the outermost call returned: not counted

    assert tracker.usage.successful_requests == depth


def test_a_stream_dropped_inside_the_block_is_counted_when_the_block_ends(
    telemetry: Telemetry, fake: FakeOpenAIServer
) -> None:
    sdk = client(fake.base_url)
    with telemetry.instrumented():
        with track_usage() as usage:
            stream = sdk.chat.completions.create(model=MODEL, messages=[], stream=True)
            next(stream)
            del stream
            gc.collect()  # the proxy is gone: its call waits to be finished in a safe place
        counted_at_exit = usage.successful_requests
    assert counted_at_exit == 1
