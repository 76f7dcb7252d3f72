"""``VertexAIInstrumentor``: spans, token usage, cost and metrics for the ``vertexai`` SDK's Gemini models.

Covers ``GenerativeModel.generate_content`` and ``generate_content_async`` and
``ChatSession.send_message`` and ``send_message_async``, streamed or not, in
``vertexai.generative_models`` and ``vertexai.preview.generative_models`` (subclasses of the same
classes, wrapped once where the methods are defined), as ``gcp.vertex_ai``. A chat calls the
model's private methods rather than ``generate_content``: the two rows never nest.
"""

from __future__ import annotations

from genai_cost.instrumentation._base import GenAIInstrumentor, Wrap
from genai_cost.instrumentation._core import Operation
from genai_cost.instrumentation._gapic import read_response
from genai_cost.instrumentation.vertexai.model import read_chat_request, read_request, wrap_stream
from genai_cost.instrumentation.vertexai.package import _instruments

__all__ = ["VertexAIInstrumentor"]

_MODULE = "vertexai.generative_models._generative_models"
_GENERATE = Operation(read_request, read_response, wrap_stream)
_CHAT = Operation(read_chat_request, read_response, wrap_stream)


class VertexAIInstrumentor(GenAIInstrumentor):
    """Instruments ``vertexai.generative_models`` of ``google-cloud-aiplatform``."""

    _instruments = _instruments
    _wraps = (
        Wrap(_MODULE, "_GenerativeModel", "generate_content", _GENERATE, has_async_twin=False),
        Wrap(_MODULE, "_GenerativeModel", "generate_content_async", _GENERATE, has_async_twin=False, is_async=True),
        Wrap(_MODULE, "ChatSession", "send_message", _CHAT, has_async_twin=False),
        Wrap(_MODULE, "ChatSession", "send_message_async", _CHAT, has_async_twin=False, is_async=True),
    )
