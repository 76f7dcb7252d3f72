"""Matching: precedence, provider fallbacks and aliases, activation dates, normalization, cache."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, ClassVar

import pytest

from genai_cost.pricing import PricingTable
from genai_cost.pricing.normalize import candidate_names
from genai_cost.pricing.table import CACHE_SIZE

TableFactory = Callable[..., PricingTable]


def _e(entry_id: str, match: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"id": entry_id, "match": match, "input": 1, **fields}


PRECEDENCE = [
    _e("regex", {"regex": "gpt-4.*"}),
    _e("short-prefix", {"prefix": "gpt-4"}),
    _e("long-prefix", {"prefix": "gpt-4o"}),
    _e("exact", {"exact": "gpt-4o-mini"}),
    _e("any-of", {"any": [{"exact": "gpt-4o-nano"}, {"regex": "nano-.*"}]}),
]


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        pytest.param("gpt-4o-mini", "exact", id="exact-beats-prefix-and-regex"),
        pytest.param("GPT-4o-Mini", "exact", id="case-insensitive"),
        pytest.param("gpt-4o-2024-08-06", "long-prefix", id="longest-prefix-wins"),
        pytest.param("gpt-4-turbo", "short-prefix", id="prefix-beats-regex"),
        pytest.param("gpt-4", "short-prefix", id="prefix-equal-to-name"),
        pytest.param("gpt-4o-nano", "any-of", id="any-of-ranks-by-the-leaf-that-matched"),
        pytest.param("nano-1", "any-of", id="any-of-regex-leaf"),
        pytest.param("gpt-3.5", None, id="no-match"),
    ],
)
def test_match_precedence(make_table: TableFactory, model: str, expected: str | None) -> None:
    entry = make_table(*PRECEDENCE).match(model)
    assert (entry and entry.id) == expected


def test_regex_is_anchored(make_table: TableFactory) -> None:
    table = make_table(_e("r", {"regex": "o1"}))
    assert table.match("o1") is not None
    assert table.match("o1-mini") is None
    assert table.match("xo1") is None


def test_regex_never_runs_on_overlong_names(make_table: TableFactory) -> None:
    table = make_table(_e("r", {"regex": "a.*"}), _e("p", {"prefix": "a"}, provider="openai"))
    assert table.match("a" * 300) is not None  # the prefix entry (any provider)
    assert table.match("a" * 300).id == "p"  # type: ignore[union-attr]


PROVIDERS = [
    _e("generic", {"exact": "m"}),
    _e("openai", {"exact": "m"}, provider="openai"),
    _e("anthropic-claude", {"prefix": "claude-3"}, provider="anthropic"),
    _e("bedrock-claude", {"exact": "anthropic.claude-3-haiku"}, provider="aws.bedrock"),
    _e("gemini", {"exact": "gemini-pro"}, provider="gcp.gemini"),
    _e("openai-only", {"exact": "gpt-x"}, provider="openai"),
    _e("router-model", {"exact": "openai/gpt-r"}, provider="openrouter"),
    _e("openai-r", {"exact": "gpt-r"}, provider="openai"),
    _e("azure-x", {"exact": "gpt-x"}, provider="azure.ai.openai"),
]


@pytest.mark.parametrize(
    ("model", "provider", "expected"),
    [
        pytest.param("m", "openai", "openai", id="provider-specific-beats-generic"),
        pytest.param("m", "anthropic", "generic", id="generic-when-provider-has-none"),
        pytest.param("m", None, "generic", id="no-provider-generic-first"),
        pytest.param("gpt-x", None, "openai-only", id="no-provider-then-provider-order"),
        pytest.param("gpt-x", "azure.ai.openai", "azure-x", id="reseller-own-entry-first"),
        pytest.param("gpt-r", "azure.ai.openai", "openai-r", id="azure-falls-back-to-openai"),
        pytest.param("gpt-r", "azure", "openai-r", id="alias-azure"),
        pytest.param("claude-3-opus", "aws.bedrock", "anthropic-claude", id="bedrock-to-anthropic"),
        pytest.param("claude-3-opus", "bedrock", "anthropic-claude", id="alias-bedrock"),
        pytest.param("claude-3-opus", "gcp.vertex_ai", "anthropic-claude", id="vertex-to-anthropic"),
        pytest.param("gemini-pro", "gcp.vertex_ai", "gemini", id="vertex-to-gemini"),
        pytest.param("gemini-pro", "vertex_ai", "gemini", id="alias-vertex_ai"),
        pytest.param("gemini-pro", "google", "gemini", id="alias-google"),
        pytest.param("openai/gpt-r", "openrouter", "router-model", id="openrouter-own-entry"),
        pytest.param("openai/gpt-x", "openrouter", "openai-only", id="openrouter-vendor-prefix"),
        pytest.param("gpt-x", "gcp.gemini", None, id="no-fallback-across-vendors"),
        pytest.param("gpt-x", "some-proxy", "openai-only", id="unknown-provider-as-none"),
    ],
)
def test_provider_precedence_and_fallbacks(
    make_table: TableFactory, model: str, provider: str | None, expected: str | None
) -> None:
    entry = make_table(*PROVIDERS).match(model, provider)
    assert (entry and entry.id) == expected


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        pytest.param("x-ai", "x_ai", id="x-ai"),
        pytest.param("xai", "x_ai", id="xai"),
        pytest.param("mistral", "mistral_ai", id="mistral"),
        pytest.param("gemini", "gcp.gemini", id="gemini"),
        pytest.param("aws", "aws.bedrock", id="aws"),
        pytest.param("OpenAI", "openai", id="case"),
    ],
)
def test_provider_aliases(make_table: TableFactory, alias: str, canonical: str) -> None:
    table = make_table(_e("target", {"exact": "m"}, provider=canonical))
    assert table.match("m", alias).id == "target"  # type: ignore[union-attr]


def _at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=timezone.utc)


HISTORY = [
    _e("v1", {"exact": "m"}, valid_from="2024-01-01"),
    _e("v2", {"exact": "m"}, valid_from="2024-06-01"),
    _e("v3", {"exact": "m"}, valid_from="2025-01-01T12:00:00Z"),
]


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        pytest.param("2023-12-31T23:59:59", None, id="before-history-unknown-no-backfill"),
        pytest.param("2024-01-01T00:00:00", "v1", id="at-valid_from-inclusive"),
        pytest.param("2024-05-31T23:59:59", "v1", id="old-price-until-change"),
        pytest.param("2024-06-01T00:00:00", "v2", id="new-price-from-change"),
        pytest.param("2025-01-01T11:59:59", "v2", id="datetime-valid_from"),
        pytest.param("2030-01-01T00:00:00", "v3", id="newest"),
    ],
)
def test_activation_dates(make_table: TableFactory, at: str, expected: str | None) -> None:
    entry = make_table(*HISTORY).match("m", at=_at(at))
    assert (entry and entry.id) == expected


def test_naive_call_time_is_utc(make_table: TableFactory) -> None:
    entry = make_table(*HISTORY).match("m", at=datetime(2024, 6, 1))
    assert entry is not None and entry.id == "v2"


def test_future_only_entry_falls_through_to_less_specific(make_table: TableFactory) -> None:
    table = make_table(_e("future", {"exact": "m-1"}, valid_from="2030-01-01"), _e("family", {"prefix": "m-"}))
    assert table.match("m-1", at=_at("2025-01-01")).id == "family"  # type: ignore[union-attr]
    assert table.match("m-1", at=_at("2031-01-01")).id == "future"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("model", "entry_match", "extra"),
    [
        pytest.param("models/gemini-1.5-pro", {"exact": "gemini-1.5-pro"}, {}, id="models-prefix"),
        pytest.param(
            "us.anthropic.claude-3-haiku",
            {"exact": "anthropic.claude-3-haiku"},
            {},
            id="bedrock-us-prefix",
        ),
        pytest.param("eu.meta.llama3", {"exact": "meta.llama3"}, {}, id="bedrock-eu-prefix"),
        pytest.param("apac.amazon.nova-pro", {"exact": "amazon.nova-pro"}, {}, id="bedrock-apac"),
        pytest.param("global.anthropic.claude-x", {"exact": "anthropic.claude-x"}, {}, id="bedrock-global"),
        pytest.param(
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-v2",
            {"exact": "anthropic.claude-v2"},
            {},
            id="foundation-model-arn",
        ),
        pytest.param(
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku",
            {"exact": "anthropic.claude-3-haiku"},
            {},
            id="inference-profile-arn",
        ),
        pytest.param(
            "anthropic.claude-3-haiku-20240307-v1:0",
            {"exact": "claude-3-haiku-20240307"},
            {},
            id="bedrock-version-and-vendor",
        ),
        pytest.param(
            "claude-3-7-sonnet-20250219",
            {"exact": "claude-3-7-sonnet-2025-02-19"},
            {},
            id="compact-date-dashed",
        ),
        pytest.param("gpt-4o-2024-08-06", {"exact": "gpt-4o"}, {"strip_date_suffix": True}, id="date-dashed"),
        pytest.param("gpt-4o-20240806", {"exact": "gpt-4o"}, {"strip_date_suffix": True}, id="date-compact"),
        pytest.param("gpt-4-0613", {"exact": "gpt-4"}, {"strip_date_suffix": True}, id="date-mmdd"),
        pytest.param("my-deployment", {"exact": "gpt-4o"}, {}, id="user-alias"),
        pytest.param("My-Deployment", {"exact": "gpt-4o"}, {}, id="user-alias-case"),
    ],
)
def test_normalization(
    make_table: TableFactory, model: str, entry_match: dict[str, Any], extra: dict[str, Any]
) -> None:
    table = make_table(_e("target", entry_match, **extra), aliases={"my-deployment": "gpt-4o"})
    entry = table.match(model)
    assert entry is not None and entry.id == "target"


def test_date_suffix_only_for_entries_that_allow_it(make_table: TableFactory) -> None:
    assert make_table(_e("target", {"exact": "gpt-4o"})).match("gpt-4o-2024-08-06") is None


def test_literal_name_is_tried_before_the_regional_prefix_is_stripped(
    make_table: TableFactory,
) -> None:
    table = make_table(
        _e("regional", {"exact": "us.anthropic.claude-x"}, provider="aws.bedrock"),
        _e("plain", {"exact": "anthropic.claude-x"}, provider="aws.bedrock"),
    )
    assert table.match("us.anthropic.claude-x", "aws.bedrock").id == "regional"  # type: ignore[union-attr]
    assert table.match("eu.anthropic.claude-x", "aws.bedrock").id == "plain"  # type: ignore[union-attr]


def test_candidate_names_order() -> None:
    assert candidate_names("US.Anthropic.Claude-3-Haiku-20240307-v1:0", {}) == (
        "us.anthropic.claude-3-haiku-20240307-v1:0",
        "anthropic.claude-3-haiku-20240307-v1:0",
        "anthropic.claude-3-haiku-20240307",
        "claude-3-haiku-20240307",
        "claude-3-haiku-2024-03-07",
    )


def test_lookups_are_cached_per_provider_and_model(make_table: TableFactory) -> None:
    table = make_table(*PROVIDERS)
    first = table.match("m", "openai")
    assert table._cache[("openai", "m")]
    assert table.match("m", "openai") is first
    assert ("anthropic", "m") not in table._cache


def test_cache_is_bounded(make_table: TableFactory) -> None:
    table = make_table(_e("p", {"prefix": "m"}))
    for i in range(CACHE_SIZE + 10):
        table.match(f"m{i}")
    assert len(table._cache) == CACHE_SIZE
    assert table.match("m0") is not None


class _Renamed(PricingTable):
    """A lookup of its own: every model is priced as ``m``, and each call's arguments are kept."""

    asked: ClassVar[list[tuple[Any, ...]]] = []

    def match(self, model: str, provider: str | None = None, at: datetime | None = None, *context: Any) -> Any:
        self.asked.append((model, provider, at, *context))
        return super().match("m", provider, at, *context)


@pytest.mark.parametrize("context", [None, {"service_tier": "flex"}], ids=["no-context", "context"])
def test_a_subclass_overriding_match_is_asked_when_calls_are_priced(context: dict[str, str] | None) -> None:
    from genai_cost.costing import Costing
    from genai_cost.metrics import Instruments
    from genai_cost.usage import Usage

    table = _Renamed.load(include_bundled=False, entries=[_e("m", {"exact": "m"})])
    _Renamed.asked = []
    started = datetime(2026, 3, 1, tzinfo=timezone.utc)
    cost = Costing(Instruments(model_limit=10), table).price(
        Usage(input_tokens=1_000_000), model="any-name", provider=None, started_ns=int(started.timestamp() * 1e9),
        context=context,
    )  # fmt: skip

    assert (cost.status, cost.entry_id, cost.amount) == ("priced", "m", 1)
    assert _Renamed.asked == [("any-name", None, started, *([context] if context else []))]
