"""An agent framework's app under ``opentelemetry-instrument`` exporting to a local OTLP receiver,
and what must arrive: each LLM call priced once, the framework's spans and the app's span
carrying the subtree total, one cost record per call."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
from tests.e2e.otlp import OtlpHttpReceiver, Received, attributes, clean_env, run
from tests.support.price_oracle import oracle_cost

from genai_cost.demo.fake_openai import SCENARIOS, FakeOpenAIServer
from genai_cost.semconv import GenAI, Metrics, Ours

__all__ = ["assert_openai_app_priced_once", "assert_priced_once", "run_instrumented"]

# Other GenAI instrumentations the environment may hold (the ``peers`` extra): not under test.
PEERS_OFF = {"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "openai,langchain"}


def run_instrumented(app: Path, **env: str) -> Received:
    """Run ``app`` plain and under ``opentelemetry-instrument`` (genai-cost's configurator, OTLP
    over HTTP); both succeed and print the same. Returns what the receiver got."""
    with OtlpHttpReceiver() as receiver:
        settings = clean_env(
            OTEL_SERVICE_NAME=app.stem,
            OTEL_PYTHON_CONFIGURATOR="genai_cost",
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
            **PEERS_OFF,
            **env,
        )
        plain = run(app, settings, instrumented=False)
        instrumented = run(app, settings)
    assert instrumented.returncode == plain.returncode == 0, instrumented.stderr
    assert instrumented.stdout == plain.stdout
    return receiver.received


def assert_priced_once(received: Received, *, calls: int, cost: float, rollups: Mapping[str, int]) -> None:
    """``calls`` calls of ``cost`` each, every one on one priced span and one cost record; each
    span named in ``rollups`` carries that many calls in its subtree."""
    spans = received.spans()
    amounts = [attributes(s)[GenAI.USAGE_COST_AMOUNT] for s in spans if GenAI.USAGE_COST_AMOUNT in attributes(s)]
    assert amounts == [pytest.approx(cost, rel=1e-9)] * calls
    for name, below in rollups.items():
        named = [attributes(s) for s in spans if s.name == name]
        assert named, name
        for rollup in named:
            assert (rollup[Ours.SUBTREE_CALLS], rollup[Ours.SUBTREE_COST_AMOUNT]) == (
                below,
                pytest.approx(below * cost, rel=1e-9),
            ), name
    metric = received.metric(Metrics.OPERATION_COST)
    assert metric is not None
    assert sum(point.count for point in metric.histogram.data_points) == calls
    assert sum(point.sum for point in metric.histogram.data_points) == pytest.approx(calls * cost, rel=1e-9)


def assert_openai_app_priced_once(
    app: Path, fake_openai: FakeOpenAIServer, *, calls: int, rollups: Mapping[str, int]
) -> None:
    """``app`` (reading ``FAKE_OPENAI_URL``) makes ``calls`` gpt-4o-mini calls that the fake OpenAI
    server answers with its ``cached`` scenario: checked as :func:`assert_priced_once` checks them."""
    received = run_instrumented(app, FAKE_OPENAI_URL=fake_openai.base_url)
    cached = SCENARIOS["cached"]
    cost = oracle_cost(
        "gpt-4o-mini", "openai", input_tokens=cached.prompt_tokens, cache_read_tokens=cached.cached_tokens,
        output_tokens=cached.completion_tokens,
    )  # fmt: skip
    assert_priced_once(received, calls=calls, cost=cost, rollups=rollups)
