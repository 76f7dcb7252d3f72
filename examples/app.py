"""A small app that calls OpenAI through the openai SDK. Run it unchanged under auto-instrumentation:

    opentelemetry-instrument python examples/app.py

With ``OPENAI_API_KEY`` set it talks to OpenAI; without, it starts genai-cost's local
OpenAI-compatible server, so it runs with no network and no key. Set
``OTEL_EXPORTER_OTLP_ENDPOINT`` to send the spans (with cost) and metrics to your collector,
or ``OTEL_TRACES_EXPORTER=console`` to print them. The calls themselves are in
``genai_cost/demo/app.py`` (``run_app``), shared with ``genai-cost demo``.
"""

from __future__ import annotations

from genai_cost.demo.app import openai_client, run_app

with openai_client() as (client, where):
    print(f"Calls go to {where}.")
    usage = run_app(client)
print(usage)
