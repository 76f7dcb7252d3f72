"""Overhead of the Google GenAI instrumentor on the real client, in one run.

Run from the repository root: ``python benchmarks/bench_google_genai.py``. The client sends
HTTP through ``httpx2`` to an in-process ``MockTransport`` serving the fake Gemini API's exact
bytes (``tests/support/fake_google_genai.py``): ``generate_content``, and a 50-chunk
``generate_content_stream`` (SSE), both with cached and per-modality usage, so every call is
really priced; Vertex AI mode for the stream.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx2
from google import genai
from google.genai import version
from google.oauth2.credentials import Credentials
from tests.support.fake_google_genai import answer

from benchmarks.overhead import compare, mock_transport
from genai_cost.instrumentation.google_genai import GoogleGenAIInstrumentor

MODEL = "gemini-2.5-flash"
CONFIG: dict[str, Any] = {"http_options": {"headers": {"x-fake-scenario": "audio", "x-fake-chunks": "50"}}}


def _http_options() -> dict[str, Any]:
    return {"base_url": "http://fake-gemini.invalid/", "httpx_client": httpx2.Client(transport=mock_transport(answer))}


def _workloads(gemini: genai.Client, vertex: genai.Client) -> dict[str, Callable[[], Any]]:
    def generate() -> Any:
        return gemini.models.generate_content(model=MODEL, contents="Say hello", config=CONFIG)

    def stream() -> None:
        for _chunk in vertex.models.generate_content_stream(model=MODEL, contents="Say hello", config=CONFIG):
            pass

    return {"generate_content": generate, "generate_content_stream 50": stream}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="calls per timed round")
    parser.add_argument("--rounds", type=int, default=7, help="rounds per side")
    args = parser.parse_args(argv)
    gemini = genai.Client(api_key="AIza-bench", http_options=_http_options())
    vertex = genai.Client(
        vertexai=True,
        project="bench",
        location="us-central1",
        credentials=Credentials(token="ya29.bench"),  # type: ignore[no-untyped-call]
        http_options=_http_options(),
    )
    compare(f"google-genai {version.__version__}", GoogleGenAIInstrumentor(), _workloads(gemini, vertex),
            calls=args.calls, rounds=args.rounds)  # fmt: skip


if __name__ == "__main__":
    main()
