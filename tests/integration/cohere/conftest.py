"""Fixtures for the Cohere instrumentor tests: the real SDK over HTTP against the local fake."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.support.fake_cohere import fake_cohere_server
from tests.support.fake_http import FakeHTTPServer


@pytest.fixture(scope="module")
def fake_cohere() -> Iterator[FakeHTTPServer]:
    with fake_cohere_server() as server:
        yield server
