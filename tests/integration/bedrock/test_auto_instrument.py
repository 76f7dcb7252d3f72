"""``opentelemetry-instrument python app.py`` traces an unchanged boto3 app through the entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from tests.support.fake_bedrock import DEFAULT
from tests.support.fake_http import FakeHTTPServer

from genai_cost.pricing import PricingTable
from genai_cost.semconv import GenAI, Ours, PricingStatus

from .helpers import SONNET, expected_cost

APP = textwrap.dedent(
    f"""
    import sys
    sys.path.insert(0, {str(Path(__file__).resolve().parents[3])!r})
    from tests.support.fake_bedrock import client
    bedrock = client(sys.argv[1])
    bedrock.converse(modelId={SONNET!r}, messages=[{{"role": "user", "content": [{{"text": "Hi"}}]}}])
    """
)


def _spans(console_output: str) -> list[dict[str, Any]]:
    decoder, spans, index = json.JSONDecoder(), [], console_output.find("{")
    while index != -1:
        span, end = decoder.raw_decode(console_output, index)
        spans.append(span)
        index = console_output.find("{", end)
    return spans


@pytest.mark.e2e
@pytest.mark.slow
def test_opentelemetry_instrument_traces_bedrock(
    tmp_path: Path, fake_bedrock: FakeHTTPServer, pricing: PricingTable
) -> None:
    app = tmp_path / "app.py"
    app.write_text(APP)
    env = {
        **os.environ,
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_SERVICE_NAME": "bedrock-app",
    }
    instrument = Path(sys.executable).with_name("opentelemetry-instrument")
    done = subprocess.run(
        [str(instrument), sys.executable, str(app), fake_bedrock.origin],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    (span,) = [span for span in _spans(done.stdout) if span["attributes"].get(GenAI.PROVIDER_NAME) == "aws.bedrock"]
    assert span["kind"] == "SpanKind.CLIENT"
    assert span["attributes"][GenAI.USAGE_INPUT_TOKENS] == DEFAULT.input
    assert span["attributes"][Ours.PRICING_STATUS] == PricingStatus.PRICED
    assert span["attributes"][GenAI.USAGE_COST_AMOUNT] == expected_cost(pricing, SONNET, DEFAULT)
