"""Names longer than MAX_MODEL_NAME_LENGTH: still priced, never remembered."""

from __future__ import annotations

from collections.abc import Callable

from genai_cost.metrics import OTHER_MODEL, ModelNameLimiter
from genai_cost.pricing import PricingTable
from genai_cost.pricing.normalize import MAX_MODEL_NAME_LENGTH

TableFactory = Callable[..., PricingTable]


def test_overlong_names_are_priced_but_not_cached(make_table: TableFactory) -> None:
    table = make_table({"id": "p", "match": {"prefix": "gpt-4o"}, "input": 1})
    longest = "gpt-4o-" + "x" * (MAX_MODEL_NAME_LENGTH - 7)
    overlong = longest + "x"

    assert table.match(longest).id == table.match(overlong).id == "p"  # type: ignore[union-attr]
    assert (None, longest) in table._cache
    assert (None, overlong) not in table._cache


def test_limiter_folds_overlong_names_without_keeping_them() -> None:
    limit = ModelNameLimiter(10)
    longest = "m" * MAX_MODEL_NAME_LENGTH

    assert limit("m" * (MAX_MODEL_NAME_LENGTH + 1)) == OTHER_MODEL
    assert limit(longest) == longest
    assert limit._seen == {longest}
