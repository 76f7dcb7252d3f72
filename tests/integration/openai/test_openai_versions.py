"""openai 1.x support: run the cross-version subset in a venv that has ``openai>=1.60,<2``.

The venv sees the current environment's packages (pytest, OpenTelemetry, pydantic, httpx) and
shadows only ``openai``; this repository is installed in it with ``pip install --no-deps -e``.
``--system-site-packages`` alone is not enough: when the tests run in a venv, a venv made from
it gets the *base* interpreter's site-packages, so a ``.pth`` file adds the current
environment's site-packages (behind the venv's own, where openai 1.x is). It is cached under
``$GENAI_COST_TEST_VENVS`` (default ``~/.cache/genai-cost/test-venvs``), keyed by the
requirement, the Python version and that environment, so a fresh machine builds it once
(about a minute with a package index at hand).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]
REQUIREMENT = "openai>=1.60,<2"
SUBSET = "tests/integration/openai/test_compat_matrix.py"


def _venv_root() -> Path:
    configured = os.environ.get("GENAI_COST_TEST_VENVS")
    return Path(configured) if configured else Path.home() / ".cache" / "genai-cost" / "test-venvs"


def _run(*command: str | Path, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, timeout=timeout, check=False, cwd=REPO
    )


def _openai_version(python: Path) -> str | None:
    if not python.exists():
        return None
    found = _run(python, "-c", "import openai; print(openai.__version__)", timeout=60)
    return found.stdout.strip() if found.returncode == 0 else None


def _site_packages(python: Path | str) -> str:
    return _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", timeout=60).stdout.strip()


def _sees_this_environment(python: Path) -> bool:
    return _run(python, "-c", "import opentelemetry.sdk, pytest, genai_cost", timeout=60).returncode == 0


def _venv(requirement: str) -> Path:
    here = _site_packages(sys.executable)
    key = hashlib.sha256(f"{requirement}|{sys.version}|{REPO}|{here}".encode()).hexdigest()[:12]
    home = _venv_root() / f"openai-{requirement.split(',')[-1].strip('<>=')}-{key}"
    python = home / "bin" / "python"
    if (_openai_version(python) or "").startswith("1.") and _sees_this_environment(python):
        return python
    shutil.rmtree(home, ignore_errors=True)
    done = _run(sys.executable, "-m", "venv", home, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    # addsitedir also runs that directory's .pth files (editable installs, namespace packages).
    Path(_site_packages(python), "outer-environment.pth").write_text(f"import site; site.addsitedir({here!r})\n")
    steps = [
        (python, "-m", "pip", "install", "-q", "--disable-pip-version-check", requirement),
        (python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps", "-e", REPO),
    ]
    for step in steps:
        done = _run(*step, timeout=300)
        assert done.returncode == 0, f"{step}: {done.stdout}\n{done.stderr}"
    assert _sees_this_environment(python)
    return python


def test_openai_1x_runs_the_compat_subset() -> None:
    python = _venv(REQUIREMENT)
    version = _openai_version(python)
    assert version is not None and version.startswith("1."), version
    result = _run(python, "-m", "pytest", SUBSET, "-q", "-p", "no:cacheprovider", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "failed" not in result.stdout
    print(f"openai {version}: {result.stdout.strip().splitlines()[-1]}")
