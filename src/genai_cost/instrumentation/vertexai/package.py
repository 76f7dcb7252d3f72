"""The SDK versions the Vertex AI SDK instrumentor supports; the ``vertexai`` extra reuses them."""

from __future__ import annotations

__all__ = ["_instruments"]

# ``vertexai.preview.generative_models`` arrived in 1.38, ``vertexai.generative_models`` in 1.42;
# Google deprecated both in June 2025, and 2.x still ships them.
_instruments = ("google-cloud-aiplatform >= 1.38",)
