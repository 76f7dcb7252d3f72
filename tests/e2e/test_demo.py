"""``genai-cost demo`` and ``examples/app.py``: no key, no network, readable cost output."""

from __future__ import annotations

import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from tests.e2e.otlp import OtlpHttpReceiver, attributes, clean_env, run

from genai_cost.demo.app import CHAT_MODEL, REASONING_MODEL
from genai_cost.demo.fake_openai import SCENARIOS
from genai_cost.pricing import PricingTable
from genai_cost.semconv import GenAI, Ours

pytestmark = pytest.mark.e2e

EXAMPLE = Path(__file__).parents[2] / "examples" / "app.py"


def demo(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from genai_cost.cli import main; raise SystemExit(main(['demo']))"]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)


def line_cost(model: str, scenario: str) -> str:
    """The cost the demo should print for a call, from the bundled entry's per-1M rates."""
    usage = SCENARIOS[scenario]
    entry = PricingTable.default().match(model, "openai")
    assert entry is not None and entry.rates.input is not None and entry.rates.output is not None
    cache_rate = entry.rates.input_breakdown.get("cache_read", entry.rates.input)
    cost = (
        (usage.prompt_tokens - usage.cached_tokens) * entry.rates.input
        + usage.cached_tokens * cache_rate
        + usage.completion_tokens * entry.rates.output
    ) / Decimal(1_000_000)
    return f"${cost:.8f}"


def test_demo_runs_without_key_or_backend_and_shows_each_cost() -> None:
    result = demo(clean_env())

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "no OPENAI_API_KEY" in out
    spans = out.split("The spans genai-cost produced")[1].split("track_usage() summary")[0]
    chat_lines = [line for line in spans.splitlines() if f"chat {CHAT_MODEL}" in line]
    assert sum(line_cost(CHAT_MODEL, "default") in line for line in chat_lines) == 2  # plain and streamed
    assert any("cached" in line and line_cost(CHAT_MODEL, "cached") in line for line in chat_lines)
    (reasoning,) = [line for line in spans.splitlines() if f"chat {REASONING_MODEL}" in line]
    assert "reasoning" in reasoning and line_cost(REASONING_MODEL, "reasoning") in reasoning
    assert "embeddings" in spans
    assert "(parent: 5 calls)" in spans
    assert "Successful Requests: 5" in out
    assert "Traceback" not in result.stderr


def test_demo_exports_to_a_collector_when_an_endpoint_is_set() -> None:
    with OtlpHttpReceiver() as receiver:
        result = demo(clean_env(OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint))

    assert result.returncode == 0, result.stderr
    assert "exported to OTEL_EXPORTER_OTLP_ENDPOINT" in result.stdout
    (parent,) = [s for s in receiver.received.spans() if s.name == "demo request"]
    assert attributes(parent)[Ours.SUBTREE_CALLS] == 5
    resource = receiver.received.traces[0].resource_spans[0].resource
    assert {a.key: a.value.string_value for a in resource.attributes}["service.name"] == "genai-cost-demo"


def test_example_app_under_opentelemetry_instrument() -> None:
    with OtlpHttpReceiver() as receiver:
        env = clean_env(
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
            OTEL_PYTHON_CONFIGURATOR="genai_cost",
            OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="openai",
        )
        result = run(EXAMPLE, env)

    assert result.returncode == 0, result.stderr
    assert "Successful Requests: 5" in result.stdout
    spans = receiver.received.spans()
    priced = [attributes(s) for s in spans if GenAI.USAGE_COST_AMOUNT in attributes(s)]
    assert len(priced) == 5
    (parent,) = [attributes(s) for s in spans if s.name == "demo request"]
    assert parent[Ours.SUBTREE_COST_AMOUNT] == pytest.approx(sum(a[GenAI.USAGE_COST_AMOUNT] for a in priced))


def _network_namespace_works() -> bool:
    """``unshare -n`` (a new network namespace: no network, loopback down) is allowed here."""
    try:
        return subprocess.run(["unshare", "-n", "true"], capture_output=True, timeout=30, check=False).returncode == 0
    except OSError:
        return False


@pytest.mark.skipif(
    not _network_namespace_works() or shutil.which("ip") is None,
    reason="needs `unshare -n` (root or user namespaces) and `ip` (iproute2)",
)
def test_demo_needs_no_network_and_says_in_one_line_when_loopback_is_down() -> None:
    env = clean_env()
    env.pop("OPENAI_API_KEY", None)
    python = "from genai_cost.cli import main; raise SystemExit(main(['demo']))"
    offline = ["unshare", "-n", "sh", "-c", f'ip link set lo up && exec "{sys.executable}" -c "{python}"']
    no_loopback = ["unshare", "-n", sys.executable, "-c", python]
    ran = subprocess.run(offline, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert ran.returncode == 0, ran.stderr
    assert "Total Cost (USD)" in ran.stdout
    failed = subprocess.run(no_loopback, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert failed.returncode == 1
    assert failed.stderr.splitlines() == [failed.stderr.strip()]
    assert failed.stderr.startswith("genai-cost: error: the demo could not reach http://127.0.0.1:")
