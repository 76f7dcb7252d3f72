"""genai-prices' data as the JSON document genai-prices publishes for its runtime updates.

genai-prices fetches ``prices/new_data/v2/data.json`` (``genai_prices.update_prices.DEFAULT_UPDATE_URL``):
an array of providers whose fields are its dataclasses' fields (``or``/``and`` for ``ClauseOr``/
``ClauseAnd``), model prices as plain objects of price keys, dates and times in ISO form. This
writes the installed package's data in that shape (the package ships it as Python objects, not
JSON); a test checks that genai-prices' own reader gives back the same objects.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date, time
from decimal import Decimal
from typing import Any

__all__ = ["installed_data_json", "to_raw"]

_RENAMED = {"or_": "or", "and_": "and"}


def to_raw(value: Any) -> Any:
    """``value`` (genai-prices objects) as JSON-ready data."""
    if isinstance(value, list):
        return [to_raw(item) for item in value]
    if isinstance(value, dict):
        return {key: to_raw(item) for key, item in value.items()}
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (date, time)):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = ((field.name, getattr(value, field.name)) for field in dataclasses.fields(value))
        return {
            _RENAMED.get(name, name): to_raw(item)
            for name, item in fields
            if item is not None and not name.startswith("_")
        }
    if type(value).__name__ == "ModelPrice":
        return {key: to_raw(item) for key, item in vars(value).items() if item is not None and not key.startswith("_")}
    return value


def installed_data_json() -> bytes:
    from genai_prices import data

    return json.dumps(to_raw(data.providers)).encode()
