"""One genai-cost layer per SDK function, removed alone (issue 14, defects 3 and 11).

Beside another wrapt-based instrumentation (opentelemetry-instrumentation-openai-v2), in every
instrument and uninstrument order, each call is traced by exactly the instrumentations still
instrumented. Anthropic's Bedrock and Vertex beta resources copy the first-party functions:
instrumenting before ``import anthropic`` (what ``opentelemetry-instrument`` does) must still
give one span per call, and none once uninstrumented.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import boto3
import openai
import pytest
import wrapt
from botocore.session import Session
from opentelemetry.instrumentation.utils import unwrap
from tests.reliability.support.harness import Telemetry, pricing_table
from tests.support import fake_bedrock
from tests.support.fake_anthropic import fake_anthropic_server
from tests.support.fake_http import FakeHTTPServer
from tests.support.venvs import import_peer

from genai_cost.demo.fake_openai import FakeOpenAIServer
from genai_cost.instrumentation.bedrock import BedrockInstrumentor
from genai_cost.instrumentation.openai import OpenAIInstrumentor

OpenAIV2Instrumentor = import_peer("opentelemetry.instrumentation.openai_v2").OpenAIInstrumentor

OURS = "genai_cost.instrumentation.openai"
OPENAI_V2 = "opentelemetry.util.genai.handler"  # openai-v2 2.4 makes its spans through util-genai
WARNING = "already wrapped by another instrumentation"


class Instrumentations:
    """genai-cost's and openai-v2's OpenAI instrumentors on one pipeline, by scope name."""

    def __init__(self, telemetry: Telemetry) -> None:
        self.telemetry = telemetry
        self.instrumentors = {OURS: OpenAIInstrumentor(), OPENAI_V2: OpenAIV2Instrumentor()}

    def instrument(self, scope: str) -> None:
        options: dict[str, Any] = {"tracer_provider": self.telemetry.tracer_provider}
        if scope == OURS:
            options.update(meter_provider=self.telemetry.meter_provider, pricing=pricing_table())
        self.instrumentors[scope].instrument(**options)

    def uninstrument(self, scope: str) -> None:
        self.instrumentors[scope].uninstrument()

    def uninstrument_all(self) -> None:
        for instrumentor in self.instrumentors.values():
            if instrumentor.is_instrumented_by_opentelemetry:
                instrumentor.uninstrument()


@pytest.fixture
def instrumentations(telemetry: Telemetry) -> Iterator[Instrumentations]:
    both = Instrumentations(telemetry)
    yield both
    both.uninstrument_all()


def _scopes_of_one_call(telemetry: Telemetry, fake: FakeOpenAIServer) -> list[str]:
    """The instrumentation scopes of the spans one chat call produces, sorted."""
    telemetry.clear()
    sdk = openai.OpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0)
    sdk.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}])
    return sorted(span.instrumentation_scope.name for span in telemetry.finished() if span.instrumentation_scope)


ORDERS = [(OURS, OPENAI_V2), (OPENAI_V2, OURS)]


@pytest.mark.parametrize("removal", ORDERS, ids=["ours-removed-first", "openai-v2-removed-first"])
@pytest.mark.parametrize("installation", ORDERS, ids=["ours-first", "openai-v2-first"])
def test_each_uninstrument_removes_its_own_layer(
    installation: tuple[str, str],
    removal: tuple[str, str],
    instrumentations: Instrumentations,
    telemetry: Telemetry,
    fake: FakeOpenAIServer,
) -> None:
    for scope in installation:
        instrumentations.instrument(scope)
    assert _scopes_of_one_call(telemetry, fake) == sorted([OURS, OPENAI_V2])
    first, last = removal
    instrumentations.uninstrument(first)
    assert _scopes_of_one_call(telemetry, fake) == [last]
    instrumentations.uninstrument(last)
    assert _scopes_of_one_call(telemetry, fake) == []


@pytest.mark.parametrize("installation", ORDERS, ids=["ours-first", "openai-v2-first"])
def test_only_a_foreign_layer_is_reported(
    installation: tuple[str, str], instrumentations: Instrumentations, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="genai_cost"):
        for scope in installation:
            instrumentations.instrument(scope)
    warned = [record.getMessage() for record in caplog.records if WARNING in record.getMessage()]
    # openai-v2 wraps chat completions and embeddings, sync and async: genai-cost arriving second sees it.
    assert len(warned) == (4 if installation[0] == OPENAI_V2 else 0)


def test_a_layer_added_after_ours_is_reported_once_when_called(
    instrumentations: Instrumentations, telemetry: Telemetry, fake: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="genai_cost"):
        instrumentations.instrument(OURS)
        instrumentations.instrument(OPENAI_V2)
        for _ in range(3):
            assert _scopes_of_one_call(telemetry, fake) == sorted([OURS, OPENAI_V2])
        # openai-v2's unwrap leaves our layer on top again (rebound): no further warning.
        instrumentations.uninstrument(OPENAI_V2)
        assert _scopes_of_one_call(telemetry, fake) == [OURS]
    warned = [record.getMessage() for record in caplog.records if WARNING in record.getMessage()]
    assert len(warned) == 1, warned
    assert "chat.completions.completions.Completions.create is already wrapped" in warned[0]


@pytest.mark.parametrize("cycles", [1, 3])
def test_instrumenting_again_gives_one_layer(cycles: int, telemetry: Telemetry, fake: FakeOpenAIServer) -> None:
    instrumentor = OpenAIInstrumentor()
    for _ in range(cycles):
        with telemetry.instrumented(instrumentor=instrumentor):
            instrumentor.instrument(tracer_provider=telemetry.tracer_provider)  # already instrumented: no-op
            assert _scopes_of_one_call(telemetry, fake) == [OURS]
    assert _scopes_of_one_call(telemetry, fake) == []


CONVERSE = {"modelId": "amazon.nova-micro-v1:0", "messages": [{"role": "user", "content": [{"text": "Hi"}]}]}


@pytest.fixture
def peer_calls() -> Iterator[list[str]]:
    """Another wrapt-based botocore instrumentation's layer on ``Session.create_client``; its calls.

    ``wrap()`` installs it, ``unwrap()`` removes it the way such packages do (the top layer).
    """
    original = Session.__dict__["create_client"]
    calls: list[str] = []
    yield calls
    Session.create_client = original  # type: ignore[method-assign]


def _wrap_peer(calls: list[str]) -> None:
    def create_client(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        calls.append("create_client")
        return wrapped(*args, **kwargs)

    wrapt.wrap_function_wrapper(Session, "create_client", create_client)


def _converse_sees(telemetry: Telemetry, bedrock: FakeHTTPServer, peer_calls: list[str]) -> tuple[bool, bool]:
    """(genai-cost traced it, the peer ran) for a converse call on a client created now."""
    telemetry.clear()
    peer_calls.clear()
    fake_bedrock.client(bedrock.origin, boto3.session.Session()).converse(**CONVERSE)
    return len(telemetry.finished()) == 1, peer_calls == ["create_client"]


PEER_ORDERS = [("ours", "peer"), ("peer", "ours")]


@pytest.mark.parametrize("removal", PEER_ORDERS, ids=["ours-removed-first", "peer-removed-first"])
@pytest.mark.parametrize("installation", PEER_ORDERS, ids=["ours-first", "peer-first"])
def test_bedrock_session_layers_are_removed_alone(
    installation: tuple[str, str], removal: tuple[str, str], telemetry: Telemetry, peer_calls: list[str]
) -> None:
    ours = BedrockInstrumentor()
    steps = {
        "ours": (partial(ours.instrument, tracer_provider=telemetry.tracer_provider,
                         meter_provider=telemetry.meter_provider, pricing=pricing_table()), ours.uninstrument),
        "peer": (partial(_wrap_peer, peer_calls), partial(unwrap, Session, "create_client")),
    }  # fmt: skip
    with fake_bedrock.server() as bedrock:
        try:
            for name in installation:
                steps[name][0]()
            assert _converse_sees(telemetry, bedrock, peer_calls) == (True, True)
            first, last = removal
            steps[first][1]()
            assert _converse_sees(telemetry, bedrock, peer_calls) == (last == "ours", last == "peer")
            steps[last][1]()
            assert _converse_sees(telemetry, bedrock, peer_calls) == (False, False)
        finally:
            if ours.is_instrumented_by_opentelemetry:
                ours.uninstrument()


# Runs in a fresh interpreter: anthropic must not be imported yet when instrumenting.
_BEFORE_IMPORT = """
import json, logging, sys
from functools import partial
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
import genai_cost
from genai_cost.instrumentation.anthropic import AnthropicInstrumentor

bedrock_origin, vertex_origin, cycles = sys.argv[1], sys.argv[2], int(sys.argv[3])
warnings = []
handler = logging.Handler(logging.WARNING)
handler.emit = lambda record: warnings.append(record.getMessage())
logging.getLogger("genai_cost").addHandler(handler)
spans = InMemorySpanExporter()
tracer_provider = TracerProvider()
tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
instrumentor = AnthropicInstrumentor()
report = {"imported_before": "anthropic" in sys.modules, "warnings": warnings}
for _ in range(cycles - 1):
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=MeterProvider())
    instrumentor.uninstrument()
instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=MeterProvider())

import anthropic

bedrock = anthropic.AnthropicBedrock(aws_access_key="AKIAFAKE", aws_secret_key="fake-secret",
                                     aws_region="us-east-1", base_url=bedrock_origin, max_retries=0)
vertex = anthropic.AnthropicVertex(region="us-east5", project_id="demo-project", access_token="ya29.fake",
                                   base_url=vertex_origin + "/v1", max_retries=0)
clients = {"bedrock": (bedrock, "anthropic.claude-haiku-4-5-20251001-v1:0"),
           "vertex": (vertex, "claude-haiku-4-5@20251001")}

def stream(client, **request):
    with client.beta.messages.stream(**request) as events:
        events.until_done()

def calls():
    # {client.method: [spans, track_usage requests]} of one call each
    for name, (client, model) in clients.items():
        request = {"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}]}
        for method, call in (("create", client.beta.messages.create), ("stream", partial(stream, client)),
                             ("first-party", client.messages.create)):
            spans.clear()
            with genai_cost.track_usage() as usage:
                call(**request)
            yield f"{name}.{method}", [len(spans.get_finished_spans()), usage.successful_requests]

report["instrumented"] = dict(calls())
instrumentor.uninstrument()
report["uninstrumented"] = dict(calls())
instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=MeterProvider())
report["instrumented_again"] = dict(calls())
instrumentor.uninstrument()
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def fake_anthropic() -> Iterator[FakeHTTPServer]:
    with fake_anthropic_server() as server:
        yield server


@pytest.mark.slow  # a fresh interpreter imports anthropic: 5-7 s alone on this machine under load
@pytest.mark.parametrize("cycles", [1, 2], ids=["instrumented", "instrumented-uninstrumented-instrumented"])
def test_copied_beta_functions_get_no_second_layer(cycles: int, fake_anthropic: FakeHTTPServer) -> None:
    """Instrumented before ``import anthropic`` (``cycles`` times, uninstrumented in between)."""
    with fake_bedrock.server() as bedrock:
        run = subprocess.run(
            [sys.executable, "-c", _BEFORE_IMPORT, bedrock.origin, fake_anthropic.origin, str(cycles)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["imported_before"] is False
    calls = [f"{client}.{method}" for client in ("bedrock", "vertex") for method in ("create", "stream", "first-party")]
    assert report["instrumented"] == {call: [1, 1] for call in calls}
    assert report["uninstrumented"] == {call: [0, 0] for call in calls}
    assert report["instrumented_again"] == {call: [1, 1] for call in calls}
    assert report["warnings"] == []
