"""Processes for the live tests: a real Prometheus and the instrumented app, both on 127.0.0.1."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
APP = Path(__file__).with_name("instrumented_app.py")
DASHBOARD = REPO / "grafana" / "dashboards" / "genai-cost.json"
RULES = REPO / "grafana" / "alerts" / "genai-cost-rules.yaml"
WAIT_SECONDS = 60.0

T = TypeVar("T")


def require_binary(name: str) -> str:
    """The path of Prometheus' ``name``; a test without it skips locally and fails under CI."""
    path = shutil.which(name)
    if path is None:
        reason = f"`{name}` is not on PATH: apt-get install prometheus"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{reason} (CI is set: Prometheus is required)", pytrace=False)
        pytest.skip(reason)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(probe: Callable[[], T | None], what: str, timeout: float = WAIT_SECONDS) -> T:
    """Poll ``probe`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


class Prometheus:
    """The HTTP API of a Prometheus started by :func:`run_prometheus`."""

    def __init__(self, url: str) -> None:
        self.url = url

    def get(self, path: str, **params: str) -> Any:
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}{path}?{query}", timeout=10) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str, *, at: float | None = None) -> list[dict[str, Any]]:
        """Instant query; raises with Prometheus' message when the expression does not parse."""
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        try:
            data = self.get("/api/v1/query", **params)
        except urllib.error.HTTPError as error:
            raise AssertionError(f"{expr!r}: {error.read().decode()}") from error
        return list(data["result"])

    def targets_up(self) -> bool:
        targets = self.get("/api/v1/targets")["activeTargets"]
        return bool(targets) and all(t["health"] == "up" for t in targets)


@contextmanager
def run_prometheus(workdir: Path, *, job: str, target: str, rule_files: Sequence[Path] = ()) -> Iterator[Prometheus]:
    """Prometheus scraping ``target`` every second as job ``job``, with temp storage."""
    binary = require_binary("prometheus")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(path) for path in rule_files],
        "scrape_configs": [{"job_name": job, "static_configs": [{"targets": [target]}]}],
    }
    config_path = workdir / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(config))
    port = free_port()
    log = (workdir / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config_path}",
            f"--storage.tsdb.path={workdir / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    prometheus = Prometheus(f"http://127.0.0.1:{port}")
    try:

        def ready() -> bool:
            if process.poll() is not None:
                raise AssertionError((workdir / "prometheus.log").read_text())
            try:
                with urllib.request.urlopen(f"{prometheus.url}/-/ready", timeout=2) as response:
                    return bool(response.status == 200)
            except OSError:
                return False

        wait_for(ready, "Prometheus to be ready")
        yield prometheus
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


class App:
    """The instrumented app subprocess (see ``instrumented_app.py`` for its protocol)."""

    def __init__(self, process: subprocess.Popen[str], spans_path: Path) -> None:
        self.process = process
        self.spans_path = spans_path

    def read_event(self, expected: str) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise AssertionError(f"app exited ({self.process.wait()}) before {expected!r}")
        event: dict[str, Any] = json.loads(line)
        assert event["event"] == expected, event
        return event

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def run_round(self) -> list[dict[str, Any]]:
        """Make the call mix once more; the spans of that round."""
        self.send("run")
        self.read_event("done")
        spans: list[dict[str, Any]] = json.loads(self.spans_path.read_text())
        return spans


@contextmanager
def run_app(workdir: Path, *args: str, env: Mapping[str, str] | None = None) -> Iterator[tuple[App, dict[str, Any]]]:
    """Start the app (with ``env`` added to the environment); yields it with its ``ready`` event.
    Stops it at exit."""
    spans_path = workdir / "spans.json"
    log = (workdir / "app.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, str(APP), "--spans-out", str(spans_path), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )
    app = App(process, spans_path)
    try:
        yield app, app.read_event("ready")
    finally:
        if process.poll() is None:
            try:
                app.send("stop")
                process.wait(timeout=20)
            except (OSError, subprocess.TimeoutExpired):
                process.kill()
                process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()
        log.close()


def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def rules() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(RULES.read_text())
    return data


def panels(board: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, rows' nested panels included."""
    for panel in board.get("panels", []):
        yield panel
        yield from panel.get("panels", [])
