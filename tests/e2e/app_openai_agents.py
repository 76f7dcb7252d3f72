"""An openai-agents app, run with and without ``opentelemetry-instrument``: one agent answering
twice (a run and a streamed run) against the fake OpenAI server at FAKE_OPENAI_URL. Prints the
answers, so runs with and without instrumentation can be compared."""

from __future__ import annotations

import asyncio
import os

import agents
import openai
from opentelemetry import trace

client = openai.AsyncOpenAI(
    base_url=os.environ["FAKE_OPENAI_URL"],
    api_key="sk-e2e",
    max_retries=0,
    default_headers={"x-fake-scenario": "cached"},
)
helper = agents.Agent(
    name="helper", instructions="Be brief.", model=agents.OpenAIResponsesModel("gpt-4o-mini", openai_client=client)
)


async def streamed() -> str:
    result = agents.Runner.run_streamed(helper, "Say hello")
    events = [event async for event in result.stream_events() if event.type == "raw_response_event"]
    return "".join(event.data.delta for event in events if event.data.type == "response.output_text.delta")


async def main() -> None:
    async with client:
        with trace.get_tracer("e2e-app").start_as_current_span("handle-request"):
            print("agent:", (await agents.Runner.run(helper, "Say hello")).final_output)
            print("agent streamed:", await streamed())


asyncio.run(main())
