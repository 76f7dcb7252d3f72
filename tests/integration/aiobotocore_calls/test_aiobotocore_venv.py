"""The aiobotocore tests, in a cached venv that has aiobotocore (tests/support/venvs.py).

Every aiobotocore release pins botocore to a narrow range (3.9: < 1.43.57, needing multidict < 7;
3.10: botocore 1.43.117), so installing it would move the environment's botocore under the
boto3 tests; the venv holds aiobotocore and its botocore over this environment. It also
installs this checkout, so its entry points are the ones checked.
"""

from __future__ import annotations

import pytest
from tests.support.venvs import assert_entry_point_loads, assert_tests_pass_in_venv, cached_venv

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REQUIREMENTS = ("aiobotocore >= 2.5",)
PROBE = "import aiobotocore.session"


def test_aiobotocore_tests_pass_in_a_venv_with_aiobotocore() -> None:
    python = cached_venv("aiobotocore", REQUIREMENTS, PROBE)
    print("aiobotocore:", assert_tests_pass_in_venv(python, "tests/integration/aiobotocore_calls/test_aiobotocore.py"))


def test_entry_point_loads_the_instrumentor() -> None:
    python = cached_venv("aiobotocore", REQUIREMENTS, PROBE)
    assert_entry_point_loads(python, "genai_cost_aiobotocore", "AioBedrockInstrumentor")
