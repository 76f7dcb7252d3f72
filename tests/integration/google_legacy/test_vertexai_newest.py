"""The Vertex AI SDK tests again, on the newest google-cloud-aiplatform 2.x.

Its releases from 1.92 on require google-genai < 3, which the ``test`` extra cannot hold beside
the google-genai tests, so they run in a cached venv of their own (tests/support/venvs.py); this
also checks the entry points of this checkout, which that venv installs.
"""

from __future__ import annotations

import pytest
from tests.support.venvs import cached_venv, run_pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# google-cloud-storage: 2.x warns on import (the outer environment holds 2.x for aiplatform < 1.92).
REQUIREMENTS = ("google-cloud-aiplatform >= 2, < 3", "google-cloud-storage >= 3", "google-auth[aiohttp] >= 2.35")
PROBE = "import vertexai.generative_models, google.cloud.aiplatform as a\nassert a.__version__.startswith('2.')"


def test_vertexai_tests_pass_on_the_newest_sdk() -> None:
    python = cached_venv("vertexai-newest", REQUIREMENTS, PROBE)
    result = run_pytest(python, "tests/integration/google_legacy/test_vertexai.py")
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in summary and "skipped" not in summary and "deselected" not in summary, result.stdout
    print(f"google-cloud-aiplatform 2.x: {summary}")
