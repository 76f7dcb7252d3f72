"""The framework tests, in a cached venv that has the framework (tests/support/venvs.py).

pydantic-ai cannot join the ``test`` extra: pydantic-ai-slim 1.x/2.x requires genai-prices
>= 0.2.4, and ``test`` pins 0.2.3 (the price oracle's version). The venv holds it over this
environment (openai, OpenTelemetry and pytest come from here) and installs this checkout.
"""

from __future__ import annotations

import pytest
from tests.support.venvs import assert_tests_pass_in_venv, cached_venv

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PYDANTIC_AI = ("pydantic-ai-slim[openai] >= 1.0",)

# ``Agent.run_sync`` runs on an event loop of pydantic-ai's that it leaves open, with the
# client's connections on it (so it does without genai-cost): their ResourceWarnings, raised
# when collected, are not the tests'.
IGNORE_UNCLOSED = ("-W", "ignore::ResourceWarning", "-W", "ignore::pytest.PytestUnraisableExceptionWarning")


def test_pydantic_ai_tests_pass_in_a_venv_with_pydantic_ai() -> None:
    python = cached_venv("pydantic-ai", PYDANTIC_AI, "import pydantic_ai.models.openai")
    summary = assert_tests_pass_in_venv(python, *IGNORE_UNCLOSED, "tests/integration/frameworks/test_pydantic_ai.py")
    print("pydantic-ai:", summary)
