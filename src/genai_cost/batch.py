"""The cost of a batch job from its results file, at batch prices.

Reads an OpenAI Batch output file (one ``{"custom_id", "response": {"status_code", "body"},
"error"}`` per line) or an Anthropic Message Batches results file (one ``{"custom_id",
"result": {"type", "message"}}`` per line). Each succeeded request is read by the same
extractor the instrumentors use for that response body and priced by the pricing table in the
context ``processing=batch`` (plus what the response says it was served), one request at a
time: prompt-size tiers and price dates apply per request, as on the bill. Failed, errored,
canceled and expired requests are counted apart and never priced.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from genai_cost._text import plain_decimal
from genai_cost.instrumentation._attributes import read
from genai_cost.instrumentation._core import Response
from genai_cost.instrumentation.anthropic.messages import read_message_response
from genai_cost.instrumentation.openai.chat import read_completion_response
from genai_cost.instrumentation.openai.embeddings import read_embeddings_response
from genai_cost.instrumentation.openai.responses import read_responses_response
from genai_cost.pricing.table import PricingTable
from genai_cost.semconv import GenAI, Operation, PricingStatus, Provider
from genai_cost.usage import Usage

__all__ = [
    "BATCH_CONTEXT",
    "BatchCost",
    "BatchRequest",
    "BatchResultsError",
    "ModelCost",
    "price_batch_results",
    "read_batch_results",
]

BATCH_CONTEXT: Mapping[str, str] = {"processing": "batch"}
"""The pricing context of a batch request, as genai-prices names it."""

_OPERATIONS: Mapping[str, str] = {
    "chat.completion": Operation.CHAT,
    "text_completion": Operation.TEXT_COMPLETION,
    "response": Operation.CHAT,
    "list": Operation.EMBEDDINGS,
}
_OPENAI_BODIES: Mapping[str, Callable[[Any], Response]] = {
    "chat.completion": read_completion_response,
    "text_completion": read_completion_response,
    "response": read_responses_response,
    "list": read_embeddings_response,  # an embeddings response
}


class BatchResultsError(ValueError):
    """A results file that cannot be read; the message is one line naming the line number."""


@dataclass(frozen=True, slots=True)
class ModelCost:
    """The succeeded requests of one model and what they cost."""

    provider: str
    model: str
    requests: int = 0
    usage: Usage = field(default_factory=Usage)
    """The requests' token counts added up."""
    cost: Decimal | None = Decimal(0)
    """``None`` when no price entry matches the model (its requests are not priced)."""
    currency: str = "USD"

    @property
    def status(self) -> str:
        return PricingStatus.UNKNOWN_MODEL if self.cost is None else PricingStatus.PRICED

    def to_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "model": self.model,
            "status": self.status,
            "requests": self.requests,
            "input_tokens": self.usage.input_tokens or 0,
            "cache_read_tokens": self.usage.cache_read_tokens or 0,
            "cache_creation_tokens": self.usage.cache_creation_tokens or 0,
            "output_tokens": self.usage.output_tokens or 0,
            "currency": None if self.cost is None else self.currency,
            "cost": None if self.cost is None else plain_decimal(self.cost),
        }


@dataclass(frozen=True, slots=True)
class BatchCost:
    """What a batch results file cost, by model."""

    models: tuple[ModelCost, ...]
    """One row per (provider, model), in order of first appearance."""
    failed: Mapping[str, int]
    """Requests that produced no billed response, by reason (``errored``, ``expired``,
    ``http 500``, an OpenAI error code, ...)."""

    @property
    def requests(self) -> int:
        """Succeeded requests."""
        return sum(row.requests for row in self.models)

    @property
    def totals(self) -> dict[str, Decimal]:
        """The cost of the priced requests by currency."""
        totals: dict[str, Decimal] = {}
        for row in self.models:
            if row.cost is not None:
                totals[row.currency] = totals.get(row.currency, Decimal(0)) + row.cost
        return totals

    @property
    def unknown_models(self) -> tuple[ModelCost, ...]:
        return tuple(row for row in self.models if row.cost is None)

    def to_json(self) -> dict[str, Any]:
        return {
            "context": dict(BATCH_CONTEXT),
            "models": [row.to_json() for row in self.models],
            "requests": self.requests,
            "failed": dict(self.failed),
            "total": {currency: plain_decimal(amount) for currency, amount in self.totals.items()},
            "unknown_models": [{"provider": row.provider, "model": row.model} for row in self.unknown_models],
        }


@dataclass(frozen=True, slots=True)
class BatchRequest:
    """One succeeded request of a results file, read as the instrumentors read a response."""

    line: int
    """Its line number in the file."""
    custom_id: str | None
    """The id the submitter gave it."""
    provider: str
    operation: str
    """Its ``gen_ai.operation.name``."""
    model: str
    response: Response
    """Its usage (never empty) and response attributes."""
    created: datetime | None
    """When the response was created, when the body says (OpenAI's do)."""

    @property
    def usage(self) -> Usage:
        assert self.response.usage is not None  # checked when read
        return self.response.usage

    @property
    def context(self) -> dict[str, str]:
        """Batch processing and what else the response says it was served (an OpenAI body's
        ``service_tier`` may say ``batch`` too: that is the processing, not a tier)."""
        served = {
            key: value
            for key, value in (self.response.pricing_context or {}).items()
            if not (key == "service_tier" and value == "batch")
        }
        return {**served, **BATCH_CONTEXT}


def read_batch_results(path_or_lines: str | os.PathLike[str] | Iterable[str | bytes]) -> Iterator[BatchRequest | str]:
    """Each request of an OpenAI Batch output file or an Anthropic Message Batches results file:
    a :class:`BatchRequest` when it succeeded, else the reason it failed (``errored``,
    ``http 500``, an OpenAI error code, ...). Raises :class:`BatchResultsError` for a line that
    is not a result of either API."""
    for number, line in _numbered_lines(path_or_lines):
        yield _read_line(number, line)


def price_batch_results(
    path_or_lines: str | os.PathLike[str] | Iterable[str | bytes],
    *,
    pricing: PricingTable | None = None,
    at: datetime | None = None,
) -> BatchCost:
    """Price an OpenAI Batch output file or an Anthropic Message Batches results file.

    ``path_or_lines`` is a path (a ``str`` is always a path) or the file's lines. Each
    succeeded request is priced at batch rates (pricing context ``processing=batch``) with
    ``pricing`` (default: :meth:`PricingTable.default`), at the prices in force when its
    response was created: OpenAI bodies say; for results that do not (Anthropic's), at ``at``
    (when the batch ran; default now). Raises
    :class:`BatchResultsError` for a line that is not a result of either API.
    """
    table = pricing if pricing is not None else PricingTable.default()
    rows: dict[tuple[str, str], ModelCost] = {}
    failed: Counter[str] = Counter()
    for request in read_batch_results(path_or_lines):
        if isinstance(request, str):
            failed[request] += 1
        else:
            _add(rows, table, at, request)
    return BatchCost(tuple(rows.values()), dict(failed))


def _numbered_lines(path_or_lines: str | os.PathLike[str] | Iterable[str | bytes]) -> Iterator[tuple[int, str]]:
    if isinstance(path_or_lines, (str, os.PathLike)):
        try:
            with open(path_or_lines, "rb") as file:
                yield from _non_blank(file)
        except OSError as exc:
            raise BatchResultsError(f"cannot read ({exc.strerror or exc})") from None
    else:
        yield from _non_blank(path_or_lines)


def _non_blank(lines: Iterable[str | bytes]) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(lines, start=1):
        try:
            text = line.decode("utf-8") if isinstance(line, bytes) else line
        except UnicodeDecodeError:
            raise BatchResultsError(f"line {number}: not UTF-8") from None
        if text.strip():
            yield number, text


def _read_line(number: int, line: str) -> BatchRequest | str:
    """The succeeded response of one line, or the reason the request failed."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise BatchResultsError(f"line {number}: not JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise BatchResultsError(f"line {number}: JSON nested too deeply") from None
    if not isinstance(record, dict):
        raise BatchResultsError(f"line {number}: expected a JSON object, got {type(record).__name__}")
    if "result" in record:
        return _anthropic_result(number, record)
    if "response" in record or "error" in record:
        return _openai_result(number, record)
    raise BatchResultsError(
        f"line {number}: neither an OpenAI Batch output line ('response'/'error') "
        "nor an Anthropic Message Batches result ('result')"
    )


def _openai_result(number: int, record: dict[str, Any]) -> BatchRequest | str:
    """``{"response": {"status_code", "body"}, "error"}``; a request that failed has an
    ``error`` (``{"code", "message"}``) or a non-200 status and is not billed."""
    error = record.get("error")
    if error:
        code = read(error, "code")
        return code if isinstance(code, str) and code else "error"
    response = record.get("response")
    status = read(response, "status_code")
    if status != 200:
        return f"http {status}"
    body = read(response, "body")
    kind = read(body, "object")
    reader = _OPENAI_BODIES.get(kind) if isinstance(kind, str) else None
    if reader is None:
        raise BatchResultsError(f"line {number}: unrecognized response body (object {kind!r})")
    created = read(body, "created")
    created = _created_at(created if created is not None else read(body, "created_at"))
    return _request(number, record, Provider.OPENAI, _OPERATIONS[kind], reader(body), created)


def _anthropic_result(number: int, record: dict[str, Any]) -> BatchRequest | str:
    """``{"type": "succeeded", "message": Message}`` or ``errored``/``canceled``/``expired``."""
    result = record["result"]
    kind = read(result, "type")
    if kind != "succeeded":
        if not isinstance(kind, str) or not kind:
            raise BatchResultsError(f"line {number}: result without a type")
        return kind
    message = read(result, "message")
    if not isinstance(message, dict):
        raise BatchResultsError(f"line {number}: succeeded result without a message")
    return _request(number, record, Provider.ANTHROPIC, Operation.CHAT, read_message_response(message), None)


def _request(
    number: int, record: dict[str, Any], provider: str, operation: str, response: Response, created: datetime | None
) -> BatchRequest:
    model = response.attributes.get(GenAI.RESPONSE_MODEL)
    if not isinstance(model, str) or not model:
        raise BatchResultsError(f"line {number}: response without a model")
    if response.usage is None or response.usage.is_empty:
        raise BatchResultsError(f"line {number}: response without usage")
    custom_id = record.get("custom_id")
    custom_id = custom_id if isinstance(custom_id, str) else None
    return BatchRequest(number, custom_id, provider, operation, model, response, created)


def _add(
    rows: dict[tuple[str, str], ModelCost], table: PricingTable, at: datetime | None, request: BatchRequest
) -> None:
    key = (request.provider, request.model)
    row = rows.get(key, ModelCost(request.provider, request.model))
    cost, currency = row.cost, row.currency
    if cost is not None:  # a model without a price stays without one
        breakdown = table.cost(request.usage, request.model, request.provider, request.created or at, request.context)
        cost, currency = (None, currency) if breakdown is None else (cost + breakdown.total, breakdown.currency)
    usage = row.usage + request.usage
    rows[key] = replace(row, requests=row.requests + 1, usage=usage, cost=cost, currency=currency)


def _created_at(created: object) -> datetime | None:
    if not isinstance(created, (int, float)) or isinstance(created, bool) or created <= 0:
        return None
    try:
        return datetime.fromtimestamp(created, timezone.utc)
    except (OverflowError, ValueError, OSError):  # a timestamp no clock reaches: price as of now
        return None
