"""A pydantic-ai app, run with and without ``opentelemetry-instrument``: one agent with
pydantic-ai's own OpenTelemetry instrumentation on (``Agent.instrument_all()``, which uses the
global providers ``opentelemetry-instrument`` sets up) answering twice (a run and a streamed run)
against the fake OpenAI server at FAKE_OPENAI_URL. Prints the answers, so runs with and without
instrumentation can be compared."""

from __future__ import annotations

import asyncio
import os

import openai
import pydantic_ai
from opentelemetry import trace
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

client = openai.AsyncOpenAI(
    base_url=os.environ["FAKE_OPENAI_URL"],
    api_key="sk-e2e",
    max_retries=0,
    default_headers={"x-fake-scenario": "cached"},
)
pydantic_ai.Agent.instrument_all()
helper = pydantic_ai.Agent(OpenAIChatModel("gpt-4o-mini", provider=OpenAIProvider(openai_client=client)), name="helper")


async def streamed() -> str:
    async with helper.run_stream("Say hello") as result:
        return "".join([delta async for delta in result.stream_text(delta=True)])


async def main() -> None:
    async with client:
        with trace.get_tracer("e2e-app").start_as_current_span("handle-request"):
            print("agent:", (await helper.run("Say hello")).output)
            print("agent streamed:", await streamed())


asyncio.run(main())
