"""``GenerativeModel.generate_content(_async)``: the request, and the streamed response object.

A streamed call returns a ``GenerateContentResponse`` that has already read the first chunk and
is iterated (any number of times: later loops replay the chunks read so far, then go on) or
``resolve()``-d; its proxy feeds the chunks of each loop to the accumulator and ends the call
when a loop reaches the end.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

from genai_cost.instrumentation._attributes import read, request_attributes
from genai_cost.instrumentation._core import Invocation, Request, Telemetry
from genai_cost.instrumentation._gapic import ChunkAccumulator, config_attributes, server
from genai_cost.instrumentation._stream import _StreamProxy
from genai_cost.instrumentation.google_genai.endpoint import model_name
from genai_cost.semconv import GenAI, Operation, Provider

__all__ = ["read_request", "wrap_stream"]

_DEFAULT_ENDPOINT = "generativelanguage.googleapis.com"


def _endpoint() -> Any:
    """The ``api_endpoint`` given to ``genai.configure()``, which the SDK keeps in its client manager."""
    manager = getattr(sys.modules.get("google.generativeai.client"), "_client_manager", None)
    config = getattr(manager, "client_config", None)
    options = config.get("client_options") if isinstance(config, dict) else None
    return read(options, "api_endpoint") or _DEFAULT_ENDPOINT


def read_request(instance: Any, telemetry: Telemetry, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
    """The model the ``GenerativeModel`` was made for, its default generation config and the call's."""
    endpoint = {GenAI.PROVIDER_NAME: Provider.GCP_GEMINI, **server(_endpoint())}
    attributes = request_attributes(Operation.GENERATE_CONTENT, endpoint, model_name(read(instance, "model_name")))
    # The SDK merges the call's generation_config over the model's.
    attributes.update(config_attributes(read(instance, "_generation_config"), kwargs.get("generation_config")))
    return Request(attributes, kwargs)


class _Stream(_StreamProxy):
    def __iter__(self) -> Iterator[Any]:
        try:
            for chunk in self.__wrapped__:  # the SDK's own loop, which replays what it has read
                self._self_deliver(chunk)
                yield chunk
        except GeneratorExit:  # the app left the loop; it may loop again or resolve() later
            raise
        except BaseException as error:
            self._self_fail(error)
            raise
        self._self_end()

    def resolve(self) -> None:
        for _chunk in self:
            pass


class _AsyncStream(_StreamProxy):
    async def __aiter__(self) -> AsyncIterator[Any]:
        try:
            async for chunk in self.__wrapped__:
                self._self_deliver(chunk)
                yield chunk
        except GeneratorExit:
            raise
        except BaseException as error:
            self._self_fail(error)
            raise
        self._self_end()

    async def resolve(self) -> None:
        async for _chunk in self:
            pass


def wrap_stream(result: Any, invocation: Invocation, request: Request) -> Any:
    """A proxy of the response of a ``stream=True`` call; None (record it now) otherwise."""
    if not request.kwargs.get("stream"):
        return None
    invocation.first_chunk()  # the SDK returns once it has the first chunk
    proxy_type = _AsyncStream if hasattr(result, "__aiter__") else _Stream
    return proxy_type(result, invocation, ChunkAccumulator())
