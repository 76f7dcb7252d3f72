"""The SDK versions the Bedrock instrumentor supports (reused by the ``bedrock`` extra)."""

from __future__ import annotations

__all__ = ["_instruments"]

# invoke_model arrived with Bedrock (botocore 1.31.57); converse/converse_stream are wrapped
# when the installed botocore has them (1.34.116 and later).
_instruments = ("botocore >= 1.31.57",)
