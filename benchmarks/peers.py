"""The configurations compared by ``python -m benchmarks``, their virtual environments and runner.

Every peer instrumentation lives in its own virtual environment (their pins disagree with each
other and with the system Python), and every configuration runs in its own fresh subprocess,
so no monkey-patch leaks from one configuration into another. Each environment also runs the
uninstrumented baseline, so "added µs" always compares runs on the same package versions.

Environments are created on first use under ``<venv root>/bench-<name>`` (default: the
``venvs`` folder beside the repository checkout) and reused while their requirement list is
unchanged; creating all of them takes a few minutes and needs PyPI.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "CONFIGURATIONS",
    "ENVIRONMENTS",
    "REPO",
    "Configuration",
    "Environment",
    "compile_sources",
    "default_venv_root",
    "ensure_environment",
    "run_worker",
    "worker_command",
    "worker_env",
]

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parent.parent

# The versions of the system Python the project is developed against: every environment gets
# them unless a peer's own pins forbid it (then the nearest versions it accepts).
_OPENAI = "openai==3.54.0"
_OTEL = (
    "opentelemetry-api==1.45.2",
    "opentelemetry-sdk==1.45.2",
    "opentelemetry-instrumentation==0.66b2",
    "opentelemetry-semantic-conventions==0.66b2",
)
_COMMON = ("wrapt==2.1.2", "pydantic==2.13.4", "httpx==0.28.1", "httpx2==2.16.2")


@dataclass(frozen=True)
class Environment:
    """A virtual environment: what is installed into it besides genai-cost (editable)."""

    name: str
    requirements: tuple[str, ...]
    note: str = ""

    def fingerprint(self) -> str:
        return hashlib.sha256("\n".join(self.requirements).encode()).hexdigest()[:16]


ENVIRONMENTS = {
    env.name: env
    for env in (
        Environment("genai-cost", (_OPENAI, *_OTEL, *_COMMON, "genai-prices==0.2.3")),
        Environment(
            "openai-v2",
            (
                _OPENAI,
                *_OTEL,
                *_COMMON,
                "opentelemetry-instrumentation-openai-v2==2.4b0",
                "opentelemetry-util-genai==1.1b0",
            ),
            note=(
                "opentelemetry-instrumentation-openai-v2 2.4b0 imports "
                "`opentelemetry.util.genai.instruments`, which opentelemetry-util-genai 1.2b0+ "
                "no longer has: its environment gets opentelemetry-util-genai 1.1b0"
            ),
        ),
        Environment(
            "openllmetry",
            (_OPENAI, *_OTEL, *_COMMON, "opentelemetry-instrumentation-openai==0.62.4"),
        ),
        Environment(
            "openlit",
            (
                "openai==2.54.0",
                "opentelemetry-api==1.45.1",
                "opentelemetry-sdk==1.45.1",
                "wrapt==2.1.2",
                "pydantic==2.13.4",
                "httpx==0.28.1",
                "openlit==1.45.0",
            ),
            note=(
                "openlit 1.45.0 requires openai<3 and its contrib dependencies resolve to "
                "opentelemetry 1.45.1/0.66b1: runs on openai 2.54.0 (which sends through httpx) "
                "and opentelemetry-sdk 1.45.1"
            ),
        ),
        Environment(
            "openinference",
            (_OPENAI, *_OTEL, *_COMMON, "openinference-instrumentation-openai==0.1.66"),
        ),
    )
}


@dataclass(frozen=True)
class Configuration:
    """One column of the results: an instrumentation set-up run in an environment."""

    name: str
    label: str
    environment: str
    peer: bool = False


CONFIGURATIONS = {
    config.name: config
    for config in (
        Configuration("baseline", "uninstrumented", "genai-cost"),
        Configuration("genai-cost", "genai-cost instrumentor", "genai-cost"),
        Configuration("genai-cost+processor", "genai-cost instrumentor + CostSpanProcessor", "genai-cost"),
        Configuration(
            "genai-cost+compat-openinference", "genai-cost instrumentor, GENAI_COST_COMPAT=openinference", "genai-cost"
        ),
        Configuration(
            "genai-cost+attribution", "genai-cost instrumentor, calls in attribute(), a key on metrics", "genai-cost"
        ),
        Configuration(
            "genai-cost+priority", "genai-cost instrumentor, answers served at service_tier=priority", "genai-cost"
        ),
        Configuration("openai-v2", "opentelemetry-instrumentation-openai-v2", "openai-v2", True),
        Configuration("openllmetry", "OpenLLMetry (opentelemetry-instrumentation-openai)", "openllmetry", True),
        Configuration("openlit", "openlit", "openlit", True),
        Configuration("openinference", "OpenInference (openinference-instrumentation-openai)", "openinference", True),
    )
}


def default_venv_root() -> Path:
    """``$GENAI_COST_BENCH_VENVS``, else the ``venvs`` folder beside the repository."""
    configured = os.environ.get("GENAI_COST_BENCH_VENVS")
    return Path(configured) if configured else REPO.parent / "venvs"


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_environment(env: Environment, *, root: Path) -> Path:
    """Create (or reuse) the environment's venv and return its Python interpreter."""
    venv = root / f"bench-{env.name}"
    marker = venv / ".genai-cost-bench"
    if marker.exists() and marker.read_text() == env.fingerprint():
        return _python(venv)
    print(f"creating {venv} (a minute or two)", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    pip = [str(_python(venv)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, *env.requirements], check=True)
    subprocess.run([*pip, "--no-deps", "-e", str(REPO)], check=True)
    marker.write_text(env.fingerprint())
    return _python(venv)


def compile_sources(python: Path) -> None:
    """Write the bytecode caches of the editable genai-cost sources and the benchmarks."""
    subprocess.run(
        [str(python), "-m", "compileall", "-q", str(REPO / "src"), str(REPO / "benchmarks")],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def worker_command(python: Path, task: str, config: str, options: dict[str, Any]) -> list[str]:
    """The command line running one ``benchmarks.worker`` task (run it with :func:`worker_env`, in ``REPO``)."""
    return [str(python), "-m", "benchmarks.worker", task, config, json.dumps(options)]


def worker_env() -> dict[str, str]:
    """The environment every worker runs in."""
    # This checkout's sources come first: an environment's editable install may point at another
    # checkout (environments are shared between worktrees of the repository).
    env = {**os.environ, "PYTHONPATH": os.pathsep.join((str(REPO / "src"), str(REPO))), "PYTHONHASHSEED": "0"}
    # Import times are measured as users see them: with bytecode caches (pip writes them for
    # installed packages; our editable sources get theirs from compile_sources()).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", None)
    return env


def run_worker(python: Path, task: str, config: str, options: dict[str, Any]) -> dict[str, Any]:
    """Run ``benchmarks.worker`` in a fresh interpreter and return the JSON it prints."""
    command = worker_command(python, task, config, options)
    done = subprocess.run(
        command, cwd=REPO, env=worker_env(), capture_output=True, text=True, check=False, timeout=1800
    )
    if done.returncode != 0:
        raise RuntimeError(f"{task} {config} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
