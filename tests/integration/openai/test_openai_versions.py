"""openai 1.x support: run the cross-version subset in a venv that has ``openai>=1.60,<2``.

The venv (tests/support/venvs.py) sees the current environment's packages and shadows only
``openai``.
"""

from __future__ import annotations

import pytest
from tests.support.venvs import cached_venv, run, run_pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REQUIREMENT = "openai>=1.60,<2"
SUBSET = "tests/integration/openai/test_compat_matrix.py"


def test_openai_1x_runs_the_compat_subset() -> None:
    python = cached_venv("openai-1x", [REQUIREMENT], "import openai; assert openai.__version__.startswith('1.')")
    version = run(python, "-c", "import openai; print(openai.__version__)", timeout=60).stdout.strip()
    result = run_pytest(python, SUBSET)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "failed" not in result.stdout
    print(f"openai {version}: {result.stdout.strip().splitlines()[-1]}")
