"""Provider faults through real boto3 ``bedrock-runtime`` clients (Converse): same outcome, failure recorded.

Bedrock clients are wrapped when they are created, so every call builds its client inside the
(un)instrumented block; the raw fault server is picked with a ``before-sign`` header hook.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config
from tests.reliability.support import wire
from tests.reliability.support.checks import assert_answered, assert_failed
from tests.reliability.support.fault_server import FaultServer, Script
from tests.reliability.support.harness import Outcome, Telemetry, same_outcome

from genai_cost.instrumentation.bedrock import BedrockInstrumentor

MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"
SECRET_ACCESS_KEY = "bedrockSECRETaccessKEY0123456789"

_SESSION = boto3.session.Session()


def _converse(usage: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "output": {"message": {"role": "assistant", "content": [{"text": "Hi."}]}},
        "stopReason": "end_turn",
        "metrics": {"latencyMs": 12},
    }
    if usage is not None:
        body["usage"] = usage
    return body


def _aws_error(status: int, kind: str, message: str) -> Script:
    return wire.json_reply({"message": message}, status, headers={"x-amzn-errortype": kind})


FAILURES = [
    pytest.param(_aws_error(403, "AccessDeniedException", "not allowed"), id="403"),
    pytest.param(_aws_error(429, "ThrottlingException", "slow down"), id="429"),
    pytest.param(_aws_error(400, "ValidationException", "bad model"), id="400"),
    pytest.param(wire.reset_before_response(), id="reset"),
    pytest.param(wire.stall(), id="timeout"),
]


def _call(faults: FaultServer, script: Script) -> Callable[[], Any]:
    headers = faults.headers(script)

    def call() -> Any:
        client = _SESSION.client(
            "bedrock-runtime", region_name="us-east-1", endpoint_url=faults.root_url,
            aws_access_key_id="AKIDRELIABILITY", aws_secret_access_key=SECRET_ACCESS_KEY,
            config=Config(retries={"total_max_attempts": 1}, read_timeout=0.3, connect_timeout=1),
        )  # fmt: skip

        def add_fault(request: Any, **kwargs: Any) -> None:
            for name, value in headers.items():  # botocore's HTTPHeaders has no update()
                request.headers[name] = value

        client.meta.events.register("before-sign.bedrock-runtime", add_fault)
        response = client.converse(modelId=MODEL, messages=[{"role": "user", "content": [{"text": "Hello"}]}])
        response.pop("ResponseMetadata", None)  # request ids and dates differ per call
        return response

    return call


def _same_outcome(telemetry: Telemetry, call: Callable[[], Any]) -> Outcome:
    return same_outcome(telemetry, call, instrumentor=BedrockInstrumentor())


@pytest.mark.parametrize("script", FAILURES)
def test_bedrock_failure_reaches_the_app_unchanged(telemetry: Telemetry, faults: FaultServer, script: Script) -> None:
    seen = _same_outcome(telemetry, _call(faults, script))
    assert seen.error is not None
    assert_failed(telemetry.only_span(), seen.error[0])


def test_bedrock_malformed_json_reaches_the_app_unchanged(telemetry: Telemetry, faults: FaultServer) -> None:
    """botocore answers an unparsable body with an empty result, not an error: so does the app."""
    seen = _same_outcome(telemetry, _call(faults, wire.raw_reply(b'{"output": {')))
    assert_answered(telemetry.only_span(), seen.error)


@pytest.mark.parametrize(
    "usage",
    [
        pytest.param({"inputTokens": -10, "outputTokens": 2**70, "totalTokens": 1}, id="negative-and-beyond-int64"),
        pytest.param({"inputTokens": "10", "cacheReadInputTokens": [1]}, id="wrong-types"),
        pytest.param(None, id="missing"),
    ],
)
def test_bedrock_bad_usage_values(telemetry: Telemetry, faults: FaultServer, usage: Any) -> None:
    seen = _same_outcome(telemetry, _call(faults, wire.json_reply(_converse(usage))))
    assert_answered(telemetry.only_span(), seen.error)
