"""The bundled table: coverage, legacy models at their prices, validity, and provably generated."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from genai_cost.pricing import PricingTable, calculate
from genai_cost.pricing.loader import dump_table, load_file, split_table
from genai_cost.pricing.table import BUNDLED_PATH
from genai_cost.usage import Usage

BUNDLED = Path(BUNDLED_PATH)
MILLION = Usage(input_tokens=1_000_000, output_tokens=1_000_000)


@pytest.fixture(scope="module")
def bundled() -> PricingTable:
    return PricingTable.load()


@pytest.mark.parametrize(
    ("model", "provider", "input_price", "output_price"),
    [
        pytest.param("gpt-3.5-turbo-0125", "openai", "0.50", "1.50", id="gpt-3.5-turbo-0125"),
        pytest.param("gpt-3.5-turbo-instruct", "openai", "1.50", "2.00", id="gpt-3.5-instruct"),
        pytest.param("text-davinci-003", "openai", "20", "20", id="text-davinci-003"),
        pytest.param("anthropic.claude-v2", "aws.bedrock", "8", "24", id="bedrock-claude-v2"),
        pytest.param("anthropic.claude-v2:1", "aws.bedrock", "8", "24", id="bedrock-claude-v2.1"),
        pytest.param("text-embedding-3-small", "openai", "0.02", "0", id="embedding-3-small"),
        pytest.param("text-embedding-3-large", "openai", "0.13", "0", id="embedding-3-large"),
        pytest.param("text-embedding-ada-002", "openai", "0.10", "0", id="embedding-ada-002"),
    ],
)
def test_legacy_and_embedding_models(
    bundled: PricingTable, model: str, provider: str, input_price: str, output_price: str
) -> None:
    entry = bundled.match(model, provider)
    assert entry is not None, model
    cost = calculate(MILLION, entry)
    assert cost.input_cost == Decimal(input_price)
    assert cost.output_cost == Decimal(output_price)


@pytest.mark.parametrize(
    ("model", "provider"),
    [
        pytest.param("gpt-4o-mini", "openai", id="openai"),
        pytest.param("gpt-4o", "azure.ai.openai", id="azure-openai"),
        pytest.param("claude-3-5-sonnet-20241022", "anthropic", id="anthropic"),
        pytest.param("us.anthropic.claude-3-5-sonnet-20241022-v2:0", "aws.bedrock", id="bedrock"),
        pytest.param("amazon.nova-pro-v1:0", "aws.bedrock", id="bedrock-nova"),
        pytest.param("gemini-1.5-pro", "gcp.gemini", id="gemini"),
        pytest.param("models/gemini-2.5-flash", "gcp.gemini", id="gemini-models-prefix"),
        pytest.param("gemini-2.5-pro", "gcp.vertex_ai", id="vertex-gemini"),
        pytest.param("claude-3-5-sonnet-20241022", "gcp.vertex_ai", id="vertex-claude"),
        pytest.param("mistral-large-latest", "mistral_ai", id="mistral"),
        pytest.param("command-r-plus", "cohere", id="cohere"),
        pytest.param("llama-3.1-8b-instant", "groq", id="groq"),
        pytest.param("deepseek-chat", "deepseek", id="deepseek"),
        pytest.param("grok-2-1212", "x_ai", id="xai"),
        pytest.param("openai/gpt-4o", "openrouter", id="openrouter"),
    ],
)
def test_covers_the_main_providers(bundled: PricingTable, model: str, provider: str) -> None:
    cost = bundled.cost(Usage(input_tokens=1000, output_tokens=1000), model, provider)
    assert cost is not None and cost.total > 0, (model, provider)


def test_gemini_long_prompt_tier(bundled: PricingTable) -> None:
    entry = bundled.match("gemini-1.5-pro", "gcp.gemini")
    assert entry is not None and entry.tiers
    small = calculate(Usage(input_tokens=1000), entry)
    large = calculate(Usage(input_tokens=entry.tiers[0].above_input_tokens + 1), entry)
    assert small.tier is None and large.tier == entry.tiers[0].above_input_tokens


def test_bundled_file_passes_full_validation() -> None:
    """Runtime skips the regex screening for bundled entries; this is where it happens."""
    entries = load_file(BUNDLED_PATH)
    assert len(entries) > 1000
    assert len(PricingTable.load()) == len(entries)


def test_provider_blocks_hold_exactly_their_providers_entries() -> None:
    """The lazy loader cuts the file per provider without decoding it; check every cut."""
    blocks = split_table(BUNDLED.read_bytes())
    assert blocks is not None
    decoded = {provider: json.loads(block) for provider, block in blocks.items()}
    assert all(raw.get("provider") == provider for provider, raws in decoded.items() for raw in raws)
    assert sum(map(len, decoded.values())) == len(load_file(BUNDLED_PATH))


@pytest.mark.parametrize(
    "entries",
    [
        pytest.param([{"id": "g"}, {"id": "a", "provider": "x"}, {"id": "b", "provider": "x"}], id="grouped"),
        pytest.param([{"id": "a", "provider": "x"}, {"id": "g"}, {"id": "b", "provider": "x"}], id="regrouped"),
        pytest.param([{"id": "a", "provider": "x"}], id="one"),
    ],
)
def test_dump_and_split_round_trip(entries: list[dict[str, str]]) -> None:
    blocks = split_table(dump_table({"notes": "n"}, entries).encode())
    assert blocks is not None
    by_provider = {provider: [raw["id"] for raw in json.loads(block)] for provider, block in blocks.items()}
    expected: dict[str | None, list[str]] = {}
    for raw in entries:
        expected.setdefault(raw.get("provider"), []).append(raw["id"])
    assert by_provider == {k: v for k, v in expected.items() if v}


def test_header_credits_genai_prices() -> None:
    header = json.loads(BUNDLED.read_text("utf-8"))
    assert "do not edit" in header["generated_by"]
    assert "genai-prices" in header["source"]
    assert "MIT" in header["license"] and "Pydantic" in header["license"]
    assert header["generated_at"].endswith("Z")


def test_committed_table_is_what_sync_generates() -> None:
    """Regenerating from the installed genai-prices reproduces the file byte for byte."""
    pytest.importorskip("genai_prices")
    from genai_cost.pricing.sync import generate, without_generated_at

    regenerated, _ = generate()
    committed = BUNDLED.read_text("utf-8")
    assert without_generated_at(regenerated) == without_generated_at(committed)
