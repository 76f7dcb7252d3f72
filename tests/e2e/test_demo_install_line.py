"""The install lines ``genai-cost`` prints work as written: they name where this copy came from."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from tests.e2e.otlp import clean_env

import genai_cost
from genai_cost._install import pip_install

pytestmark = pytest.mark.e2e

CLI = "import sys; from genai_cost.cli import main; sys.exit(main())"


def test_the_demo_ends_with_the_install_line_of_this_copy() -> None:
    env = clean_env(PYTHONPATH=str(Path(genai_cost.__file__).parents[1]))
    result = subprocess.run([sys.executable, "-c", CLI, "demo"], env=env, capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr
    assert f"Your own app, unchanged: {pip_install()}, then" in result.stdout
