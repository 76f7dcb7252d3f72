"""With opentelemetry-distro's distro (``OTEL_PYTHON_DISTRO=distro``) and genai-cost's configurator.

That distro sets ``OTEL_EXPORTER_OTLP_PROTOCOL=grpc`` before any configurator runs, so
genai-cost cannot tell its default from the user's choice: the export is gRPC unless the user
sets ``http/protobuf`` too, as docs/auto-instrumentation.md says. Both halves of that sentence are checked here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.e2e.otlp import APP, OtlpGrpcReceiver, OtlpHttpReceiver, Received, attributes, clean_env, run

import genai_cost
from genai_cost.demo.fake_openai import FakeOpenAIServer
from genai_cost.semconv import GenAI, Ours

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


def distro_env(fake: FakeOpenAIServer, endpoint: str, **env: str) -> dict[str, str]:
    return clean_env(
        PYTHONPATH=str(Path(genai_cost.__file__).parents[1]),
        OPENAI_BASE_URL=fake.base_url,
        OPENAI_API_KEY="sk-test",
        OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="openai",
        OTEL_PYTHON_DISTRO="distro",
        OTEL_PYTHON_CONFIGURATOR="genai_cost",
        OTEL_LOGS_EXPORTER="none",
        OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
        **env,
    )


def priced_with_rollup(received: Received) -> bool:
    spans = received.spans()
    priced = [s for s in spans if GenAI.USAGE_COST_AMOUNT in attributes(s)]
    rolled_up = [s for s in spans if Ours.SUBTREE_COST_AMOUNT in attributes(s)]
    return len(priced) == 3 and len(rolled_up) == 1


def test_the_documented_setting_exports_over_http(fake: FakeOpenAIServer) -> None:
    with OtlpHttpReceiver() as receiver:
        result = run(APP, distro_env(fake, receiver.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf"))

    assert result.returncode == 0, result.stderr
    assert priced_with_rollup(receiver.received)


def test_without_it_the_distro_default_is_grpc(fake: FakeOpenAIServer) -> None:
    with OtlpGrpcReceiver() as receiver:
        result = run(APP, distro_env(fake, receiver.endpoint))

    assert result.returncode == 0, result.stderr
    assert priced_with_rollup(receiver.received)
