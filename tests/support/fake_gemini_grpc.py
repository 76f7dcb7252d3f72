"""The fake Gemini API over gRPC: ``google.ai.generativelanguage.v1beta.GenerativeService``.

google-generativeai's async client has no REST transport (over ``transport="rest"`` its awaits
fail inside the SDK), so its async calls reach this server the way they reach Google: protobuf
messages over gRPC. The replies are those of :mod:`tests.support.fake_google_genai` (same
scenarios, picked by the ``x-fake-scenario`` metadata key), parsed into the service's messages.
Errors end the call with the status the REST fake's HTTP code stands for.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
from google.ai import generativelanguage_v1beta as glm
from tests.support.fake_google_genai import SCENARIOS, generate_bodies

__all__ = ["FakeGeminiGrpcServer"]

_SERVICE = "google.ai.generativelanguage.v1beta.GenerativeService"
_STATUS = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
    500: grpc.StatusCode.INTERNAL,
}


def _replies(request: Any, context: grpc.ServicerContext, *, stream: bool) -> list[Any]:
    metadata = dict(context.invocation_metadata())
    scenario = SCENARIOS[str(metadata.get("x-fake-scenario", "default"))]
    if scenario.error_status is not None:
        context.abort(_STATUS[scenario.status], f"fake {scenario.error_status}")
    model = request.model.rpartition("/")[2]
    chunks = int(metadata.get("x-fake-chunks", "4"))
    bodies = generate_bodies(model, scenario, chunks, vertex=False, stream=stream)
    return [glm.GenerateContentResponse.from_json(json.dumps(body), ignore_unknown_fields=True) for body in bodies]


def _generate(request: Any, context: grpc.ServicerContext) -> Any:
    return _replies(request, context, stream=False)[0]


def _stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
    yield from _replies(request, context, stream=True)


class FakeGeminiGrpcServer:
    """``with FakeGeminiGrpcServer() as server:``; reach it on an insecure channel to ``server.target``."""

    def __init__(self) -> None:
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        options = {
            "request_deserializer": glm.GenerateContentRequest.deserialize,
            "response_serializer": glm.GenerateContentResponse.serialize,
        }
        handlers = {
            "GenerateContent": grpc.unary_unary_rpc_method_handler(_generate, **options),
            "StreamGenerateContent": grpc.unary_stream_rpc_method_handler(_stream, **options),
        }
        self._server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(_SERVICE, handlers),))
        self.target = f"127.0.0.1:{self._server.add_insecure_port('127.0.0.1:0')}"

    def __enter__(self) -> FakeGeminiGrpcServer:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop(grace=None)
