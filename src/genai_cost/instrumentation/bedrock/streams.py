"""What every Bedrock result shares: its request id, and an event stream under one key."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from genai_cost.instrumentation._core import Invocation, Request
from genai_cost.instrumentation._stream import Accumulator, SyncStreamProxy
from genai_cost.semconv import GenAI

__all__ = ["event_stream_wrapper", "metadata_attributes"]


def metadata_attributes(result: Any) -> dict[str, Any]:
    """``aws.request_id`` from a botocore result's ``ResponseMetadata``."""
    metadata = result.get("ResponseMetadata") if isinstance(result, Mapping) else None
    request_id = metadata.get("RequestId") if isinstance(metadata, Mapping) else None
    return {GenAI.AWS_REQUEST_ID: request_id} if isinstance(request_id, str) else {}


def event_stream_wrapper(
    key: str,
    make_accumulator: Callable[[Mapping[str, Any]], Accumulator],
    proxy_type: Callable[[Any, Invocation, Accumulator], Any] = SyncStreamProxy,
) -> Callable[[Any, Invocation, Request], Any]:
    """A ``wrap_result`` that puts a proxy in place of the ``EventStream`` at ``result[key]``
    (``proxy_type``: aiobotocore's async ``AioEventStream`` has its own).

    The app gets the same dict (same keys, same ``ResponseMetadata``); the proxy iterates the
    same events and ends the span when the stream ends, is closed, fails or is dropped.
    """

    def wrap(result: Any, invocation: Invocation, request: Request) -> Any:
        stream = result.get(key) if isinstance(result, dict) else None
        if stream is None:
            return None
        result[key] = proxy_type(stream, invocation, make_accumulator(result))
        return result

    return wrap
