"""Cached venvs for tests that need packages the ``test`` extra leaves out (openai 1.x, peers).

Such a venv sees the current environment's packages (pytest, OpenTelemetry, pydantic, httpx)
behind its own, so it installs only what differs; this repository is installed in it with
``pip install --no-deps -e``. ``--system-site-packages`` alone is not enough: when the tests run
in a venv, a venv made from it gets the *base* interpreter's site-packages, so a ``.pth`` file
adds the current environment's site-packages (behind the venv's own). Venvs are cached under
``$GENAI_COST_TEST_VENVS`` (default ``~/.cache/genai-cost/test-venvs``), keyed by the
requirements, the Python version and that environment, so a fresh machine builds each once
(about a minute with a package index at hand).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[2]
PEERS_RUNNER = "tests/integration/test_peer_instrumentations.py"


def import_peer(module: str) -> ModuleType:
    """Import a package of the ``peers`` extra, or skip where it is not installed: the
    ``PEERS_RUNNER`` test runs this test again in a venv that has it."""
    return pytest.importorskip(module, reason=f"{module} (extra `peers`) is not installed; {PEERS_RUNNER} runs this")


def peer_requirements() -> list[str]:
    """The ``peers`` extra: other GenAI instrumentations and LangChain, kept out of ``test``."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return list(project["optional-dependencies"]["peers"])


def run(*command: str | Path, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, timeout=timeout, check=False, cwd=REPO
    )


def run_pytest(python: Path, *selection: str) -> subprocess.CompletedProcess[str]:
    """Run pytest on ``selection`` (paths or node ids) with the venv's ``python``."""
    return run(python, "-m", "pytest", *selection, "-q", "-rs", "-p", "no:cacheprovider", timeout=600)


def _venv_root() -> Path:
    configured = os.environ.get("GENAI_COST_TEST_VENVS")
    return Path(configured) if configured else Path.home() / ".cache" / "genai-cost" / "test-venvs"


def _site_packages(python: Path | str) -> str:
    return run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", timeout=60).stdout.strip()


def _ready(python: Path, probe: str) -> bool:
    """The venv exists, sees this environment and passes ``probe`` (Python code that must not raise)."""
    sees_this_environment = "import opentelemetry.sdk, pytest, genai_cost"
    return python.exists() and run(python, "-c", f"{sees_this_environment}\n{probe}", timeout=120).returncode == 0


def cached_venv(name: str, requirements: Sequence[str], probe: str) -> Path:
    """The Python of a venv named ``name-<key>`` that has ``requirements`` installed; built when
    missing or when ``probe`` fails in it."""
    here = _site_packages(sys.executable)
    key = hashlib.sha256(f"{'|'.join(requirements)}|{sys.version}|{REPO}|{here}".encode()).hexdigest()[:12]
    home = _venv_root() / f"{name}-{key}"
    python = home / "bin" / "python"
    if _ready(python, probe):
        return python
    shutil.rmtree(home, ignore_errors=True)
    done = run(sys.executable, "-m", "venv", home, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    # addsitedir also runs that directory's .pth files (editable installs, namespace packages).
    Path(_site_packages(python), "outer-environment.pth").write_text(f"import site; site.addsitedir({here!r})\n")
    steps = [
        (python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *requirements),
        (python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps", "-e", REPO),
    ]
    for step in steps:
        done = run(*step, timeout=600)
        assert done.returncode == 0, f"{step}: {done.stdout}\n{done.stderr}"
    assert _ready(python, probe), f"{home} was built but fails: {probe}"
    return python


def assert_tests_pass_in_venv(python: Path, *selection: str) -> str:
    """Run pytest on ``selection`` (options, paths) in the venv; every test must pass, none skip.
    Returns pytest's summary line."""
    result = run_pytest(python, *selection)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in summary and "skipped" not in summary, result.stdout
    return summary


def assert_entry_point_loads(python: Path, entry_point: str, class_name: str, setup: str = "") -> None:
    """This checkout's ``entry_point`` loads ``class_name`` in the venv (reinstalled first: a
    cached venv may hold an older install, whose entry points are static)."""
    reinstall = run(python, "-m", "pip", "install", "-q", "--no-deps", "-e", REPO, timeout=300)
    assert reinstall.returncode == 0, reinstall.stderr
    probe = (
        f"{setup}\n"
        "from genai_cost.instrumentors import _available\n"
        "found = _available()\n"
        f"assert type(found[{entry_point!r}]).__name__ == {class_name!r}, found\n"
    )
    result = run(python, "-c", probe, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
