"""Reliability suite fixtures: archived telemetry pipelines, the fault servers, and the secret scan.

Every pipeline built here feeds one session :class:`Archive`; the last test of the session,
``test_no_secret_in_any_exported_data`` (moved to the end by the hook below), scans all of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from tests.reliability.support.archive import Archive
from tests.reliability.support.fault_server import FaultServer
from tests.reliability.support.harness import Telemetry

from genai_cost.config import ENV, get_settings
from genai_cost.demo.fake_openai import FakeOpenAIServer

SECRET_SCAN = "test_no_secret_in_any_exported_data"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the secret scan after everything else, so it sees the whole session's data."""
    scans = [item for item in items if item.name == SECRET_SCAN]
    for item in scans:
        items.remove(item)
        items.append(item)


@pytest.fixture(scope="session")
def archive() -> Iterator[Archive]:
    archive = Archive()
    with archive.watch_logs():
        yield archive


@pytest.fixture
def telemetry(archive: Archive) -> Iterator[Telemetry]:
    pipeline = Telemetry(archive)
    yield pipeline
    pipeline.collect()


@pytest.fixture(scope="module")
def module_telemetry(archive: Archive) -> Iterator[Telemetry]:
    """One pipeline for a whole module (hypothesis examples cannot use function fixtures)."""
    pipeline = Telemetry(archive)
    yield pipeline
    pipeline.collect()


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Set genai-cost environment variables for instrumentors built in the test (settings re-read)."""

    def apply(**env: str) -> None:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()

    yield apply
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def capture_content(settings_env: Callable[..., None]) -> None:
    """``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``."""
    settings_env(**{ENV.CAPTURE_MESSAGE_CONTENT: "true"})


@pytest.fixture(scope="session")
def faults() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


@pytest.fixture(scope="session")
def fake(archive: Archive) -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server
