"""The LiteLLM tests, in a cached venv that has LiteLLM (tests/support/venvs.py).

LiteLLM cannot join the ``test`` extra: its releases require boto3/botocore newer than the
environment's (1.110: botocore >= 1.44.8), moving them under the boto3 tests. The venv holds it
over this environment, and installs this checkout, so its entry points are the ones checked.
"""

from __future__ import annotations

import pytest
from tests.support.venvs import REPO, cached_venv, run, run_pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REQUIREMENTS = ("litellm >= 1.60",)
PROBE = "import litellm"


def test_litellm_tests_pass_in_a_venv_with_litellm() -> None:
    python = cached_venv("litellm", REQUIREMENTS, PROBE)
    # A sync litellm.completion leaves an event loop of LiteLLM's unclosed (so it does without
    # genai-cost): its ResourceWarning, raised at pytest's exit, is not the tests'.
    result = run_pytest(
        python,
        "-W",
        "ignore:unclosed event loop:ResourceWarning",
        "-W",
        "ignore::pytest.PytestUnraisableExceptionWarning",
        "tests/integration/litellm/test_litellm.py",
    )
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in summary and "skipped" not in summary, result.stdout
    print(f"litellm: {summary}")


def test_entry_point_loads_the_instrumentor() -> None:
    python = cached_venv("litellm", REQUIREMENTS, PROBE)
    # The cached venv may hold an older install of this checkout: its entry points are static.
    reinstall = run(python, "-m", "pip", "install", "-q", "--no-deps", "-e", REPO, timeout=300)
    assert reinstall.returncode == 0, reinstall.stderr
    probe = (
        "import os\n"
        "os.environ['LITELLM_LOCAL_MODEL_COST_MAP'] = 'True'\n"
        "from genai_cost.instrumentors import _available\n"
        "found = _available()\n"
        "assert type(found['genai_cost_litellm']).__name__ == 'LiteLLMInstrumentor', found\n"
    )
    result = run(python, "-c", probe, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
