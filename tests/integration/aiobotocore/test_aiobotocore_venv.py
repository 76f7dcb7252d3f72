"""The aiobotocore tests, in a cached venv that has aiobotocore (tests/support/venvs.py).

Every aiobotocore release pins botocore to a narrow range (3.9: < 1.43.57, needing multidict < 7;
3.10: botocore 1.43.117), so installing it would move the environment's botocore under the
boto3 tests; the venv holds aiobotocore and its botocore over this environment. It also
installs this checkout, so its entry points are the ones checked.
"""

from __future__ import annotations

import pytest
from tests.support.venvs import REPO, cached_venv, run, run_pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REQUIREMENTS = ("aiobotocore >= 2.5",)
PROBE = "import aiobotocore.session"


def test_aiobotocore_tests_pass_in_a_venv_with_aiobotocore() -> None:
    python = cached_venv("aiobotocore", REQUIREMENTS, PROBE)
    result = run_pytest(python, "tests/integration/aiobotocore/test_aiobotocore.py")
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in summary and "skipped" not in summary, result.stdout
    print(f"aiobotocore: {summary}")


def test_entry_point_loads_the_instrumentor() -> None:
    python = cached_venv("aiobotocore", REQUIREMENTS, PROBE)
    # The cached venv may hold an older install of this checkout: its entry points are static.
    reinstall = run(python, "-m", "pip", "install", "-q", "--no-deps", "-e", REPO, timeout=300)
    assert reinstall.returncode == 0, reinstall.stderr
    probe = (
        "from genai_cost.instrumentors import _available\n"
        "found = _available()\n"
        "assert type(found['genai_cost_aiobotocore']).__name__ == 'AioBedrockInstrumentor', found\n"
    )
    result = run(python, "-c", probe, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
