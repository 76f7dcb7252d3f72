"""``GoogleGenerativeAIInstrumentor``: spans, token usage, cost and metrics for ``google-generativeai``.

Covers ``GenerativeModel.generate_content`` and ``generate_content_async``, streamed or not, on
the Gemini API (``gcp.gemini``). ``ChatSession.send_message(_async)`` (automatic function calling
included) calls them, so each request it sends gets its one span there.
"""

from __future__ import annotations

from genai_cost.instrumentation._base import GenAIInstrumentor, Wrap
from genai_cost.instrumentation._core import Operation
from genai_cost.instrumentation._gapic import read_response
from genai_cost.instrumentation.google_generativeai.model import read_request, wrap_stream
from genai_cost.instrumentation.google_generativeai.package import _instruments

__all__ = ["GoogleGenerativeAIInstrumentor"]

_MODULE = "google.generativeai.generative_models"
_GENERATE = Operation(read_request, read_response, wrap_stream)


class GoogleGenerativeAIInstrumentor(GenAIInstrumentor):
    """Instruments the ``google-generativeai`` SDK (``import google.generativeai as genai``)."""

    _instruments = _instruments
    _wraps = (
        Wrap(_MODULE, "GenerativeModel", "generate_content", _GENERATE, has_async_twin=False),
        Wrap(_MODULE, "GenerativeModel", "generate_content_async", _GENERATE, has_async_twin=False, is_async=True),
    )
