"""Bad configuration gets a clear one-line answer naming the setting; pricing never needs the network.

Startup under ``opentelemetry-instrument`` with a bad pricing file (bundled table used, or
the process stops under ``GENAI_COST_STRICT=true``) is covered end to end in
``tests/e2e/test_configuration.py``; here the same check runs for regex faults.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from genai_cost.config import ENV, Settings, settings_from_env
from genai_cost.pricing import PricingError, PricingTable
from genai_cost.pricing.match import MAX_NAME_LENGTH, Regex

CATASTROPHIC = [
    pytest.param(r"(a+)+$", id="nested"),
    pytest.param(r"(a|aa)*b", id="alternation-under-star"),
    pytest.param(r"(a|a)*", id="identical-branches"),
    pytest.param(r"(.*a){12}", id="star-under-counted-repeat"),
    pytest.param(r"(?:a?a?)*", id="optional-under-star"),
    pytest.param(r".*a.*a.*a.*a.*b", id="polynomial-chain"),
    pytest.param(r"(?:.{0,16})" * 30, id="bounded-chain"),
    pytest.param(r"\d+\d+", id="adjacent"),
]


def _entry(**overrides: Any) -> dict[str, Any]:
    return {"id": "mine", "provider": "openai", "match": {"exact": "my-model"}, "input": 1, "output": 2, **overrides}


def _pricing_file(tmp_path: Path, content: str, suffix: str = ".json") -> Path:
    path = tmp_path / f"prices{suffix}"
    path.write_text(content, encoding="utf-8")
    return path


def _load_error(path: Path) -> str:
    with pytest.raises(PricingError) as caught:
        PricingTable.load(files=[path], include_bundled=False)
    message = str(caught.value)
    assert "\n" not in message
    assert str(path) in message
    return message


@pytest.mark.parametrize(
    ("content", "suffix", "expected"),
    [
        pytest.param('{"entries": [', ".json", "malformed JSON", id="truncated-json"),
        pytest.param("[[entries]\nid = ", ".toml", "malformed TOML", id="truncated-toml"),
        pytest.param("\udcff", ".json", "malformed JSON", id="not-utf8"),
        pytest.param('{"entries": {}}', ".json", "'entries'", id="entries-not-a-list"),
        pytest.param(json.dumps({"entries": [_entry(input=-1)]}), ".json", "'input'", id="negative-price"),
        pytest.param(json.dumps({"entries": [_entry(output="cheap")]}), ".json", "'output'", id="price-not-a-number"),
        pytest.param(
            json.dumps({"entries": [_entry(match={"regex": "("})]}),
            ".json",
            "invalid regular expression",
            id="bad-regex",
        ),
    ],
)
def test_malformed_pricing_file_names_file_and_problem(
    tmp_path: Path, content: str, suffix: str, expected: str
) -> None:
    path = tmp_path / f"prices{suffix}"
    path.write_bytes(content.encode("utf-8", "surrogateescape"))
    assert expected in _load_error(path)


@pytest.mark.parametrize("pattern", CATASTROPHIC)
def test_catastrophic_regex_is_rejected_naming_entry_and_field(tmp_path: Path, pattern: str) -> None:
    path = _pricing_file(tmp_path, json.dumps({"entries": [_entry(match={"regex": pattern})]}))
    message = _load_error(path)
    assert "entry 'mine'" in message and "match.regex" in message and "catastrophically" in message


def test_regexes_never_run_on_names_longer_than_the_bound() -> None:
    """The other half of the bound: whatever a pattern does, its input is at most 256 characters."""
    clause = Regex("a.*")
    assert clause.is_match("a" * MAX_NAME_LENGTH)
    assert not clause.is_match("a" * (MAX_NAME_LENGTH + 1))


BAD_ENV = [
    pytest.param(ENV.STRICT, "maybe", "strict", id="strict"),
    pytest.param(ENV.OPENAI_STREAM_USAGE, "sometimes", "openai_stream_usage", id="stream-usage"),
    pytest.param(ENV.ROLLUP_MAX_TRACES, "-5", "rollup_max_traces", id="rollup-negative"),
    pytest.param(ENV.ROLLUP_MAX_TRACES, "lots", "rollup_max_traces", id="rollup-not-a-number"),
    pytest.param(ENV.METRIC_MODEL_LIMIT, "0", "metric_model_limit", id="model-limit-zero"),
    pytest.param(ENV.MODEL_ALIASES, "just-a-name", "model_aliases", id="aliases"),
    pytest.param(ENV.CAPTURE_MESSAGE_CONTENT, "verbose", "capture_message_content", id="capture"),
    pytest.param(ENV.PRICING_URL, "ftp://prices.example.com/p.json", "pricing_url", id="pricing-url-scheme"),
    pytest.param(ENV.PRICING_REFRESH, "hourly", "pricing_refresh", id="refresh-not-a-number"),
    pytest.param(ENV.PRICING_REFRESH, "0", "pricing_refresh", id="refresh-zero"),
    pytest.param(ENV.PRICING_REFRESH, "inf", "pricing_refresh", id="refresh-infinite"),
]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("https://prices.example.com/p.json", "https://prices.example.com/p.json", id="https"),
        pytest.param("http://127.0.0.1:8080/p.json", "http://127.0.0.1:8080/p.json", id="http"),
        pytest.param("/etc/genai-cost/prices.json", "/etc/genai-cost/prices.json", id="path"),
        pytest.param("file:///etc/genai%20cost/p.json", "/etc/genai cost/p.json", id="file-url"),
        pytest.param("  ", None, id="blank"),
    ],
)
def test_pricing_url_is_an_http_url_or_a_file_path(value: str, expected: str | None) -> None:
    settings = settings_from_env({ENV.PRICING_URL: value, ENV.PRICING_REFRESH: "90.5"})
    assert settings.pricing_url == expected
    assert settings.pricing_refresh == 90.5
    assert settings_from_env({}).pricing_refresh == 3600


@pytest.mark.parametrize(("name", "value", "field"), BAD_ENV)
def test_unknown_env_var_value_logs_one_line_naming_it_and_keeps_the_default(
    caplog: pytest.LogCaptureFixture, name: str, value: str, field: str
) -> None:
    with caplog.at_level(logging.WARNING, logger="genai_cost"):
        settings = settings_from_env({name: value})
    assert getattr(settings, field) == getattr(Settings(), field)
    (record,) = caplog.records
    message = record.getMessage()
    assert name in message and repr(value) in message and "\n" not in message


def _check_pricing(path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """What ``opentelemetry-instrument`` does first: build the process-wide table."""
    code = "from genai_cost.autoinstrument import check_pricing; print(len(check_pricing()) > 0)"
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("GENAI_COST_", "OTEL_"))}
    environ.update({ENV.PRICING_FILE: str(path), **env})
    return subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=60)


def test_catastrophic_regex_in_pricing_file_at_startup(tmp_path: Path) -> None:
    path = _pricing_file(tmp_path, json.dumps({"entries": [_entry(match={"regex": "(a|aa)*b"})]}))

    relaxed = _check_pricing(path)
    assert relaxed.returncode == 0 and relaxed.stdout.strip() == "True"  # the bundled table is used
    (note,) = [line for line in relaxed.stderr.splitlines() if "genai-cost" in line]
    assert str(path) in note and "match.regex" in note

    strict = _check_pricing(path, **{ENV.STRICT: "true"})
    assert strict.returncode != 0 and strict.stdout == ""
    last = strict.stderr.strip().splitlines()[-1]
    assert ENV.STRICT in last and str(path) in last and "match.regex" in last


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args[1:] or args)
        raise OSError("network access attempted by pricing code")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


def test_pricing_load_and_sync_never_touch_the_network(no_network: list[Any], tmp_path: Path) -> None:
    from genai_cost.pricing.sync import generate

    path = _pricing_file(tmp_path, json.dumps({"entries": [_entry()]}))
    table = PricingTable.load(files=[path])
    assert table.match("my-model", "openai") is not None
    assert table.match("gpt-4o-mini", "openai") is not None  # the bundled layer is there too
    text, report = generate()
    assert json.loads(text)["entries"] and report is not None
    assert no_network == []
