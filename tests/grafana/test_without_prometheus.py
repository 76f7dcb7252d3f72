"""The Prometheus tests on a machine without Prometheus: a clear skip locally, a failure in CI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.grafana.live import REPO

pytestmark = [pytest.mark.e2e, pytest.mark.slow]  # two pytest runs in subprocesses

NEEDS_PROMTOOL = "tests/grafana/test_shipped_files.py::test_promtool_check_rules"
NEEDS_PROMETHEUS = "tests/grafana/test_live_prometheus.py::test_prometheus_stores_the_documented_metric_names[released]"
INSTALL = "apt-get install prometheus"


def pytest_without_prometheus(tmp_path: Path, *, ci: str | None) -> subprocess.CompletedProcess[str]:
    """Run the Prometheus tests in a pytest whose PATH holds no Prometheus (nor anything else)."""
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(PATH=str(tmp_path), PYTHONPATH=os.pathsep.join(sys.path))
    if ci is not None:
        env["CI"] = ci
    command = [sys.executable, "-m", "pytest", "-rsfE", "-p", "no:cacheprovider", NEEDS_PROMTOOL, NEEDS_PROMETHEUS]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_locally_they_skip_with_the_install_command(tmp_path: Path) -> None:
    result = pytest_without_prometheus(tmp_path, ci=None)

    assert result.returncode == 0, result.stdout
    skipped = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED")]
    assert len(skipped) == 2, result.stdout
    assert all(INSTALL in line for line in skipped)
    assert {"`promtool` is not on PATH", "`prometheus` is not on PATH"} == {
        line.split(": ", 1)[1].split(":")[0] for line in skipped
    }


def test_under_ci_they_fail(tmp_path: Path) -> None:
    result = pytest_without_prometheus(tmp_path, ci="true")

    assert result.returncode == 1, result.stdout
    assert "SKIPPED" not in result.stdout
    assert "1 failed, 1 error" in result.stdout
    assert INSTALL in result.stdout
