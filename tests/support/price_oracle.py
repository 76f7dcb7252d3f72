"""Expected costs from an independent oracle: genai-prices' own ``calc_price`` on the same usage.

Counts are given with genai-prices' names (``cache_write_tokens``, ``cache_write_1h_tokens``,
``cache_audio_read_tokens``, ``web_searches``, ...), which overlap as ours do: every input part
is inside ``input_tokens``, cached audio is inside both ``cache_read_tokens`` and
``input_audio_tokens``.
"""

from __future__ import annotations

import genai_prices

__all__ = ["oracle_cost"]


def oracle_cost(model: str, provider_id: str, **usage: int) -> float:
    """What genai-prices charges for ``usage`` of ``model`` at ``provider_id``, as the span's float."""
    price = genai_prices.calc_price(genai_prices.Usage(**usage), model, provider_id=provider_id)
    return float(price.total_price)
