"""A real Arize Phoenix server for the end-to-end tests: started, queried, photographed.

Phoenix (``arize-phoenix``, the ``phoenix`` extra) pins packages differently from the test
environment (genai-prices, anthropic, google-genai among others), so it usually lives in a
virtual environment of its own: ``GENAI_COST_PHOENIX`` names its ``phoenix`` launcher. Without
it, a ``phoenix`` package importable here is used. The server runs on 127.0.0.1 on free ports,
with its default local storage (SQLite) in a temporary working directory, and sends nothing out.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.grafana.live import free_port, wait_for

__all__ = ["LAUNCHER_VARIABLE", "Phoenix", "chromium", "phoenix_command", "run_phoenix"]

LAUNCHER_VARIABLE = "GENAI_COST_PHOENIX"
_STARTUP_SECONDS = 180.0


def phoenix_command() -> list[str] | None:
    """How to start ``phoenix serve`` here, or ``None`` when Phoenix is not installed."""
    configured = os.environ.get(LAUNCHER_VARIABLE)
    if configured:
        return [configured, "serve"]
    if importlib.util.find_spec("phoenix") is not None and importlib.util.find_spec("phoenix.server") is not None:
        return [sys.executable, "-m", "phoenix.server.main", "serve"]
    return None


def chromium() -> str | None:
    """A headless-capable Chromium (Debian's ``chromium`` package), or ``None``."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass(frozen=True)
class Phoenix:
    """A running Phoenix server: its HTTP origin (UI, REST, GraphQL, OTLP/HTTP) and log."""

    origin: str
    log: Path

    def get(self, path: str, **params: str) -> Any:
        url = f"{self.origin}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
        with urllib.request.urlopen(url, timeout=30) as response:
            return json.load(response)

    def graphql(self, query: str, **variables: Any) -> Any:
        body = json.dumps({"query": query, "variables": variables}).encode()
        request = urllib.request.Request(
            f"{self.origin}/graphql", data=body, headers={"content-type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.load(response)
        assert not answer.get("errors"), answer["errors"]
        return answer["data"]

    def healthy(self) -> bool | None:
        try:
            with urllib.request.urlopen(f"{self.origin}/healthz", timeout=5) as response:
                return response.status == 200 or None
        except (urllib.error.URLError, OSError):
            return None

    def spans(self, project: str) -> list[dict[str, Any]]:
        """Every span of ``project`` as the REST API gives it (``GET /v1/projects/{name}/spans``)."""
        found: list[dict[str, Any]] = []
        cursor = None
        while True:
            params = {"limit": "100", **({"cursor": cursor} if cursor else {})}
            page = self.get(f"/v1/projects/{urllib.parse.quote(project)}/spans", **params)
            found += page["data"]
            cursor = page.get("next_cursor")
            if not cursor:
                return found

    def screenshot(self, browser: str, path: str, out: Path) -> subprocess.CompletedProcess[str]:
        """A headless Chromium screenshot of a page of the UI (``path``), waiting for it to render."""
        command = [
            browser,
            "--headless=new",
            "--no-sandbox",  # root in a container
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1600,1000",
            "--virtual-time-budget=20000",
            f"--screenshot={out}",
            f"{self.origin}{path}",
        ]
        return subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)


@contextmanager
def run_phoenix(command: list[str], workdir: Path) -> Iterator[Phoenix]:
    """``phoenix serve`` on free 127.0.0.1 ports with its storage in ``workdir``; stopped at exit."""
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(workdir),
        "PHOENIX_WORKING_DIR": str(workdir / "phoenix"),
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_PORT": str(port),
        "PHOENIX_GRPC_PORT": str(free_port()),
        "PHOENIX_TELEMETRY_ENABLED": "false",
    }
    log_path = workdir / "phoenix.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
        phoenix = Phoenix(f"http://127.0.0.1:{port}", log_path)
        try:
            wait_for(
                lambda: phoenix.healthy() if process.poll() is None else _exited(process, log_path),
                "Phoenix to answer /healthz",
                timeout=_STARTUP_SECONDS,
            )
            yield phoenix
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _exited(process: subprocess.Popen[bytes], log: Path) -> None:
    raise AssertionError(f"phoenix exited with {process.returncode}:\n{log.read_text()[-4000:]}")
