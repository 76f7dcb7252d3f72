"""Provider faults through the real anthropic SDK: same outcome as uninstrumented, failure recorded.

The Anthropic wire format (JSON messages, SSE with ``event:`` lines) is served by the raw
fault server, including a 401 that quotes the ``x-api-key`` the client sent (scanned for by
``test_no_secret_in_any_exported_data``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anthropic
import pytest
from tests.reliability.support import wire
from tests.reliability.support.archive import API_KEY, COOKIE
from tests.reliability.support.checks import assert_answered, assert_failed
from tests.reliability.support.fault_server import FaultServer, Script
from tests.reliability.support.harness import Outcome, Telemetry, same_outcome

from genai_cost.instrumentation.anthropic import AnthropicInstrumentor
from genai_cost.semconv import GenAI

MODEL = "claude-haiku-4-5"


def _message(usage: Any) -> dict[str, Any]:
    return {"id": "msg_reliability", "type": "message", "role": "assistant", "model": MODEL,
            "content": [{"type": "text", "text": "Hi."}], "stop_reason": "end_turn", "stop_sequence": None,
            "usage": usage}  # fmt: skip


def _events(usage: Any) -> list[tuple[str, Any]]:
    start = {**_message({"input_tokens": 25, "output_tokens": 1}), "content": [], "stop_reason": None}
    return [
        ("message_start", {"type": "message_start", "message": start}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "text_delta", "text": "Hi."}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                           "usage": usage}),
        ("message_stop", {"type": "message_stop"}),
    ]  # fmt: skip


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}}


FAILURES = [
    pytest.param(wire.unauthorized_echoing_key(lambda key: _error("authentication_error", f"invalid x-api-key: {key}")),
                 False, anthropic.AuthenticationError, id="401-echoing-key"),
    pytest.param(wire.json_reply(_error("overloaded_error", "Overloaded"), status=529), False,
                 anthropic.InternalServerError, id="529"),
    pytest.param(wire.reset_before_response(), False, anthropic.APIConnectionError, id="reset"),
    pytest.param(wire.stall(), False, anthropic.APITimeoutError, id="timeout"),
    pytest.param(wire.raw_reply(b'{"id": "msg_1", "content": ['), False, None, id="malformed-json"),
    pytest.param(wire.sse_reply(_events({"output_tokens": 9})[:3], ending="reset"), True,
                 None, id="reset-mid-stream"),  # the SDK lets its HTTP library's ReadError through
    pytest.param(wire.sse_reply([*_events({"output_tokens": 9})[:3],
                                 ("error", _error("overloaded_error", "Overloaded"))]), True,
                 anthropic.APIStatusError, id="error-event-mid-stream"),
]  # fmt: skip


def _call(faults: FaultServer, script: Script, *, stream: bool) -> Callable[[], Any]:
    sdk = anthropic.Anthropic(base_url=faults.root_url, api_key=API_KEY, max_retries=0, timeout=0.3,
                              default_headers={"Cookie": COOKIE})  # fmt: skip
    headers = faults.headers(script)
    return lambda: sdk.messages.create(model=MODEL, max_tokens=64, stream=stream, extra_headers=headers,
                                       messages=[{"role": "user", "content": "Hello"}])  # fmt: skip


def _same_outcome(telemetry: Telemetry, call: Callable[[], Any]) -> Outcome:
    return same_outcome(telemetry, call, instrumentor=AnthropicInstrumentor())


@pytest.mark.parametrize(("script", "stream", "error_class"), FAILURES)
def test_anthropic_failure_reaches_the_app_unchanged(
    telemetry: Telemetry, faults: FaultServer, script: Script, stream: bool, error_class: type | None
) -> None:
    seen = _same_outcome(telemetry, _call(faults, script, stream=stream))
    assert seen.error is not None
    if error_class is not None:
        assert issubclass(seen.error[0], error_class)
    assert_failed(telemetry.only_span(), seen.error[0])


BAD_USAGE = [
    pytest.param({"input_tokens": -25, "output_tokens": 10**30}, id="negative-and-beyond-int64"),
    pytest.param({"input_tokens": "25", "cache_read_input_tokens": [1]}, id="wrong-types"),
    pytest.param(None, id="missing"),
]


@pytest.mark.parametrize("usage", BAD_USAGE)
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_anthropic_bad_usage_values(telemetry: Telemetry, faults: FaultServer, usage: Any, stream: bool) -> None:
    script = wire.sse_reply(_events(usage)) if stream else wire.json_reply(_message(usage))
    seen = _same_outcome(telemetry, _call(faults, script, stream=stream))
    assert seen.error is None
    span = telemetry.only_span()
    assert_answered(span, seen.error)
    assert span.attributes[GenAI.RESPONSE_MODEL] == MODEL
