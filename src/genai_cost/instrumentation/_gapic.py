"""Gemini responses of Google's older GAPIC-generated SDKs (``google-generativeai``, ``vertexai``).

Their responses are proto-plus messages with the field names google-genai's pydantic models
have, but the enums are ints (``finish_reason.name`` is ``STOP``, its ``value`` 1) and an unset
count reads as 0. So a ``usage_metadata`` is handed to google-genai's
:func:`~genai_cost.instrumentation.google_genai.content.usage_from_gemini` as the fields the
server sent (the JSON the wire carried: set fields only, enums by name), and finish reasons are
read by enum name here.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from genai_cost.instrumentation._attributes import numbers, read, response_attributes, server_attributes
from genai_cost.instrumentation._core import Response
from genai_cost.instrumentation.google_genai.content import _CONFIG_NUMBERS, usage_from_gemini
from genai_cost.semconv import GenAI
from genai_cost.usage import Usage

__all__ = ["ChunkAccumulator", "config_attributes", "read_response", "server"]


def _sent_fields(message: Any) -> Any:
    """A proto-plus message as a dict of the fields that are set, as its JSON names them (snake_case);
    anything else as it is."""
    pb = getattr(type(message), "pb", None)
    if pb is None:
        return message
    from google.protobuf.json_format import MessageToDict  # present wherever a proto-plus message is

    return MessageToDict(pb(message), preserving_proto_field_name=True)


def _usage(metadata: Any) -> Usage | None:
    fields = _sent_fields(metadata)
    return usage_from_gemini(fields) if fields else None


def _message(response: Any) -> Any:
    """The proto-plus ``GenerateContentResponse`` of a ``vertexai`` ``GenerationResponse``, which
    exposes neither ``model_version`` nor ``response_id``; a ``google-generativeai`` response as it is."""
    return getattr(response, "_raw_response", response)


def _finish_reasons(candidates: Any, into: dict[int, str]) -> None:
    for position, candidate in enumerate(candidates or ()):
        name = getattr(read(candidate, "finish_reason"), "name", None)
        if isinstance(name, str) and name != "FINISH_REASON_UNSPECIFIED":
            index = read(candidate, "index")
            into[index if isinstance(index, int) else position] = name.lower()


def _response(message: Any, reasons: dict[int, str], usage: Usage | None) -> Response:
    response_id, model = read(message, "response_id"), read(message, "model_version")
    attributes = response_attributes(response_id or None, model or None, [reasons[i] for i in sorted(reasons)])
    return Response(usage, attributes)


def read_response(result: Any) -> Response:
    """A non-streamed response (or one chunk of a stream)."""
    message = _message(result)
    reasons: dict[int, str] = {}
    _finish_reasons(read(message, "candidates"), reasons)
    return _response(message, reasons, _usage(read(message, "usage_metadata")))


class ChunkAccumulator:
    """Folds streamed chunks into one :class:`Response`.

    Each chunk's ``usage_metadata`` is the stream's running total, so the latest one with token
    counts wins (Vertex AI's earlier chunks carry only ``traffic_type``). The chunk's message is
    kept, not read: the usage is read once, when the stream ends.
    """

    __slots__ = ("_last", "_reasons", "_usage")

    def __init__(self) -> None:
        self._last: Any = None
        self._reasons: dict[int, str] = {}
        self._usage: Any = None

    def add(self, chunk: Any) -> bool:
        message = self._last = _message(chunk)
        _finish_reasons(read(message, "candidates"), self._reasons)
        metadata = read(message, "usage_metadata")
        if metadata is not None and ("prompt_token_count" in metadata or "candidates_token_count" in metadata):
            self._usage = metadata
        return True

    def result(self) -> Response:
        return _response(self._last, self._reasons, None if self._usage is None else _usage(self._usage))


def config_attributes(*configs: Any) -> dict[str, Any]:
    """``gen_ai.request.*`` numbers of generation configs (dicts, config objects, proto-plus
    messages, ``vertexai``'s ``GenerationConfig``); a later config's values win."""
    attributes: dict[str, Any] = {}
    for config in configs:
        if config is not None:
            fields = _sent_fields(getattr(config, "_raw_generation_config", config))
            attributes.update(numbers(fields, _CONFIG_NUMBERS))
    return attributes


@lru_cache(maxsize=64)
def _server(endpoint: str) -> tuple[tuple[str, Any], ...]:
    url = endpoint if "://" in endpoint else f"https://{endpoint}"  # a gRPC target, or a REST host without scheme
    return tuple(server_attributes(url, GenAI.SERVER_ADDRESS, GenAI.SERVER_PORT).items())


def server(endpoint: Any) -> Mapping[str, Any]:
    """``server.address``/``server.port`` of an ``api_endpoint`` (``host``, ``host:port`` or a URL)."""
    return dict(_server(endpoint)) if isinstance(endpoint, str) and endpoint else {}
