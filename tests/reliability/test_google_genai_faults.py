"""Provider faults through the real google-genai SDK (Gemini API): same outcome, failure recorded.

The Gemini wire format (JSON ``GenerateContentResponse``, SSE ``data:`` lines for streams) is
served by the raw fault server, including an error that quotes the ``x-goog-api-key`` sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import pytest
from google import genai
from tests.reliability.support import wire
from tests.reliability.support.archive import API_KEY, COOKIE
from tests.reliability.support.checks import assert_answered, assert_failed
from tests.reliability.support.fault_server import Connection, FaultServer, HttpRequest, Script
from tests.reliability.support.harness import Outcome, Telemetry, same_outcome

from genai_cost.instrumentation.google_genai import GoogleGenAIInstrumentor

MODEL = "gemini-2.5-flash"


def _response(usage: Any, text: str = "Hi.") -> dict[str, Any]:
    body: dict[str, Any] = {
        "candidates": [{"content": {"parts": [{"text": text}], "role": "model"}, "finishReason": "STOP", "index": 0}],
        "modelVersion": MODEL,
        "responseId": "resp-reliability",
    }
    if usage is not None:
        body["usageMetadata"] = usage
    return body


def _denied_echoing_key(connection: Connection, request: HttpRequest) -> None:
    key = request.headers.get("x-goog-api-key", "")
    error = {"code": 403, "message": f"API key {key} is not valid for this project.", "status": "PERMISSION_DENIED"}
    connection.respond_json(403, {"error": error})


USAGE = {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15}

FAILURES = [
    pytest.param(_denied_echoing_key, False, id="403-echoing-key"),
    pytest.param(wire.json_reply({"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}, 503),
                 False, id="503"),
    pytest.param(wire.reset_before_response(), False, id="reset"),
    pytest.param(wire.stall(), False, id="timeout"),
    pytest.param(wire.raw_reply(b'{"candidates": ['), False, id="malformed-json"),
    pytest.param(wire.sse_reply([_response(None, "a"), _response(None, "b")], ending="reset"), True,
                 id="reset-mid-stream"),
    pytest.param(wire.sse_reply([_response(None, "a"), b"{broken"], ending="eof"), True, id="malformed-sse"),
]  # fmt: skip


@pytest.fixture(scope="module")
def http() -> Iterator[httpx2.Client]:
    """The SDK leaves an HTTP client it was given open: the module closes its one."""
    with httpx2.Client() as shared:
        yield shared


def _call(faults: FaultServer, http: httpx2.Client, script: Script, *, stream: bool) -> Callable[[], Any]:
    sdk = genai.Client(
        api_key=API_KEY,
        http_options={"base_url": faults.root_url, "retry_options": {"attempts": 1}, "timeout": 300,
                      "headers": {"Cookie": COOKIE}, "httpx_client": http},
    )  # fmt: skip
    config = {"http_options": {"headers": faults.headers(script)}}
    if stream:
        return lambda: list(sdk.models.generate_content_stream(model=MODEL, contents="Hello", config=config))
    return lambda: sdk.models.generate_content(model=MODEL, contents="Hello", config=config)


def _same_outcome(telemetry: Telemetry, call: Callable[[], Any]) -> Outcome:
    return same_outcome(telemetry, call, instrumentor=GoogleGenAIInstrumentor())


@pytest.mark.parametrize(("script", "stream"), FAILURES)
def test_google_failure_reaches_the_app_unchanged(
    telemetry: Telemetry, faults: FaultServer, http: httpx2.Client, script: Script, stream: bool
) -> None:
    seen = _same_outcome(telemetry, _call(faults, http, script, stream=stream))
    assert seen.error is not None
    assert_failed(telemetry.only_span(), seen.error[0])


BAD_USAGE = [
    pytest.param({"promptTokenCount": -10, "candidatesTokenCount": 10**30}, id="negative-and-beyond-int64"),
    pytest.param({"promptTokenCount": "10", "cachedContentTokenCount": [1]}, id="wrong-types"),
    pytest.param(None, id="missing"),
]


@pytest.mark.parametrize("usage", BAD_USAGE)
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_google_bad_usage_values(
    telemetry: Telemetry, faults: FaultServer, http: httpx2.Client, usage: Any, stream: bool
) -> None:
    script = (
        wire.sse_reply([_response(None, "a"), _response(usage)], ending="eof")
        if stream
        else wire.json_reply(_response(usage))
    )
    seen = _same_outcome(telemetry, _call(faults, http, script, stream=stream))
    assert_answered(telemetry.only_span(), seen.error)
