"""Model name normalization: the names to try, most literal first, for one raw model name.

Always applied (in this order): lowercase and trim, user aliases (e.g. an Azure deployment
name -> its model), Bedrock ARNs -> the model or inference-profile id, the ``models/`` prefix
of Google APIs. Then, each step only tried when the previous names match nothing: Bedrock
regional inference-profile prefixes (``us.``, ``eu.``, ``apac.``, ``global.``, ``us-gov.``,
``jp.``, ``au.``, ``ca.``, ``in.``), Bedrock version suffixes (``-20240307-v1:0`` ->
``-20240307``, ``:1``), the Bedrock vendor prefix (``anthropic.``), and compact dates
rewritten dashed (``-20250219`` -> ``-2025-02-19``). Trying the literal name first keeps
prices that differ by region (Bedrock regional endpoints cost more than global ones) apart.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["MAX_MODEL_NAME_LENGTH", "candidate_names", "strip_date_suffix"]

MAX_MODEL_NAME_LENGTH = 256
"""Longest model name that genai-cost remembers (lookup cache, metric attributes, warnings).

The server controls the response's model name, and nothing bounds its size: a long-running
process must not keep thousands of 100 KB names. Real names are far shorter: the longest
match in the bundled table has 86 characters, a Bedrock inference-profile ARN about 100.
A longer name is still priced (by exact and prefix entries; regexes never run on it), but it
is looked up again on every call instead of being cached, it is ``_other`` on metrics, and
warnings keep only its first characters.
"""

# Patterns are strings: ``re`` compiles (and caches) one the first time a name needs it, and
# each step checks cheaply first, so common names cost no regex compilation at all.
_ARN = r"arn:aws[a-z-]*:bedrock:[^:]*:[^:]*:(?:foundation-model|inference-profile)/(?P<model>[^/]+)"
_REGION_PREFIX = r"(?:us-gov|us|eu|apac|global|jp|au|ca|in)\.(?=[a-z0-9-]+\.)"
_VERSION_SUFFIX = r"(?:(?<=\d)-v\d+)?:\d+$"
_VENDOR_PREFIX = r"(?:anthropic|amazon|meta|mistral|cohere|ai21|deepseek|openai|qwen|writer|google|nvidia)\."
_COMPACT_DATE = r"-(20\d\d)(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?=$|[-:@])"
_DATE_SUFFIX = r"-(?:\d{4}-\d{2}-\d{2}|\d{8}|\d{4})$"


def candidate_names(model: str, aliases: Mapping[str, str]) -> tuple[str, ...]:
    """Names to match for ``model``, most literal first, without duplicates."""
    name = model.strip().lower()
    name = aliases.get(name, name).strip().lower()
    if name.startswith("arn:"):
        arn = re.fullmatch(_ARN, name)
        name = arn.group("model") if arn else name
    name = name.removeprefix("models/")
    names = [name]
    for step in (_strip_region, _strip_version, _strip_vendor, _dash_compact_date):
        name = step(name)
        if name and name not in names:
            names.append(name)
    return tuple(names)


def strip_date_suffix(name: str) -> str:
    """``name`` without a trailing ``-YYYY-MM-DD``, ``-YYYYMMDD`` or ``-MMDD`` version date."""
    return re.sub(_DATE_SUFFIX, "", name) if name[-1:].isdigit() else name


def _strip_region(name: str) -> str:
    found = re.match(_REGION_PREFIX, name) if name.count(".") >= 2 else None
    return name[found.end() :] if found else name


def _strip_version(name: str) -> str:
    return re.sub(_VERSION_SUFFIX, "", name, count=1) if ":" in name else name


def _strip_vendor(name: str) -> str:
    found = re.match(_VENDOR_PREFIX, name) if "." in name else None
    return name[found.end() :] if found else name


def _dash_compact_date(name: str) -> str:
    return re.sub(_COMPACT_DATE, r"-\1-\2-\3", name) if "-20" in name else name
