"""Arize Phoenix, a real backend, end to end: ``opentelemetry-instrument python app.py`` with
``GENAI_COST_COMPAT=openinference`` exports OTLP/HTTP to a Phoenix server, whose own API must
then show each call's tokens, model and cost, exactly; a headless Chromium photographs the trace.

Needs ``arize-phoenix`` (the ``phoenix`` extra, best in its own virtualenv: see
``tests/e2e/phoenix_server.py``); skips without it. The screenshot needs Debian's ``chromium``.
Expected values: counts from the fake server's fixture, costs from genai-prices' ``calc_price``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import genai_prices
import pytest
from tests.e2e.otlp import APP, clean_env, run
from tests.e2e.phoenix_server import LAUNCHER_VARIABLE, Phoenix, chromium, phoenix_command, run_phoenix
from tests.grafana.live import wait_for

import genai_cost
from genai_cost.config import ENV
from genai_cost.demo.fake_openai import SCENARIOS, FakeOpenAIServer
from genai_cost.semconv import GenAI, OpenInference

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PROJECT = "genai-cost-e2e"
ARTIFACTS = "GENAI_COST_TEST_ARTIFACTS"
"""A directory for the screenshot (default: the test's temporary directory)."""
DEFAULT = SCENARIOS["default"]
CHAT, EMBEDDINGS = "gpt-4o-mini", "text-embedding-3-small"

# Phoenix's GraphQL view of a span: the token counts and the cost it shows in its UI.
SPANS_QUERY = """
query ($id: ID!) { node(id: $id) { ... on Project { spans(first: 100) { edges { node {
  spanId name spanKind tokenCountPrompt tokenCountCompletion
  costSummary { prompt { cost } completion { cost } total { cost } }
} } } } } }
"""


@dataclass(frozen=True)
class Exported:
    phoenix: Phoenix
    spans: list[dict[str, Any]]
    """The app's spans as Phoenix's REST API returns them."""
    shown: dict[str, dict[str, Any]]
    """Phoenix's GraphQL view of each span, by span id."""
    project_id: str
    workdir: Path


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exported]:
    command = phoenix_command()
    if command is None:
        pytest.skip(
            "arize-phoenix is not installed: pip install 'genai-cost[phoenix]' (in a virtualenv of its own, "
            f"then set {LAUNCHER_VARIABLE}=<venv>/bin/phoenix)"
        )
    workdir = tmp_path_factory.mktemp("phoenix")
    with run_phoenix(command, workdir) as phoenix, FakeOpenAIServer() as fake:
        env = clean_env(
            PYTHONPATH=str(Path(genai_cost.__file__).parents[1]),
            OPENAI_BASE_URL=fake.base_url,
            OPENAI_API_KEY="sk-test",
            OTEL_SERVICE_NAME="phoenix-e2e",
            OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="openai",
            OTEL_PYTHON_CONFIGURATOR="genai_cost",
            OTEL_EXPORTER_OTLP_ENDPOINT=phoenix.origin,  # OTLP/HTTP at /v1/traces
            OTEL_METRICS_EXPORTER="none",  # Phoenix takes traces only
            OTEL_RESOURCE_ATTRIBUTES=f"openinference.project.name={PROJECT}",
            **{ENV.COMPAT: "openinference"},
        )
        result = run(APP, env)
        assert result.returncode == 0, result.stderr
        spans = wait_for(lambda: _all_spans(phoenix), "Phoenix to store the app's five spans", timeout=60)
        project_id = phoenix.graphql("query ($n: String!) { getProjectByName(name: $n) { id } }", n=PROJECT)
        project_id = project_id["getProjectByName"]["id"]
        edges = phoenix.graphql(SPANS_QUERY, id=project_id)["node"]["spans"]["edges"]
        shown = {edge["node"]["spanId"]: edge["node"] for edge in edges}
        yield Exported(phoenix, spans, shown, project_id, workdir)


def _all_spans(phoenix: Phoenix) -> list[dict[str, Any]] | None:
    try:
        spans = phoenix.spans(PROJECT)
    except OSError:  # the project does not exist before the first span arrives
        return None
    return spans if len(spans) == 5 else None


def _oracle(model: str, **usage: int) -> float:
    return float(genai_prices.calc_price(genai_prices.Usage(**usage), model, provider_id="openai").total_price)


def test_phoenix_shows_each_calls_tokens_model_and_cost(exported: Exported) -> None:
    calls = [span for span in exported.spans if span["name"] != "handle-request"]
    view = [
        {
            "name": span["name"],
            "kind": span["span_kind"],
            "status": span["status_code"],
            "llm.model_name": span["attributes"].get(OpenInference.MODEL_NAME),
            "llm.token_count.prompt": span["attributes"].get(OpenInference.TOKEN_COUNT_PROMPT),
            "llm.token_count.completion": span["attributes"].get(OpenInference.TOKEN_COUNT_COMPLETION),
            "llm.cost.total": span["attributes"].get(OpenInference.COST_TOTAL),
            "phoenix tokens (prompt, completion)": (
                exported.shown[span["context"]["span_id"]]["tokenCountPrompt"],
                exported.shown[span["context"]["span_id"]]["tokenCountCompletion"],
            ),
            "phoenix cost": (exported.shown[span["context"]["span_id"]]["costSummary"] or {}).get("total"),
        }
        for span in calls
    ]
    print("\nPhoenix's view of the app's calls (REST span attributes, GraphQL tokens and cost):")
    print(json.dumps(view, indent=1))

    chats = [span for span in calls if span["name"] == f"chat {CHAT}" and span["status_code"] != "ERROR"]
    (embedding,) = [span for span in calls if span["name"] == f"embeddings {EMBEDDINGS}"]
    (failed,) = [span for span in calls if span["status_code"] == "ERROR"]
    assert len(chats) == 2  # a plain call and a stream
    chat_cost = _oracle(CHAT, input_tokens=DEFAULT.prompt_tokens, output_tokens=DEFAULT.completion_tokens)
    embedding_cost = _oracle(EMBEDDINGS, input_tokens=DEFAULT.prompt_tokens)
    # Phoenix 20.26.1's own price list has no embedding models: it shows no cost of its own there.
    for span, model, output_tokens, cost, phoenix_prices_it in (
        *((chat, CHAT, DEFAULT.completion_tokens, chat_cost, True) for chat in chats),
        (embedding, EMBEDDINGS, None, embedding_cost, False),
    ):
        attributes = span["attributes"]
        shown = exported.shown[span["context"]["span_id"]]
        assert span["span_kind"] == "LLM"
        assert attributes[OpenInference.MODEL_NAME] == model
        assert attributes[OpenInference.TOKEN_COUNT_PROMPT] == DEFAULT.prompt_tokens
        assert attributes.get(OpenInference.TOKEN_COUNT_COMPLETION) == output_tokens
        assert attributes[OpenInference.COST_TOTAL] == attributes[GenAI.USAGE_COST_AMOUNT]
        assert attributes[OpenInference.COST_TOTAL] == pytest.approx(cost, rel=1e-12)
        # What Phoenix itself shows: our token counts; and the cost it works out from its own
        # price list (it does not read llm.cost.*) agrees with ours.
        assert (shown["tokenCountPrompt"], shown["tokenCountCompletion"]) == (DEFAULT.prompt_tokens, output_tokens or 0)
        if phoenix_prices_it:
            assert shown["costSummary"]["total"]["cost"] == pytest.approx(cost, rel=1e-9)
    assert failed["span_kind"] == "LLM"
    assert failed["attributes"][OpenInference.MODEL_NAME] == CHAT
    assert OpenInference.COST_TOTAL not in failed["attributes"]
    assert exported.shown[failed["context"]["span_id"]]["costSummary"] is None


def test_trace_view_screenshot(exported: Exported) -> None:
    browser = chromium()
    if browser is None:
        pytest.skip("no headless Chromium: apt-get install chromium")
    call = next(span for span in exported.spans if span["name"] == f"chat {CHAT}" and span["status_code"] != "ERROR")
    out_dir = Path(os.environ.get(ARTIFACTS) or exported.workdir)
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / "phoenix-trace.png"
    # Phoenix redirects a span id to its trace view with the span selected.
    done = exported.phoenix.screenshot(browser, f"/redirects/spans/{call['context']['span_id']}", out)
    assert done.returncode == 0, done.stderr[-3000:]
    assert out.stat().st_size > 20_000, "the page did not render"
    print(f"\nscreenshot of Phoenix's trace view: {out}")
    shutil.copyfile(exported.phoenix.log, out_dir / "phoenix.log")
