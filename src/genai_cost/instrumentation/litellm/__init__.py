"""``LiteLLMInstrumentor``: one span per ``litellm.completion``/``acompletion``/``embedding``/``aembedding``.

The span names the provider LiteLLM routed the call to (``gen_ai.provider.name``) and its model.
It is priced by genai-cost's table from the usage LiteLLM reports, or, with
``GENAI_COST_TRUST_LITELLM_COST=true``, at LiteLLM's own ``response_cost`` (``source=provider``).

**One span per logical call.** LiteLLM calls some providers through SDKs we instrument too (the
``openai`` SDK for OpenAI and Azure). The LiteLLM layer is kept and the inner SDK layer is
suppressed (:data:`~genai_cost.instrumentation._core.INSIDE_COVERING_CALL`), because only the
outer layer sees the call as the app made it: every provider (most go over LiteLLM's own HTTP
code, where no inner layer exists), its retries and fallbacks as one call, and LiteLLM's cost.

The functions are wrapped where the app finds them, on the ``litellm`` package: LiteLLM's
internal calls (``acompletion`` running ``completion`` in an executor) go through
``litellm.main``'s own names and are not traced twice. An app that imported the function
itself (``from litellm import completion``) before ``instrument()`` keeps the unwrapped one.
"""

from __future__ import annotations

import sys
from functools import partial
from types import ModuleType
from typing import Any, cast

import wrapt

from genai_cost.instrumentation._base import GenAIInstrumentor, unwrap_ours, wrap_once
from genai_cost.instrumentation._core import Invocation, Operation, Request, Telemetry, async_wrapper, sync_wrapper
from genai_cost.instrumentation._stream import AsyncStreamProxy, SyncStreamProxy
from genai_cost.instrumentation.litellm.calls import (
    LiteLLMChunks,
    read_chat_request,
    read_embeddings_request,
    with_litellm_cost,
)
from genai_cost.instrumentation.litellm.package import _instruments
from genai_cost.instrumentation.openai.chat import read_completion_response
from genai_cost.instrumentation.openai.embeddings import read_embeddings_response
from genai_cost.semconv import Provider

__all__ = ["LiteLLMInstrumentor"]

_FUNCTIONS = ("completion", "acompletion", "embedding", "aembedding")


def _stream_wrapper(proxy_type: Any, capture_content: bool, trust: bool) -> Any:
    """Proxies a ``stream=True`` result: LiteLLM's ``CustomStreamWrapper`` is both iterable and
    async-iterable, so the function called (``completion`` or ``acompletion``) says which."""

    def wrap(result: Any, invocation: Invocation, request: Request) -> Any:
        if request.kwargs.get("stream") is not True:
            return None
        chunks = LiteLLMChunks(request.options is True, capture_content=capture_content, trust=trust)
        return proxy_type(result, invocation, chunks)

    return wrap


def _operations(settings: Any) -> dict[str, tuple[Operation, bool]]:
    """LiteLLM function -> (how to read it, is async)."""
    capture, trust = settings.capture_message_content, settings.trust_litellm_cost

    def read_chat(result: Any) -> Any:
        return with_litellm_cost(read_completion_response(result, capture_content=capture), result, trust=trust)

    def read_embeddings(result: Any) -> Any:
        return with_litellm_cost(read_embeddings_response(result), result, trust=trust)

    embeddings = Operation(read_embeddings_request, read_embeddings)
    sync_chat = Operation(read_chat_request, read_chat, _stream_wrapper(SyncStreamProxy, capture, trust))
    async_chat = Operation(read_chat_request, read_chat, _stream_wrapper(AsyncStreamProxy, capture, trust))
    operations = ((sync_chat, False), (async_chat, True), (embeddings, False), (embeddings, True))
    return dict(zip(_FUNCTIONS, operations, strict=True))


class LiteLLMInstrumentor(GenAIInstrumentor):
    """Instruments ``litellm``'s top-level completion and embedding functions."""

    _instruments = _instruments
    _providers = (Provider.OPENAI, Provider.ANTHROPIC, Provider.AWS_BEDROCK, Provider.GCP_GEMINI)

    def _instrument(self, **kwargs: Any) -> None:
        telemetry = self._active = self._telemetry(**kwargs)
        wrapt.register_post_import_hook(partial(self._wrap_module, telemetry), "litellm")

    def _wrap_module(self, telemetry: Telemetry, module: ModuleType) -> None:
        if self._active is not telemetry:  # uninstrumented (or instrumented anew) since
            return
        for name, (operation, is_async) in _operations(telemetry.settings).items():
            if callable(getattr(module, name, None)):
                factory = async_wrapper if is_async else sync_wrapper
                wrap_once(cast(type, module), name, factory(telemetry, operation))

    def _uninstrument(self, **kwargs: Any) -> None:
        self._active = None
        module = sys.modules.get("litellm")
        for name in _FUNCTIONS if module is not None else ():
            unwrap_ours(cast(type, module), name)
