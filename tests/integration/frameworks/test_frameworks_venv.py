"""The framework tests, in a cached venv that has the framework (tests/support/venvs.py).

pydantic-ai cannot join the ``test`` extra: pydantic-ai-slim 1.x/2.x requires genai-prices
>= 0.2.4, and ``test`` pins 0.2.3 (the price oracle's version); openai-agents and google-adk
pin older packages (below). A venv holds the framework over this environment (openai,
OpenTelemetry and pytest come from here, unless the framework pins others) and installs this
checkout.
"""

from __future__ import annotations

import pytest
from tests.support.venvs import assert_tests_pass_in_venv, cached_venv

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PYDANTIC_AI = ("pydantic-ai-slim[openai] >= 1.0",)
# openai-agents pins websockets < 17 (``test`` has 17): OpenTelemetry's bridge of its traces.
OPENAI_AGENTS = ("openai-agents >= 0.3", "opentelemetry-instrumentation-openai-agents-v2 >= 0.1")
# google-adk pins opentelemetry-sdk <= 1.44 and google-genai < 3 (``test`` has 1.45 and 3.x).
GOOGLE_ADK = ("google-adk >= 1.0",)
# llama-index-llms-openai needs openai < 3 (``test`` has 3.x); OpenInference's spans of it.
LLAMA_INDEX = ("llama-index-llms-openai >= 0.3", "openinference-instrumentation-llama-index >= 3.0")

# pydantic-ai's ``Agent.run_sync``, openai-agents' ``Runner.run_sync``, google-adk's per-loop
# clients and llama-index's chat engines run on event loops of their own that they leave with the
# client's connections (llama-index: a sqlite store) open, so they do without genai-cost: their
# ResourceWarnings, raised when collected, are not the tests'.
IGNORE_UNCLOSED = ("-W", "ignore::ResourceWarning", "-W", "ignore::pytest.PytestUnraisableExceptionWarning")


def test_pydantic_ai_tests_pass_in_a_venv_with_pydantic_ai() -> None:
    python = cached_venv("pydantic-ai", PYDANTIC_AI, "import pydantic_ai.models.openai")
    tests = ("tests/integration/frameworks/test_pydantic_ai.py", "tests/e2e/test_pydantic_ai_instrument.py")
    summary = assert_tests_pass_in_venv(python, *IGNORE_UNCLOSED, *tests)
    print("pydantic-ai:", summary)


def test_openai_agents_tests_pass_in_a_venv_with_openai_agents() -> None:
    python = cached_venv("openai-agents", OPENAI_AGENTS, "import agents, opentelemetry.instrumentation.openai_agents")
    tests = ("tests/integration/frameworks/test_openai_agents.py", "tests/e2e/test_openai_agents_instrument.py")
    summary = assert_tests_pass_in_venv(python, *IGNORE_UNCLOSED, *tests)
    print("openai-agents:", summary)


def test_google_adk_tests_pass_in_a_venv_with_google_adk() -> None:
    python = cached_venv("google-adk", GOOGLE_ADK, "import google.adk.agents")
    tests = ("tests/integration/frameworks/test_google_adk.py", "tests/e2e/test_google_adk_instrument.py")
    summary = assert_tests_pass_in_venv(python, *IGNORE_UNCLOSED, *tests)
    print("google-adk:", summary)


def test_llama_index_tests_pass_in_a_venv_with_llama_index() -> None:
    probe = "import llama_index.llms.openai, openinference.instrumentation.llama_index"
    python = cached_venv("llama-index", LLAMA_INDEX, probe)
    summary = assert_tests_pass_in_venv(python, *IGNORE_UNCLOSED, "tests/integration/frameworks/test_llama_index.py")
    print("llama-index:", summary)
