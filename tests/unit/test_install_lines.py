"""The ``pip install`` lines genai-cost prints name where this copy came from, so they work as written."""

from __future__ import annotations

from typing import Any

import pytest

from genai_cost._install import pip_install_from


@pytest.mark.parametrize(
    ("direct_url", "extra", "command"),
    [
        pytest.param(None, None, "pip install genai-cost", id="index"),
        pytest.param(None, "sync", "pip install 'genai-cost[sync]'", id="index-extra"),
        pytest.param(
            {"url": "file:///src/genai-cost", "dir_info": {"editable": True}},
            "openai",
            "pip install -e '/src/genai-cost[openai]'",
            id="editable-checkout",
        ),
        pytest.param(
            {"url": "file:///home/me/my%20code/genai-cost", "dir_info": {"editable": True}},
            None,
            "pip install -e '/home/me/my code/genai-cost'",
            id="editable-checkout-path-with-space",
        ),
        pytest.param(
            {"url": "file:///src/genai-cost", "dir_info": {}},
            "sync",
            "pip install 'genai-cost[sync] @ file:///src/genai-cost'",
            id="checkout",
        ),
        pytest.param(
            {"url": "file:///dist/genai_cost-0.1.0-py3-none-any.whl", "archive_info": {}},
            None,
            "pip install 'genai-cost @ file:///dist/genai_cost-0.1.0-py3-none-any.whl'",
            id="wheel-file",
        ),
        pytest.param(
            {"url": "https://github.com/o/genai-cost.git", "vcs_info": {"vcs": "git", "commit_id": "ab12"}},
            "openai",
            "pip install 'genai-cost[openai] @ git+https://github.com/o/genai-cost.git@ab12'",
            id="vcs",
        ),
    ],
)
def test_the_command_names_the_source_this_copy_was_installed_from(
    direct_url: dict[str, Any] | None, extra: str | None, command: str
) -> None:
    assert pip_install_from(direct_url, extra) == command
