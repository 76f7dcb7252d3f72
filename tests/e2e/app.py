"""The app the end-to-end tests run, with and without ``opentelemetry-instrument``.

It uses only the openai SDK and the OpenTelemetry API (for the parent span a web framework
would usually create), reads OPENAI_BASE_URL/OPENAI_API_KEY from the environment and prints
what it got, so runs with and without instrumentation can be compared byte for byte.
With ``--raise`` the last call's rate-limit error is not caught and ends the app.
"""

from __future__ import annotations

import sys

import openai
from opentelemetry import trace

client = openai.OpenAI(max_retries=0)
tracer = trace.get_tracer("e2e-app")

with tracer.start_as_current_span("handle-request"):
    chat = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hi"}])
    print("chat:", chat.choices[0].message.content, chat.usage.prompt_tokens, chat.usage.completion_tokens)

    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Count"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    print("stream:", text)

    embedding = client.embeddings.create(model="text-embedding-3-small", input="hello")
    print("embeddings:", len(embedding.data[0].embedding), embedding.usage.prompt_tokens)

    try:
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "again"}],
            extra_headers={"x-fake-scenario": "error_429"},
        )
    except openai.RateLimitError as error:
        if "--raise" in sys.argv:
            raise
        print("error:", type(error).__name__, error.status_code)
