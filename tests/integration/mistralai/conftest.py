"""Fixtures for the Mistral instrumentor tests: the real SDK over HTTP against the local fake."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.support.fake_http import FakeHTTPServer
from tests.support.fake_mistral import fake_mistral_server


@pytest.fixture(scope="module")
def fake_mistral() -> Iterator[FakeHTTPServer]:
    with fake_mistral_server() as server:
        yield server
