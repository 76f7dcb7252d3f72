"""Overhead of the Anthropic instrumentor on the real client, in one run.

Run from the repository root: ``python benchmarks/bench_anthropic.py``. The client sends HTTP
through ``httpx2`` to an in-process ``MockTransport`` serving the fake Anthropic API's exact
bytes (``tests/support/fake_anthropic.py``): a non-streaming ``messages.create``, a
``create(stream=True)`` of 50 text deltas (56 events) and the ``messages.stream()`` helper over
the same events. Usage has cache reads and 5m/1h cache writes, so every call is really priced.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import anthropic
import httpx2
from tests.support.fake_anthropic import answer

from benchmarks.overhead import compare, mock_transport
from genai_cost.instrumentation.anthropic import AnthropicInstrumentor

MODEL = "claude-haiku-4-5-20251001"
REQUEST: dict[str, Any] = {
    "model": MODEL,
    "max_tokens": 256,
    "messages": [{"role": "user", "content": "Say hello"}],
    "extra_headers": {"x-fake-scenario": "cache_write", "x-fake-chunks": "50"},
}


def _workloads(client: anthropic.Anthropic) -> dict[str, Callable[[], Any]]:
    def create() -> Any:
        return client.messages.create(**REQUEST)

    def create_stream() -> None:
        for _event in client.messages.create(stream=True, **REQUEST):
            pass

    def stream_helper() -> str:
        with client.messages.stream(**REQUEST) as stream:
            return stream.get_final_text()

    return {
        "messages.create": create,
        "create(stream=True) 56 events": create_stream,
        "messages.stream() helper": stream_helper,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="calls per timed round")
    parser.add_argument("--rounds", type=int, default=7, help="rounds per side")
    args = parser.parse_args(argv)
    http = httpx2.Client(transport=mock_transport(answer))
    client = anthropic.Anthropic(api_key="sk-ant-bench", http_client=http, max_retries=0)
    compare(f"anthropic {anthropic.__version__}", AnthropicInstrumentor(), _workloads(client),
            calls=args.calls, rounds=args.rounds)  # fmt: skip


if __name__ == "__main__":
    main()
