"""Small helpers shared by the providers' request and response extractors.

``count`` is :func:`genai_cost.usage.token_count`: every extractor reads token counts by the
one rule the processor and ``track_usage`` also apply.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from genai_cost.semconv import GenAI
from genai_cost.usage import MAX_COUNT
from genai_cost.usage import token_count as count

__all__ = [
    "count",
    "counts",
    "endpoint",
    "given",
    "number",
    "numbers",
    "read",
    "request_attributes",
    "response_attributes",
    "server_attributes",
    "strings",
]

_SENTINELS = frozenset({"NotGiven", "Omit", "_NotGiven", "_Omit"})
_ABSENT = object()


def given(value: Any) -> Any:
    """``value`` unless it is ``None`` or an SDK "not given" sentinel."""
    if value is None or type(value).__name__ in _SENTINELS:
        return None
    return value


def read(obj: Any, name: str) -> Any:
    """An attribute of an SDK object or a key of a plain dict; ``None`` when absent."""
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    value = getattr(obj, name, _ABSENT)
    if value is _ABSENT:
        # The ABC check is slow: only for an object that lacks the attribute (a non-dict Mapping).
        return obj.get(name) if isinstance(obj, Mapping) else None
    return value


def counts(obj: Any, fields: Iterable[tuple[str, str]]) -> dict[str, int]:
    """``{usage field: count}`` for each ``(usage field, key)`` whose ``key`` in ``obj`` (an SDK
    object or a dict, as :func:`read` reads them) holds a count by :func:`count`.

    One call per object rather than one per field: a response's usage has a dozen of them.
    """
    found: dict[str, int] = {}
    if obj is None:
        return found
    is_dict = isinstance(obj, dict)
    for field, key in fields:
        value = obj.get(key) if is_dict else getattr(obj, key, _ABSENT)
        if value is _ABSENT:
            value = read(obj, key)
        if value is None:
            continue
        if type(value) is int and 0 <= value <= MAX_COUNT:  # count()'s usual case, without the call
            found[field] = value
        elif (valid := count(value)) is not None:
            found[field] = valid
    return found


def number(value: Any) -> int | float | None:
    """A real int or float (never a bool, a sentinel or a string)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value


def strings(value: Any) -> list[str] | None:
    """A string or a sequence of strings as a list; ``None`` for anything else."""
    value = given(value)
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return list(value)
    return None


def server_attributes(url: Any, address_key: str, port_key: str) -> dict[str, Any]:
    """``server.address``/``server.port`` of an endpoint URL; userinfo and query are never kept."""
    try:
        parts = urlsplit(str(url))
        host, port = parts.hostname, parts.port
    except ValueError:
        return {}
    if not host:
        return {}
    attributes: dict[str, Any] = {address_key: host}
    if port is not None:
        attributes[port_key] = port
    elif parts.scheme in ("http", "https"):
        attributes[port_key] = 443 if parts.scheme == "https" else 80
    return attributes


@lru_cache(maxsize=64)
def _cached_server(base_url: str) -> tuple[tuple[str, Any], ...]:
    return tuple(server_attributes(base_url, GenAI.SERVER_ADDRESS, GenAI.SERVER_PORT).items())


def endpoint(provider: str, base_url: Any) -> dict[str, Any]:
    """``gen_ai.provider.name`` and, for a URL string, ``server.address``/``server.port``
    (cached per URL: a client's base URL rarely changes)."""
    attributes: dict[str, Any] = {GenAI.PROVIDER_NAME: provider}
    if isinstance(base_url, str):
        attributes.update(_cached_server(base_url))
    return attributes


def numbers(source: Any, pairs: Iterable[tuple[str, str]]) -> dict[str, int | float]:
    """``{attribute: value}`` for each ``(key, attribute)`` whose ``key`` in ``source`` is a real number.

    ``source`` is a call's kwargs, a request config object or a plain dict.
    """
    found: dict[str, int | float] = {}
    for key, attribute in pairs:
        value = read(source, key)
        # Most keys are absent: only a present value is checked further.
        if value is not None and (value := number(given(value))) is not None:
            found[attribute] = value
    return found


def response_attributes(response_id: Any, model: Any, finish_reasons: Sequence[str]) -> dict[str, Any]:
    """``gen_ai.response.id``/``model``/``finish_reasons`` for the values that are reported."""
    attributes: dict[str, Any] = {}
    if isinstance(response_id, str):
        attributes[GenAI.RESPONSE_ID] = response_id
    if isinstance(model, str):
        attributes[GenAI.RESPONSE_MODEL] = model
    if finish_reasons:
        attributes[GenAI.RESPONSE_FINISH_REASONS] = list(finish_reasons)
    return attributes


def request_attributes(operation: str, endpoint: Mapping[str, Any], model: Any) -> dict[str, Any]:
    """What every request's attributes start with: the operation, the endpoint and the requested model."""
    attributes: dict[str, Any] = {GenAI.OPERATION_NAME: operation, **endpoint}
    model = given(model)
    if isinstance(model, str):
        attributes[GenAI.REQUEST_MODEL] = model
    return attributes
