"""The ``pip install`` line to print for genai-cost, the way this copy of it was installed.

Until genai-cost is released, ``pip install genai-cost`` finds nothing; a copy installed from
a checkout or a wheel file records where it came from (PEP 610 ``direct_url.json``), and the
line printed names that source, so that it works as written.
"""

from __future__ import annotations

import json
import shlex
from importlib import metadata
from typing import Any
from urllib.parse import unquote, urlparse

__all__ = ["pip_install"]

_DISTRIBUTION = "genai-cost"


def pip_install(extra: str | None = None) -> str:
    """``pip install ...`` for genai-cost (with ``extra``) from where this copy was installed."""
    try:
        direct_url = metadata.distribution(_DISTRIBUTION).read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        direct_url = None
    return pip_install_from(json.loads(direct_url) if direct_url else None, extra)


def pip_install_from(direct_url: dict[str, Any] | None, extra: str | None = None) -> str:
    """The command for a copy installed from ``direct_url`` (``None``: from a package index)."""
    extras = f"[{extra}]" if extra else ""
    source = direct_url or {}
    url = source.get("url")
    if not isinstance(url, str):
        return f"pip install {shlex.quote(_DISTRIBUTION + extras)}"
    if source.get("dir_info", {}).get("editable") is True and url.startswith("file:"):
        return f"pip install -e {shlex.quote(unquote(urlparse(url).path) + extras)}"
    vcs = source.get("vcs_info", {})
    if "vcs" in vcs:  # PEP 610 keeps the scheme prefix and the commit apart from the URL
        url = f"{vcs['vcs']}+{url}@{vcs['commit_id']}" if "commit_id" in vcs else f"{vcs['vcs']}+{url}"
    return f"pip install {shlex.quote(f'{_DISTRIBUTION}{extras} @ {url}')}"
