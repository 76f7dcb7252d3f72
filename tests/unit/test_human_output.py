"""What people read: plain money (no exponent), counted nouns, one error prefix, described options."""

from __future__ import annotations

import argparse
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from genai_cost.cli import EXIT_BAD_INPUT, EXIT_OK, build_parser, main
from genai_cost.costing import Cost
from genai_cost.semconv import PricingStatus
from genai_cost.tracking import UsageTotals, record_call
from genai_cost.usage import Usage


def totals_of(*calls: tuple[str, Decimal]) -> UsageTotals:
    totals = UsageTotals()
    for model, amount in calls:
        usage = Usage(input_tokens=11, output_tokens=0)
        cost = Cost(PricingStatus.PRICED, amount, breakdown={"input": amount})
        record_call((totals,), provider="openai", model=model, usage=usage, cost=cost, succeeded=True)
    return totals


def test_by_model_shows_tiny_amounts_without_an_exponent_and_counts_requests() -> None:
    totals = totals_of(("text-embedding-3-small", Decimal("0.00000022")), ("gpt-4o", Decimal("0.0003600")))

    by_model = str(totals).split("By Model:\n")[1].splitlines()

    assert by_model[0] == "\topenai/text-embedding-3-small: 1 request, 11 prompt + 0 completion tokens, $0.00000022"
    assert by_model[1].endswith("1 request, 11 prompt + 0 completion tokens, $0.00036")


def test_langchains_total_line_is_kept_as_langchain_prints_it() -> None:
    assert "Total Cost (USD): $2.2e-07" in str(totals_of(("m", Decimal("0.00000022"))))


def test_json_amounts_are_exact_without_trailing_zeros() -> None:
    data = json.loads(totals_of(("gpt-4o", Decimal("0.0003600")), ("o4-mini", Decimal("0.005000"))).to_json())

    assert data["total_cost"] == "0.00536"
    assert [m["cost"] for m in data["by_model"]] == ["0.00036", "0.005"]
    assert [m["cost_breakdown"]["input"] for m in data["by_model"]] == ["0.00036", "0.005"]


def test_validate_counts_one_entry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "prices.json"
    path.write_text('{"entries": [{"id": "mine", "match": {"exact": "m"}, "input": 1, "output": 2}]}')

    assert main(["pricing", "validate", str(path)]) == EXIT_OK
    assert capsys.readouterr().out == f"{path}: ok (1 entry)\n"


def test_a_usage_error_has_one_prefix_and_names_the_subcommands_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "--model", "gpt-4o"]) == EXIT_BAD_INPUT
    assert capsys.readouterr().err == (
        "genai-cost: error: the following arguments are required: --input-tokens, --output-tokens "
        "(see genai-cost cost --help)\n"
    )


def test_every_option_of_every_command_is_described() -> None:
    for command, parser in _subparsers(build_parser()):
        for action in parser._actions:  # type: ignore[attr-defined]
            if action.nargs == argparse.PARSER:  # the list of subcommands, each with its help
                continue
            assert action.help, f"genai-cost {command}: {action.option_strings or action.dest} has no help"


def test_cost_help_says_that_input_tokens_include_cached_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "--help"]) == EXIT_OK
    assert re.search(r"--input-tokens N\s+all input tokens, cached ones included", capsys.readouterr().out)


@pytest.mark.parametrize(
    ("counts", "warning"),
    [
        pytest.param(
            ["--input-tokens", "10", "--cache-read-tokens", "20"],
            "--cache-read-tokens (20) exceeds --input-tokens (10), which includes it",
            id="cache-read",
        ),
        pytest.param(
            ["--input-tokens", "10", "--cache-read-tokens", "6", "--cache-creation-tokens", "6"],
            "--cache-read-tokens + --cache-creation-tokens (12) exceed --input-tokens (10), which includes them",
            id="cache-read-and-creation",
        ),
        pytest.param(
            ["--input-tokens", "10", "--reasoning-tokens", "9"],
            "--reasoning-tokens (9) exceeds --output-tokens (5), which includes it",
            id="reasoning",
        ),
    ],
)
def test_cost_warns_when_parts_exceed_their_whole(
    counts: list[str], warning: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cost", "--model", "gpt-4o", "--output-tokens", "5", *counts]) == EXIT_OK
    assert capsys.readouterr().err == f"genai-cost: warning: {warning} (see genai-cost cost --help)\n"


def test_cost_with_consistent_counts_warns_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["cost", "--model", "gpt-4o", "--input-tokens", "10", "--output-tokens", "5", "--cache-read-tokens", "10"]
    assert main(args) == EXIT_OK
    assert capsys.readouterr().err == ""


def test_pricing_list_has_a_header_with_units(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pricing", "list", "--provider", "openai"]) == EXIT_OK
    header, first, *_ = capsys.readouterr().out.splitlines()

    assert re.split(r"\s{2,}", header) == ["PROVIDER", "$/1M IN", "$/1M OUT", "FROM", "ID"]
    assert first.startswith("openai ")


def _subparsers(parser: object) -> list[tuple[str, object]]:
    """(command path, parser) for every subcommand, depth first."""
    found = []
    for action in parser._actions:  # type: ignore[attr-defined]
        choices = getattr(action, "choices", None)
        if not isinstance(choices, dict):  # an option's values (--exporter-protocol grpc|http)
            continue
        for name, sub in choices.items():
            if hasattr(sub, "_actions"):
                found.append((name, sub))
                found.extend((f"{name} {child}", p) for child, p in _subparsers(sub))
    return found
