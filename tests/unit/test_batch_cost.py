"""``genai-cost batch-cost`` and ``price_batch_results``: batch results files priced at batch rates.

The sample lines follow the providers' documented wire shapes:
- OpenAI Batch output file (platform.openai.com/docs/guides/batch, "Retrieve the results"):
  ``{"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error"}``; a
  failed request has ``response: null`` and ``error: {"code", "message"}``; ``body`` is the
  endpoint's own response (ChatCompletion, Response, embeddings list).
- Anthropic Message Batches results (docs.anthropic.com, "Batch processing", "Retrieving
  batch results"): ``{"custom_id", "result": {"type": "succeeded", "message": Message}}`` or
  ``{"type": "errored", "error": ...}`` / ``{"type": "canceled"}`` / ``{"type": "expired"}``.

Every expected amount is genai-prices' own ``calc_price`` with ``price_context={"processing":
"batch"}`` on the same usage, at the same instant.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import genai_cost
from genai_cost.batch import BATCH_CONTEXT, BatchResultsError, price_batch_results
from genai_cost.batch_export import BATCH_FAILED_REQUESTS, BATCH_REQUESTS, CUSTOM_ID
from genai_cost.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_UNKNOWN_MODEL, main
from genai_cost.semconv import GenAI, Ours

genai_prices = pytest.importorskip("genai_prices")

GPT = "gpt-4o-mini-2024-07-18"
EMBEDDING = "text-embedding-3-small"
CLAUDE = "claude-sonnet-4-5-20250929"
CREATED = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)
"""When the OpenAI responses were created; a recent instant, so today's batch prices apply."""


def _calc(model: str, provider: str, at: datetime | None = None, context: Any = BATCH_CONTEXT, **usage: int) -> Decimal:
    price = genai_prices.calc_price(
        genai_prices.Usage(**usage),
        model,
        provider_id=provider,
        genai_request_timestamp=at,
        price_context=dict(context) if context else None,
    )
    total: Decimal = price.total_price
    return total


# --- OpenAI Batch output -----------------------------------------------------------------


def _openai_line(custom_id: str, body: dict[str, Any] | None, *, status: int = 200, error: Any = None) -> str:
    response = None if body is None else {"status_code": status, "request_id": f"req_{custom_id}", "body": body}
    return json.dumps({"id": f"batch_req_{custom_id}", "custom_id": custom_id, "response": response, "error": error})


def _chat(prompt: int, cached: int, completion: int) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": int(CREATED.timestamp()),
        "model": GPT,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi."}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        },
        "service_tier": "default",
        "system_fingerprint": "fp_1",
    }


def _responses(input_tokens: int, cached: int, output_tokens: int) -> dict[str, Any]:
    return {
        "id": "resp_1",
        "object": "response",
        "created_at": int(CREATED.timestamp()),
        "status": "completed",
        "model": GPT,
        "output": [],
        "usage": {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": cached},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input_tokens + output_tokens,
        },
    }


def _embeddings(prompt: int) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}],
        "model": EMBEDDING,
        "usage": {"prompt_tokens": prompt, "total_tokens": prompt},
    }


OPENAI_LINES = [
    _openai_line("a", _chat(2000, 1024, 300)),
    _openai_line("b", _responses(5000, 4096, 700)),
    _openai_line("c", _embeddings(800)),
    _openai_line("d", None, error={"code": "batch_expired", "message": "This request could not be executed."}),
    _openai_line("e", {"error": {"message": "Invalid model", "type": "invalid_request_error"}}, status=400),
]


def _openai_expected() -> dict[str, Decimal]:
    return {
        GPT: _calc(GPT, "openai", CREATED, input_tokens=2000, cache_read_tokens=1024, output_tokens=300)
        + _calc(GPT, "openai", CREATED, input_tokens=5000, cache_read_tokens=4096, output_tokens=700),
        EMBEDDING: _calc(EMBEDDING, "openai", CREATED, input_tokens=800),
    }


def test_the_batch_rates_differ_from_the_standard_ones() -> None:
    """Guards the tests below: a cost at standard rates would not pass them."""
    usage = {"input_tokens": 2000, "cache_read_tokens": 1024, "output_tokens": 300}
    assert _calc(GPT, "openai", CREATED, **usage) < _calc(GPT, "openai", CREATED, None, **usage)
    usage = {"input_tokens": 1000, "cache_read_tokens": 400, "cache_write_tokens": 200, "output_tokens": 50}
    assert _calc(CLAUDE, "anthropic", **usage) < _calc(CLAUDE, "anthropic", None, None, **usage)


def test_openai_batch_output_is_priced_at_batch_rates_per_model() -> None:
    batch = price_batch_results(OPENAI_LINES)

    expected = _openai_expected()
    assert {row.model: row.cost for row in batch.models} == expected
    assert batch.totals == {"USD": sum(expected.values())}
    gpt = batch.models[0]
    assert (gpt.provider, gpt.requests) == ("openai", 2)
    assert (gpt.usage.input_tokens, gpt.usage.cache_read_tokens, gpt.usage.output_tokens) == (7000, 5120, 1000)
    assert batch.requests == 3
    assert batch.failed == {"batch_expired": 1, "http 400": 1}
    assert batch.unknown_models == ()


# --- Anthropic Message Batches results ---------------------------------------------------


def _message(usage: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": CLAUDE,
        "content": [{"type": "text", "text": "Hi."}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"service_tier": "batch", **usage},
    }


CACHED_USAGE = {
    "input_tokens": 400,
    "cache_read_input_tokens": 400,
    "cache_creation_input_tokens": 200,
    "cache_creation": {"ephemeral_5m_input_tokens": 200, "ephemeral_1h_input_tokens": 0},
    "output_tokens": 50,
}
PLAIN_USAGE = {"input_tokens": 1200, "output_tokens": 90}

ANTHROPIC_LINES = [
    json.dumps({"custom_id": "a", "result": {"type": "succeeded", "message": _message(CACHED_USAGE)}}),
    json.dumps({"custom_id": "b", "result": {"type": "succeeded", "message": _message(PLAIN_USAGE)}}),
    json.dumps(
        {
            "custom_id": "c",
            "result": {
                "type": "errored",
                "error": {"type": "error", "error": {"type": "invalid_request_error", "message": "bad"}},
            },
        }
    ),
    json.dumps({"custom_id": "d", "result": {"type": "canceled"}}),
    json.dumps({"custom_id": "e", "result": {"type": "expired"}}),
]


def _anthropic_expected(at: datetime | None = None) -> Decimal:
    # Anthropic's input_tokens exclude cache reads and writes; genai-prices counts them in.
    return _calc(
        CLAUDE, "anthropic", at, input_tokens=1000, cache_read_tokens=400, cache_write_tokens=200, output_tokens=50
    ) + _calc(CLAUDE, "anthropic", at, input_tokens=1200, output_tokens=90)


def test_anthropic_batch_results_are_priced_at_batch_rates_with_cache() -> None:
    batch = price_batch_results(ANTHROPIC_LINES)

    (row,) = batch.models
    assert (row.provider, row.model, row.requests, row.cost) == ("anthropic", CLAUDE, 2, _anthropic_expected())
    assert (row.usage.input_tokens, row.usage.cache_read_tokens, row.usage.cache_creation_tokens) == (2200, 400, 200)
    assert batch.failed == {"errored": 1, "canceled": 1, "expired": 1}


def test_at_dates_the_results_that_do_not_say_when_they_ran() -> None:
    at = datetime(2025, 11, 1, tzinfo=timezone.utc)

    (row,) = price_batch_results(ANTHROPIC_LINES, at=at).models

    assert row.cost == _anthropic_expected(at)
    # OpenAI bodies carry their creation time, which wins.
    assert price_batch_results(OPENAI_LINES, at=at) == price_batch_results(OPENAI_LINES)


def test_a_path_and_bytes_lines_read_alike(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    path.write_text("\n".join(ANTHROPIC_LINES) + "\n\n", encoding="utf-8")

    assert price_batch_results(path) == price_batch_results(str(path))
    assert price_batch_results(path) == price_batch_results(line.encode() for line in ANTHROPIC_LINES)


def test_the_package_exports_the_api() -> None:
    assert genai_cost.price_batch_results is price_batch_results
    assert "price_batch_results" in dir(genai_cost)


# --- unknown models and bad lines --------------------------------------------------------


def test_an_unknown_model_is_reported_not_priced_at_zero() -> None:
    unknown = _chat(100, 0, 10) | {"model": "no-such-model-7"}
    batch = price_batch_results([*OPENAI_LINES, _openai_line("f", unknown)])

    (row,) = batch.unknown_models
    assert (row.model, row.requests, row.cost, row.status) == ("no-such-model-7", 1, None, "unknown_model")
    assert batch.totals == {"USD": sum(_openai_expected().values())}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        pytest.param("{not json", "line 2: not JSON \\(Expecting property name .* at column 2\\)$", id="not-json"),
        pytest.param("[" * 100_000, "line 2: JSON nested too deeply$", id="deep"),
        pytest.param(b"\xff{}", "line 2: not UTF-8$", id="not-utf8"),
        pytest.param("[1, 2]", "line 2: expected a JSON object, got list", id="array"),
        pytest.param('{"custom_id": "x"}', "line 2: neither an OpenAI Batch output line", id="neither"),
        pytest.param(_openai_line("x", {"object": "thing"}), "line 2: unrecognized response body", id="body"),
        pytest.param(_openai_line("x", _chat(1, 0, 1) | {"usage": None}), "line 2: response without usage", id="usage"),
        pytest.param(_openai_line("x", _chat(1, 0, 1) | {"model": None}), "line 2: response without a mod", id="model"),
        pytest.param('{"result": {"type": "succeeded"}}', "line 2: succeeded result without a message", id="message"),
    ],
)
def test_a_bad_line_is_named_by_its_number(line: str | bytes, message: str) -> None:
    with pytest.raises(BatchResultsError, match="^" + message):
        price_batch_results([OPENAI_LINES[0], line])


# --- the command line --------------------------------------------------------------------


def _write(tmp_path: Path, lines: list[str]) -> str:
    path = tmp_path / "batch_output.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_cli_json_is_exact(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["batch-cost", _write(tmp_path, OPENAI_LINES), "--json"]) == EXIT_OK

    report = json.loads(capsys.readouterr().out)
    expected = _openai_expected()
    assert report["context"] == {"processing": "batch"}
    assert {row["model"]: Decimal(row["cost"]) for row in report["models"]} == expected
    assert Decimal(report["total"]["USD"]) == sum(expected.values())
    assert (report["requests"], report["failed"]) == (3, {"batch_expired": 1, "http 400": 1})


def test_cli_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["batch-cost", _write(tmp_path, ANTHROPIC_LINES)]) == EXIT_OK

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["MODEL", "PROVIDER", "REQUESTS", "INPUT", "CACHED", "OUTPUT", "COST"]
    assert lines[1].split()[:6] == [CLAUDE, "anthropic", "2", "2200", "400", "140"]
    assert lines[2].split()[:2] == ["TOTAL", "2"]
    assert "not priced: 3 failed requests (1 x errored, 1 x canceled, 1 x expired)" in lines


def test_cli_unknown_model_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    unknown = _chat(100, 0, 10) | {"model": "no-such-model-7"}
    path = _write(tmp_path, [OPENAI_LINES[0], _openai_line("f", unknown)])

    assert main(["batch-cost", path]) == EXIT_UNKNOWN_MODEL

    out = capsys.readouterr().out
    assert "unknown model" in out
    assert "not priced: 1 request of no-such-model-7 at provider openai: unknown model" in out


def test_cli_bad_line_is_one_line_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, [OPENAI_LINES[0], "{oops"])

    assert main(["batch-cost", path]) == EXIT_BAD_INPUT

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"genai-cost: error: {path}: line 2: not JSON")
    assert captured.err.count("\n") == 1


def test_cli_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "absent.jsonl"

    assert main(["batch-cost", str(path)]) == EXIT_BAD_INPUT

    assert capsys.readouterr().err == f"genai-cost: error: {path}: cannot read (No such file or directory)\n"


def test_cli_as_a_process(tmp_path: Path) -> None:
    source = Path(genai_cost.__file__).parents[1]
    environment = {**os.environ, "PYTHONPATH": str(source)}
    command = [sys.executable, "-c", "import sys; from genai_cost.cli import main; sys.exit(main())", "batch-cost"]
    path = _write(tmp_path, OPENAI_LINES)

    done = subprocess.run([*command, path, "--json"], capture_output=True, text=True, check=False, env=environment)

    assert done.returncode == EXIT_OK, done.stderr
    assert Decimal(json.loads(done.stdout)["total"]["USD"]) == sum(_openai_expected().values())


# --- --export: the batch as spans and metrics over OTLP ------------------------------------


def _sum_points(metric: Any) -> dict[str, float]:
    """A cumulative histogram's sum per ``gen_ai.response.model``."""
    from tests.e2e.otlp import value

    sums: dict[str, float] = {}
    for point in metric.histogram.data_points:
        model = next(value(item.value) for item in point.attributes if item.key == GenAI.RESPONSE_MODEL)
        sums[model] = sums.get(model, 0.0) + point.sum
    return sums


def test_cli_export_sends_a_priced_span_per_request_and_the_cost_metric(tmp_path: Path) -> None:
    from tests.e2e.otlp import OtlpHttpReceiver, attributes, clean_env

    source = Path(genai_cost.__file__).parents[1]
    path = _write(tmp_path, OPENAI_LINES + ANTHROPIC_LINES)
    command = [sys.executable, "-c", "import sys; from genai_cost.cli import main; sys.exit(main())", "batch-cost"]
    with OtlpHttpReceiver() as receiver:
        environment = clean_env(
            PYTHONPATH=str(source),
            OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
        )
        done = subprocess.run(
            [*command, path, "--export"], capture_output=True, text=True, check=False, env=environment, timeout=120
        )
        assert done.returncode == EXIT_OK, done.stderr
        spans = receiver.received.spans()
        cost = receiver.received.metric("gen_ai.client.operation.cost")

    assert "exported 5 request spans under one batch span" in done.stdout
    (batch,) = [span for span in spans if span.name.startswith("batch ")]
    requests = [span for span in spans if span is not batch]
    assert attributes(batch)[BATCH_REQUESTS] == 5
    assert attributes(batch)[BATCH_FAILED_REQUESTS] == 5
    assert {span.parent_span_id for span in requests} == {batch.span_id}
    assert {attributes(span)[CUSTOM_ID] for span in requests} == {"a", "b", "c"}
    assert all(attributes(span)[Ours.PRICING_CONTEXT_PREFIX + "processing"] == "batch" for span in requests)

    by_model: dict[str, Decimal] = {}
    for span in requests:
        values = attributes(span)
        model = values[GenAI.RESPONSE_MODEL]
        by_model[model] = by_model.get(model, Decimal(0)) + Decimal(repr(values[GenAI.USAGE_COST_AMOUNT]))
    expected = {**_openai_expected(), CLAUDE: _anthropic_expected()}
    assert by_model.keys() == expected.keys()
    for model, amount in expected.items():  # each span carries its exact cost as a float
        assert abs(by_model[model] - amount) < Decimal("1e-15"), model
    assert abs(Decimal(repr(attributes(batch)[Ours.SUBTREE_COST_AMOUNT])) - sum(by_model.values())) < Decimal("1e-12")

    assert cost is not None
    assert _sum_points(cost) == pytest.approx({model: float(amount) for model, amount in by_model.items()})
