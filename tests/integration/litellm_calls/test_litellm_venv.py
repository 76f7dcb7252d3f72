"""The LiteLLM tests, in a cached venv that has LiteLLM (tests/support/venvs.py).

LiteLLM cannot join the ``test`` extra: its releases require boto3/botocore newer than the
environment's (1.110: botocore >= 1.44.8), moving them under the boto3 tests. The venv holds it
over this environment, and installs this checkout, so its entry points are the ones checked.
"""

from __future__ import annotations

import pytest
from tests.support.venvs import assert_entry_point_loads, assert_tests_pass_in_venv, cached_venv

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REQUIREMENTS = ("litellm >= 1.60",)
PROBE = "import litellm"
NO_NETWORK = "import os\nos.environ['LITELLM_LOCAL_MODEL_COST_MAP'] = 'True'"


def test_litellm_tests_pass_in_a_venv_with_litellm() -> None:
    python = cached_venv("litellm", REQUIREMENTS, PROBE)
    # A sync litellm.completion leaves an event loop of LiteLLM's unclosed (so it does without
    # genai-cost): its ResourceWarning, raised at pytest's exit, is not the tests'.
    ignore = (
        "-W",
        "ignore:unclosed event loop:ResourceWarning",
        "-W",
        "ignore::pytest.PytestUnraisableExceptionWarning",
    )
    print("litellm:", assert_tests_pass_in_venv(python, *ignore, "tests/integration/litellm_calls/test_litellm.py"))


def test_entry_point_loads_the_instrumentor() -> None:
    python = cached_venv("litellm", REQUIREMENTS, PROBE)
    assert_entry_point_loads(python, "genai_cost_litellm", "LiteLLMInstrumentor", setup=NO_NETWORK)
