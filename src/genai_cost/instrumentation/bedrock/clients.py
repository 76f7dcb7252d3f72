"""Which botocore clients are traced: every ``bedrock-runtime`` (and ``bedrock-agent-runtime``)
client, from its creation on.

botocore builds a fresh client class on every ``create_client`` call, and its operation
methods (``client.converse(...)``) are the public API the app calls. So we wrap the public
``botocore.session.Session.create_client`` (boto3's ``Session.client`` and ``boto3.client``
go through it) and, for ``bedrock-runtime`` clients only, wrap those operation methods on the
new client (the same for ``bedrock-agent-runtime`` and its own methods). Clients of every other
service are returned untouched and cost nothing per call.

Why not the alternatives: ``BaseClient._make_api_call`` is private and runs for every call of
every AWS service; the ``before-call``/``after-call`` events would split one call across two
handlers (the span kept in the request context, made current by attach/detach in different
handlers) and the exception the app receives is raised after ``after-call``, so its type would
have to be reconstructed. Wrapping the operation method sees the app's exact arguments, result
and exception, and the shared lifecycle in ``_core`` applies unchanged.
Limitation: clients created before ``instrument()`` are not traced.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any
from weakref import WeakSet

import wrapt

from genai_cost.instrumentation._attributes import server_attributes
from genai_cost.instrumentation._core import Operation, Wrapper, safe
from genai_cost.semconv import GenAI, Provider

__all__ = ["AGENT_RUNTIME", "RUNTIME", "BedrockClients", "endpoint_attributes"]

logger = logging.getLogger(__name__)

RUNTIME = "bedrock-runtime"
AGENT_RUNTIME = "bedrock-agent-runtime"


@lru_cache(maxsize=64)
def _endpoint(url: str | None) -> tuple[tuple[str, Any], ...]:
    attributes = server_attributes(url, GenAI.SERVER_ADDRESS, GenAI.SERVER_PORT)
    return (*attributes.items(), (GenAI.PROVIDER_NAME, Provider.AWS_BEDROCK))


def endpoint_attributes(client: Any) -> dict[str, Any]:
    """``gen_ai.provider.name``, ``server.address`` and ``server.port`` of a Bedrock client."""
    url = getattr(getattr(client, "meta", None), "endpoint_url", None)
    return dict(_endpoint(url if isinstance(url, str) else None))


class BedrockClients:
    """Wraps the operation methods of each client of the given services created while active."""

    def __init__(
        self, operations: Mapping[str, Mapping[str, Operation]], wrapper: Callable[[Operation], Wrapper]
    ) -> None:
        """``operations``: service name (``bedrock-runtime``) -> client method -> how to read it;
        ``wrapper`` makes a method's wrapper of its operation (sync or async lifecycle)."""
        self._wrappers = {
            service: {method: wrapper(operation) for method, operation in by_method.items()}
            for service, by_method in operations.items()
        }
        self._clients: WeakSet[Any] = WeakSet()

    def create_client(
        self, wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """A wrapt wrapper for ``Session.create_client``."""
        client = wrapped(*args, **kwargs)
        safe(self._wrap, client)
        return client

    async def create_client_async(
        self, wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """A wrapt wrapper for aiobotocore's ``AioSession._create_client`` (awaited by its
        ``create_client()`` context manager)."""
        client = await wrapped(*args, **kwargs)
        safe(self._wrap, client)
        return client

    def _wrap(self, client: Any) -> None:
        wrappers = self._wrappers.get(client.meta.service_model.service_name)
        if wrappers is None:
            return
        for method, wrapper in wrappers.items():
            if hasattr(client, method):
                wrapt.wrap_function_wrapper(client, method, wrapper)
        self._clients.add(client)

    def restore(self) -> None:
        """Unwrap every client still alive: they behave as if never instrumented."""
        for client in list(self._clients):
            attributes = vars(client)
            for method in self._wrappers.get(client.meta.service_model.service_name, ()):
                if isinstance(attributes.get(method), wrapt.FunctionWrapper):
                    del attributes[method]
        self._clients.clear()
