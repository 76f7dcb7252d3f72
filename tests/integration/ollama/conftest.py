"""Fixtures for the Ollama instrumentor tests: the real SDK over HTTP against the local fake."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.support.fake_http import FakeHTTPServer
from tests.support.fake_ollama import fake_ollama_server


@pytest.fixture(scope="module")
def fake_ollama() -> Iterator[FakeHTTPServer]:
    with fake_ollama_server() as server:
        yield server
