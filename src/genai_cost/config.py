"""Environment variables, read once into one frozen :class:`Settings`.

Bad values never raise inside an app: they are logged once, naming the variable, and the
default is used instead.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field

from genai_cost.semconv import LatestMetrics

__all__ = ["ATTRIBUTION_KEY", "COMPAT_VALUES", "ENV", "Settings", "get_settings"]

logger = logging.getLogger(__name__)


class ENV:
    """Names of the environment variables genai-cost reads."""

    PRICING_FILE = "GENAI_COST_PRICING_FILE"
    PRICING_URL = "GENAI_COST_PRICING_URL"
    PRICING_REFRESH = "GENAI_COST_PRICING_REFRESH"
    MODEL_ALIASES = "GENAI_COST_MODEL_ALIASES"
    OPENAI_STREAM_USAGE = "GENAI_COST_OPENAI_STREAM_USAGE"
    TRUST_LITELLM_COST = "GENAI_COST_TRUST_LITELLM_COST"
    STRICT = "GENAI_COST_STRICT"
    ROLLUP_MAX_TRACES = "GENAI_COST_ROLLUP_MAX_TRACES"
    METRIC_MODEL_LIMIT = "GENAI_COST_METRIC_MODEL_LIMIT"
    CAPTURE_MESSAGE_CONTENT = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
    COMPAT = "GENAI_COST_COMPAT"
    SEMCONV_STABILITY_OPT_IN = "OTEL_SEMCONV_STABILITY_OPT_IN"
    ATTRIBUTION_BAGGAGE = "GENAI_COST_ATTRIBUTION_BAGGAGE"
    METRIC_ATTRIBUTION = "GENAI_COST_METRIC_ATTRIBUTION"
    METRIC_ATTRIBUTION_LIMIT = "GENAI_COST_METRIC_ATTRIBUTION_LIMIT"


COMPAT_VALUES = ("langfuse", "openinference", "logfire", "legacy-semconv")
"""What ``GENAI_COST_COMPAT`` may list: backends whose attribute names are added next to ours."""


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})
_CONTENT_MODES = frozenset({"NO_CONTENT", "SPAN_ONLY", "EVENT_ONLY", "SPAN_AND_EVENT"})


@dataclass(frozen=True)
class Settings:
    """Configuration of genai-cost; build it with :func:`get_settings` or by hand in tests."""

    pricing_files: tuple[str, ...] = ()
    """Pricing files layered over the bundled table, later ones winning."""
    pricing_url: str | None = None
    """Where to refresh prices from at runtime (an http(s) URL or a file path); ``None``: never."""
    pricing_refresh: float = 3600.0
    """Seconds between two checks of :attr:`pricing_url`."""
    model_aliases: Mapping[str, str] = field(default_factory=dict)
    """Deployment or alias name -> model name used for pricing (e.g. Azure deployments)."""
    openai_stream_usage: bool = False
    """Ask OpenAI streams for a final usage chunk when the app did not, and hide it from the app."""
    trust_litellm_cost: bool = False
    """Record LiteLLM's own ``response_cost`` (``source=provider``) instead of pricing LiteLLM calls locally."""
    strict: bool = False
    """Fail at startup on bad pricing configuration instead of falling back to the bundled table."""
    rollup_max_traces: int = 10_000
    """How many traces the cost rollup tracks at once; the oldest are dropped beyond it."""
    metric_model_limit: int = 1_000
    """Distinct model names per metric before further ones are folded into ``_other``."""
    capture_message_content: bool = False
    """Record prompt and completion text on spans (off by default, as the semconv asks)."""
    compat: tuple[str, ...] = ()
    """``GENAI_COST_COMPAT`` values (:data:`COMPAT_VALUES`): other backends' names to add."""
    latest_semconv: bool = False
    """``OTEL_SEMCONV_STABILITY_OPT_IN`` lists ``gen_ai_latest_experimental``: the GenAI
    conventions' unreleased metrics are recorded too."""
    attribution_baggage: tuple[str, ...] = ()
    """Baggage entries read as attribution keys (``tenant``, ``feature``, ...)."""
    metric_attribution: tuple[str, ...] = ()
    """Attribution keys that metrics carry (``agent`` included: the name of an ancestor agent span)."""
    metric_attribution_limit: int = 100
    """Distinct values per attribution key on metrics before further ones are folded into ``_other``."""


def _warn(name: str, value: str, expected: str) -> None:
    logger.warning("genai-cost: ignoring %s=%r: expected %s", name, value, expected)


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    _warn(name, raw, "true or false")
    return default


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        _warn(name, raw, "a positive integer")
        return default
    return value


def _positive_seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (0 < value < math.inf):
        _warn(name, raw, "a positive number of seconds")
        return default
    return value


def _pricing_url(env: Mapping[str, str], name: str) -> str | None:
    """An http(s) URL, or a file path (``file://`` URLs become their path)."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    scheme, sep, rest = raw.partition("://")
    if not sep:
        return raw
    scheme = scheme.lower()
    if scheme in ("http", "https") and rest:
        return raw
    if scheme == "file" and rest:
        return urllib.parse.unquote(urllib.parse.urlsplit(raw).path)
    _warn(name, raw, "an http(s) URL or a file path")
    return None


def _aliases(env: Mapping[str, str], name: str) -> dict[str, str]:
    raw = env.get(name, "")
    aliases: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        alias, sep, model = item.partition("=")
        if not sep or not alias.strip() or not model.strip():
            _warn(name, item, "comma-separated alias=model pairs")
            continue
        aliases[alias.strip().lower()] = model.strip()
    return aliases


def _capture_content(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name)
    if raw is None:
        return False
    value = raw.strip()
    if value.upper() in _CONTENT_MODES:
        return value.upper() != "NO_CONTENT"
    return _bool(env, name, False)


def _compat(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    names: list[str] = []
    for item in filter(None, (part.strip().lower() for part in env.get(name, "").split(","))):
        if item not in COMPAT_VALUES:
            _warn(name, item, "a comma-separated list of " + ", ".join(COMPAT_VALUES))
        elif item not in names:
            names.append(item)
    return tuple(names)


def _opted_in(env: Mapping[str, str], name: str, value: str) -> bool:
    return value in (part.strip() for part in env.get(name, "").split(","))


ATTRIBUTION_KEY = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
"""What an attribution key may be: it becomes part of span attribute and metric label names."""


def _keys(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    keys: list[str] = []
    for key in filter(None, (part.strip() for part in env.get(name, "").split(","))):
        if ATTRIBUTION_KEY.fullmatch(key) is None:
            _warn(name, key, "comma-separated keys of letters, digits, '_', '.' or '-'")
        elif key not in keys:
            keys.append(key)
    return tuple(keys)


def settings_from_env(env: Mapping[str, str]) -> Settings:
    """Build :class:`Settings` from a mapping of environment variables."""
    files = tuple(p for p in env.get(ENV.PRICING_FILE, "").split(os.pathsep) if p.strip())
    return Settings(
        pricing_files=files,
        pricing_url=_pricing_url(env, ENV.PRICING_URL),
        pricing_refresh=_positive_seconds(env, ENV.PRICING_REFRESH, Settings.pricing_refresh),
        model_aliases=_aliases(env, ENV.MODEL_ALIASES),
        openai_stream_usage=_bool(env, ENV.OPENAI_STREAM_USAGE, False),
        trust_litellm_cost=_bool(env, ENV.TRUST_LITELLM_COST, False),
        strict=_bool(env, ENV.STRICT, False),
        rollup_max_traces=_positive_int(env, ENV.ROLLUP_MAX_TRACES, Settings.rollup_max_traces),
        metric_model_limit=_positive_int(env, ENV.METRIC_MODEL_LIMIT, Settings.metric_model_limit),
        capture_message_content=_capture_content(env, ENV.CAPTURE_MESSAGE_CONTENT),
        compat=_compat(env, ENV.COMPAT),
        latest_semconv=_opted_in(env, ENV.SEMCONV_STABILITY_OPT_IN, LatestMetrics.OPT_IN),
        attribution_baggage=_keys(env, ENV.ATTRIBUTION_BAGGAGE),
        metric_attribution=_keys(env, ENV.METRIC_ATTRIBUTION),
        metric_attribution_limit=_positive_int(env, ENV.METRIC_ATTRIBUTION_LIMIT, Settings.metric_attribution_limit),
    )


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from ``os.environ`` on first use."""
    return settings_from_env(os.environ)
