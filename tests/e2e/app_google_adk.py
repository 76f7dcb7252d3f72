"""A google-adk app, run with and without ``opentelemetry-instrument``: one agent answering once
whole and once streamed (SSE), against the fake Gemini API at FAKE_GEMINI_URL. Prints the answers,
so runs with and without instrumentation can be compared."""

from __future__ import annotations

import asyncio
import os

from google.adk.agents import LlmAgent
from google.adk.agents.run_config import RunConfig, StreamingMode
from google.adk.models import Gemini
from google.adk.runners import InMemoryRunner
from google.genai import types
from opentelemetry import trace

model = Gemini(model="gemini-2.5-flash", base_url=os.environ["FAKE_GEMINI_URL"], client_kwargs={"api_key": "AIza-e2e"})
config = types.GenerateContentConfig(http_options=types.HttpOptions(headers={"x-fake-scenario": "cached"}))
helper = LlmAgent(name="helper", model=model, instruction="Be brief.", generate_content_config=config)
runner = InMemoryRunner(agent=helper, app_name="e2e")


async def ask(streaming: StreamingMode) -> str:
    session = await runner.session_service.create_session(app_name="e2e", user_id="user")
    question = types.Content(role="user", parts=[types.Part(text="Say hello")])
    events = runner.run_async(
        user_id="user", session_id=session.id, new_message=question, run_config=RunConfig(streaming_mode=streaming)
    )
    final = [event async for event in events if event.is_final_response() and not event.partial]
    return "".join(part.text or "" for event in final for part in event.content.parts)


async def main() -> None:
    with trace.get_tracer("e2e-app").start_as_current_span("handle-request"):
        print("adk:", await ask(StreamingMode.NONE))
        print("adk sse:", await ask(StreamingMode.SSE))


asyncio.run(main())
