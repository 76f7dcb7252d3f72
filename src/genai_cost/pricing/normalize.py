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

__all__ = ["candidate_names", "strip_date_suffix"]

_ARN = re.compile(r"arn:aws[a-z-]*:bedrock:[^:]*:[^:]*:(?:foundation-model|inference-profile)/(?P<model>[^/]+)")
_REGION_PREFIX = re.compile(r"(?:us-gov|us|eu|apac|global|jp|au|ca|in)\.(?=[a-z0-9-]+\.)")
_VERSION_SUFFIX = re.compile(r"(?:(?<=\d)-v\d+)?:\d+$")
_VENDOR_PREFIX = re.compile(
    r"(?:anthropic|amazon|meta|mistral|cohere|ai21|deepseek|openai|qwen|writer|google|nvidia)\."
)
_COMPACT_DATE = re.compile(r"-(20\d\d)(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?=$|[-:@])")
_DATE_SUFFIX = re.compile(r"-(?:\d{4}-\d{2}-\d{2}|\d{8}|\d{4})$")


def candidate_names(model: str, aliases: Mapping[str, str]) -> tuple[str, ...]:
    """Names to match for ``model``, most literal first, without duplicates."""
    name = model.strip().lower()
    name = aliases.get(name, name).strip().lower()
    arn = _ARN.fullmatch(name)
    if arn:
        name = arn.group("model")
    name = name.removeprefix("models/")
    names = [name]
    for step in (_strip_region, _strip_version, _strip_vendor, _dash_compact_date):
        name = step(name)
        if name and name not in names:
            names.append(name)
    return tuple(names)


def strip_date_suffix(name: str) -> str:
    """``name`` without a trailing ``-YYYY-MM-DD``, ``-YYYYMMDD`` or ``-MMDD`` version date."""
    return _DATE_SUFFIX.sub("", name)


def _strip_region(name: str) -> str:
    found = _REGION_PREFIX.match(name)
    return name[found.end() :] if found else name


def _strip_version(name: str) -> str:
    return _VERSION_SUFFIX.sub("", name, count=1)


def _strip_vendor(name: str) -> str:
    found = _VENDOR_PREFIX.match(name)
    return name[found.end() :] if found else name


def _dash_compact_date(name: str) -> str:
    return _COMPACT_DATE.sub(r"-\1-\2-\3", name)
