"""No secret leaves the app through telemetry: scanned over everything the suite exported.

Every client in this suite sends the secrets of ``support/archive.py`` (API key, Azure
``api-key``, cookie, signed-URL query and userinfo), and the fake servers echo the key in
their 401 messages ("Incorrect API key provided: sk-..."). The scan runs last in the session
(see ``conftest.py``) over every span, event, metric and log record of the whole suite, as
objects and as the OTLP protobuf bytes an exporter would send.
"""

from __future__ import annotations

import base64
import urllib.parse

import openai
from tests.reliability.support.archive import API_KEY, AZURE_KEY, COOKIE, SECRETS, SIGNATURE, Archive
from tests.reliability.support.checks import assert_failed
from tests.reliability.support.harness import Telemetry, client, outcome

from genai_cost.demo.fake_openai import FakeOpenAIServer


def _needles() -> dict[str, str]:
    """Each secret, plus the encoded forms it could take on the way out (URL-quoted, Basic auth)."""
    needles = dict(SECRETS)
    for name, secret in SECRETS.items():
        needles[f"{name} (URL-quoted)"] = urllib.parse.quote(secret, safe="")
    needles["API key (base64)"] = base64.b64encode(API_KEY.encode()).decode()
    return needles


def _leaky_calls(fake: FakeOpenAIServer) -> list[tuple[str, openai.OpenAI, dict[str, str]]]:
    """Calls whose requests or errors carry every kind of secret."""
    port = fake.base_url.split(":")[2].split("/")[0]
    azure = openai.AzureOpenAI(
        azure_endpoint=f"http://127.0.0.1:{port}",
        api_key=AZURE_KEY,
        api_version="2024-10-21",
        max_retries=0,
        default_headers={"Cookie": COOKIE},
    )
    signed = client(f"http://token:{SIGNATURE}@127.0.0.1:{port}/v1", default_query={"sig": SIGNATURE, "key": API_KEY})
    plain = client(fake.base_url)
    return [
        ("401 echoing the key", plain, {"x-fake-scenario": "error_401"}),
        ("Azure 401 echoing the api-key", azure, {"x-fake-scenario": "error_401"}),
        ("signed URL with userinfo", signed, {}),
        ("key in per-call headers", plain, {"api-key": API_KEY, "authorization": f"Bearer {API_KEY}"}),
        ("stream", plain, {}),
    ]


def test_no_secret_in_any_exported_data(
    archive: Archive, telemetry: Telemetry, fake: FakeOpenAIServer, capture_content: None
) -> None:
    # Make sure this session holds data that could leak, even when the test runs alone.
    with telemetry.instrumented():
        seen = [
            outcome(
                lambda sdk=sdk, headers=headers, name=name: sdk.chat.completions.create(
                    model="gpt-4o-mini",
                    messages=[{"role": "user", "content": f"no secret here: {name}"}],
                    stream=name == "stream",
                    extra_headers=headers,
                )
            )
            for name, sdk, headers in _leaky_calls(fake)
        ]
    assert API_KEY in seen[0].error[1]  # type: ignore[index]  # the app itself does see the key
    assert AZURE_KEY in seen[1].error[1]  # type: ignore[index]
    assert [o.error is None for o in seen] == [False, False, True, True, True]
    spans = telemetry.finished()
    assert_failed(spans[0], openai.AuthenticationError)
    assert any(span.attributes and "gen_ai.input.messages" in span.attributes for span in spans)
    assert any(SIGNATURE in request["path"] for request in fake.requests)  # the server got the signed URL
    telemetry.collect()

    texts = list(archive.texts())
    payloads = list(archive.otlp_payloads())
    assert len(archive.spans) >= len(seen) and archive.metrics and payloads
    leaks = [
        (what, where)
        for what, needle in _needles().items()
        for where, text in texts
        if needle in text
    ] + [
        (what, where)
        for what, needle in _needles().items()
        for where, payload in payloads
        if needle.encode() in payload
    ]  # fmt: skip
    assert not leaks, f"secrets found in exported data: {leaks[:10]}"
