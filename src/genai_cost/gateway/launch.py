"""How to start rotel with genai-cost's trace processor (``genai-cost gateway rotel``).

rotel runs the processor in its own embedded Python (the ``libpython`` its binary links, not
the interpreter that installed it), whose ``sys.path`` holds only that Python's standard
library and system packages: genai-cost and its dependencies reach it through
``PYTHONPATH``. Pure-Python packages only need the same major version; compiled ones
(protobuf, grpcio) need the same minor version, which :attr:`RotelLaunch.embedded_python`
lets the caller check.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import site
import sysconfig
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import genai_cost
from genai_cost.config import ENV
from genai_cost.gateway import ROTEL_PROCESSOR

__all__ = ["RotelLaunch", "embedded_python", "rotel_agent", "rotel_launch"]

_SETTINGS_PREFIX = "GENAI_COST_"
_PATH_SETTINGS = (ENV.PRICING_FILE,)
_LIBPYTHON = re.compile(rb"libpython(\d+\.\d+)")


@dataclass(frozen=True)
class RotelLaunch:
    """A rotel command line with genai-cost's processor, and the environment it needs."""

    argv: tuple[str, ...]
    env: dict[str, str]
    """Variables to set for rotel: ``PYTHONPATH`` and genai-cost's settings."""
    processor: Path
    embedded_python: str | None
    """``major.minor`` of the Python the rotel binary embeds; ``None`` when not found."""


def rotel_agent() -> str | None:
    """The ``rotel-agent`` binary: on ``PATH``, else inside the ``rotel`` Python package."""
    found = shutil.which("rotel-agent")
    if found is not None:
        return found
    spec = importlib.util.find_spec("rotel")
    if spec is None or spec.origin is None:
        return None
    binary = Path(spec.origin).with_name("rotel-agent")
    return str(binary) if binary.is_file() else None


def embedded_python(agent: str) -> str | None:
    """The ``major.minor`` of the ``libpython`` the rotel binary links."""
    try:
        found = _LIBPYTHON.search(Path(agent).read_bytes())
    except OSError:
        return None
    return found.group(1).decode() if found else None


def import_path() -> tuple[str, ...]:
    """Where this genai-cost and the packages it imports are installed."""
    paths = [str(Path(genai_cost.__file__).resolve().parents[1])]
    paths += [sysconfig.get_paths()[name] for name in ("purelib", "platlib")]
    user = site.getusersitepackages()
    if site.ENABLE_USER_SITE and os.path.isdir(user):
        paths.append(user)
    return tuple(dict.fromkeys(paths))


def _settings(environ: Mapping[str, str]) -> dict[str, str]:
    """genai-cost's variables as set here, with file paths made absolute (rotel runs elsewhere)."""
    settings = {name: value for name, value in environ.items() if name.startswith(_SETTINGS_PREFIX)}
    for name in _PATH_SETTINGS:
        if settings.get(name):
            paths = (str(Path(path).resolve()) for path in settings[name].split(os.pathsep) if path.strip())
            settings[name] = os.pathsep.join(paths)
    return settings


def rotel_launch(
    *,
    environ: Mapping[str, str],
    exporter_endpoint: str,
    grpc_endpoint: str = "0.0.0.0:4317",
    http_endpoint: str = "0.0.0.0:4318",
    exporter_protocol: str = "grpc",
) -> RotelLaunch:
    """The command line that runs rotel with the processor, receiving OTLP on the given
    endpoints and exporting OTLP to ``exporter_endpoint``; ``environ``: genai-cost's settings
    to pass on (``GENAI_COST_PRICING_FILE``, ``GENAI_COST_PRICING_URL``, ...)."""
    agent = rotel_agent()
    inherited = [path for path in environ.get("PYTHONPATH", "").split(os.pathsep) if path]
    env = {"PYTHONPATH": os.pathsep.join(dict.fromkeys([*import_path(), *inherited])), **_settings(environ)}
    argv = (
        agent or "rotel-agent",
        "start",
        f"--otlp-grpc-endpoint={grpc_endpoint}",
        f"--otlp-http-endpoint={http_endpoint}",
        f"--otlp-with-trace-processor={ROTEL_PROCESSOR}",
        "--exporter=otlp",
        f"--otlp-exporter-endpoint={exporter_endpoint}",
        f"--otlp-exporter-protocol={exporter_protocol}",
    )
    return RotelLaunch(argv, env, ROTEL_PROCESSOR, None if agent is None else embedded_python(agent))
