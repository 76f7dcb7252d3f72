"""Which provider serves an API base URL, from the API URL patterns in the bundled table.

``genai-cost pricing sync`` writes genai-prices' ``api_pattern`` of every provider it maps into
the table's ``hosts`` header field; they are tried in order, as genai-prices does.
"""

from __future__ import annotations

import functools
import re

from genai_cost.pricing.loader import header_of
from genai_cost.pricing.table import BUNDLED_PATH
from genai_cost.semconv import Provider

__all__ = ["prepare", "provider_for_url"]

# genai-prices' patterns are prefixes ("https://api\.groq\.com"): a match must also end the host
# or a path segment, so "https://api.groq.com.example" is not Groq, unless the pattern itself
# stops after a "." or "/" ("https://api\.moonshot\." serves .ai and .cn).
_BOUNDARY = r"(?:(?<=[./])|(?=/|$))"

# Hosts genai-prices' patterns miss or group differently, detected as genai-cost always did;
# tried before the table's (Vertex AI's OpenAI-compatible endpoint is not the Gemini API).
_OWN_PATTERNS = (
    (r"https://api\.together\.ai", Provider.TOGETHER),
    (r"https://(?:[a-z0-9-]+-)?aiplatform\.googleapis\.com", Provider.GCP_VERTEX_AI),
)


@functools.lru_cache(maxsize=1)
def _api_patterns() -> tuple[tuple[re.Pattern[str], str], ...]:
    with open(BUNDLED_PATH, "rb") as file:
        hosts = header_of(file.readline()).get("hosts", ())
    patterns = [*_OWN_PATTERNS, *((host["api_pattern"], host["provider"]) for host in hosts)]
    return tuple((re.compile(f"(?:{pattern}){_BOUNDARY}"), provider) for pattern, provider in patterns)


def prepare() -> None:
    """Read and compile the patterns now (at instrument time, ~4 ms), not in the first call."""
    _api_patterns()


@functools.lru_cache(maxsize=256)
def provider_for_url(url: str) -> str | None:
    """The ``gen_ai.provider.name`` whose API ``url`` (lowercase, without port) is; ``None`` if unknown."""
    return next((provider for pattern, provider in _api_patterns() if pattern.match(url)), None)
