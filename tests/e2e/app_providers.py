"""An app calling Anthropic, Google GenAI and Mistral, run with and without ``opentelemetry-instrument``.

Reads ANTHROPIC_BASE_URL (the SDK's own variable), FAKE_GEMINI_URL and FAKE_MISTRAL_URL from the
environment and prints what it got, so runs with and without instrumentation can be compared
byte for byte. The test turns mistralai's own tracing on (``MISTRAL_SDK_TELEMETRY=global``).
"""

from __future__ import annotations

import os

import anthropic
from google import genai
from mistralai.client import Mistral
from opentelemetry import trace

tracer = trace.get_tracer("e2e-app")
claude = anthropic.Anthropic(api_key="sk-ant-e2e", max_retries=0)
gemini = genai.Client(api_key="AIza-e2e", http_options={"base_url": os.environ["FAKE_GEMINI_URL"]})
mistral = Mistral(api_key="mistral-e2e", server_url=os.environ["FAKE_MISTRAL_URL"])
ask = [{"role": "user", "content": "Say hi"}]

with tracer.start_as_current_span("handle-request"):
    message = claude.messages.create(
        model="claude-haiku-4-5-20251001", max_tokens=64, messages=ask, extra_headers={"x-fake-scenario": "cached"}
    )
    print("anthropic create:", message.content[0].text, message.usage.input_tokens, message.usage.output_tokens)

    with claude.messages.stream(
        model="claude-haiku-4-5-20251001",
        max_tokens=64,
        messages=ask,
        extra_headers={"x-fake-scenario": "cache_write"},
    ) as stream:
        print("anthropic stream:", "".join(stream.text_stream))

    chunks = gemini.models.generate_content_stream(
        model="gemini-2.5-flash",
        contents="Say hi",
        config={"http_options": {"headers": {"x-fake-scenario": "thinking"}}},
    )
    print("gemini stream:", "".join(chunk.text or "" for chunk in chunks))

    answer = mistral.chat.complete(model="mistral-small-2603", messages=ask, http_headers={"x-fake-scenario": "cached"})
    print("mistral complete:", answer.choices[0].message.content, answer.usage.prompt_tokens)
