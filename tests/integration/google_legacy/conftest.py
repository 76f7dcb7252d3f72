"""Fixtures for the older Google SDKs' tests: the fake Gemini API over HTTP and over gRPC."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.support.fake_gemini_grpc import FakeGeminiGrpcServer
from tests.support.fake_google_genai import fake_google_genai_server
from tests.support.fake_http import FakeHTTPServer


@pytest.fixture(scope="module")
def fake_rest() -> Iterator[FakeHTTPServer]:
    with fake_google_genai_server() as server:
        yield server


@pytest.fixture(scope="module")
def fake_grpc() -> Iterator[FakeGeminiGrpcServer]:
    with FakeGeminiGrpcServer() as server:
        yield server
