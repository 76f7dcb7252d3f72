"""Instructions each instrumentation adds per call, counted by callgrind: a figure load cannot move.

``python -m benchmarks.instructions [--configs genai-cost,openai-v2] [--calls 200]`` runs the
worker's ``loop`` task (set-up, 20 warm-up calls, then N calls of one operation, nothing timed)
under ``valgrind --tool=callgrind`` twice, with N calls and with none, for each configuration
and for the uninstrumented baseline of its environment (the same environments as
``python -m benchmarks``). Instructions per call = difference / N; added = minus the baseline.
The worker freezes the heap after the warm-up (see ``worker._loop``) so that a full garbage
collection landing inside the counted calls does not decide the figure.
CPU time on a shared machine moves by tens of percent from run to run; instruction counts
repeat to a fraction of a percent, so they settle comparisons that CPU time leaves open.
They do not see cache misses or the cost of each instruction, so they complement the CPU-time
figures of ``RESULTS.md`` rather than replace them.

Needs ``valgrind`` (Debian: ``apt-get install valgrind``); about a minute per run.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.peers import (
    CONFIGURATIONS,
    ENVIRONMENTS,
    REPO,
    compile_sources,
    default_venv_root,
    ensure_environment,
    worker_command,
    worker_env,
)

__all__ = ["main"]

_OPERATIONS = ("chat", "stream")
_COLLECTED = re.compile(r"Collected : (\d+)")


def _instructions(python: Path, config: str, operation: str, count: int) -> tuple[int, int]:
    """(instructions of the whole run, chunks per stream)."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    command += worker_command(python, "loop", config, {"operation": operation, "count": count})
    done = subprocess.run(
        command, cwd=REPO, env=worker_env(), capture_output=True, text=True, check=False, timeout=3600
    )
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"loop {config} {operation} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    chunks = json.loads(done.stdout.strip().splitlines()[-1])["result"]["chunks"]
    return int(found.group(1)), int(chunks)


def _per_call(python: Path, config: str, operation: str, calls: int) -> tuple[float, int]:
    idle, _ = _instructions(python, config, operation, 0)
    busy, chunks = _instructions(python, config, operation, calls)
    return (busy - idle) / calls, chunks


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.instructions", description=__doc__)
    parser.add_argument("--configs", default="genai-cost,openai-v2", help="comma-separated, baselines added")
    parser.add_argument("--calls", type=int, default=100, help="calls per counted run")
    parser.add_argument("--jobs", type=int, default=2, help="valgrind runs at once")
    parser.add_argument("--venvs", type=Path, default=None)
    parser.add_argument("--output", type=Path, default=None, help="also write the table here (markdown)")
    arguments = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        parser.error("valgrind is not installed (Debian: apt-get install valgrind)")

    configs = [CONFIGURATIONS[name] for name in arguments.configs.split(",")]
    environments = {config.environment for config in configs}
    root = arguments.venvs or default_venv_root()
    pythons = {name: ensure_environment(ENVIRONMENTS[name], root=root) for name in sorted(environments)}
    for python in pythons.values():
        compile_sources(python)
    runs = [(f"baseline@{name}", "baseline", name) for name in sorted(environments)]
    runs += [(config.name, config.name, config.environment) for config in configs]
    jobs = [(label, config, env, operation) for label, config, env in runs for operation in _OPERATIONS]
    with ThreadPoolExecutor(arguments.jobs) as pool:
        counted = dict(
            zip(
                [(label, operation) for label, _, _, operation in jobs],
                pool.map(lambda job: _per_call(pythons[job[2]], job[1], job[3], arguments.calls), jobs),
                strict=True,
            )
        )

    command = "python -m benchmarks.instructions " + " ".join(sys.argv[1:] if argv is None else argv)
    lines = [
        "# Instructions per call",
        "",
        f"Generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `{command.strip()}`"
        f" (callgrind; {arguments.calls} calls counted after 20 warm-up calls, heap frozen after the warm-up).",
        "",
        "| configuration | chat | added | stream (chunks) | added | added per chunk |",
        "|---|---|---|---|---|---|",
    ]
    added: dict[str, tuple[float, float]] = {}
    for label, _, env in runs:
        chat, _ = counted[label, "chat"]
        stream, chunks = counted[label, "stream"]
        base_chat, _ = counted[f"baseline@{env}", "chat"]
        base_stream, _ = counted[f"baseline@{env}", "stream"]
        if label.startswith("baseline@"):
            lines.append(f"| {label} | {chat:,.0f} | — | {stream:,.0f} ({chunks}) | — | — |")
            continue
        added[label] = (chat - base_chat, stream - base_stream)
        per_chunk = (stream - base_stream) / chunks
        lines.append(
            f"| {label} | {chat:,.0f} | {chat - base_chat:,.0f} | {stream:,.0f} ({chunks}) "
            f"| {stream - base_stream:,.0f} | {per_chunk:,.0f} |"
        )
    ours = added.get("genai-cost")
    if ours is not None:
        lines.append("")
        for label, (chat, stream) in added.items():
            if label != "genai-cost":
                lines.append(f"- genai-cost / {label}: chat {ours[0] / chat:.2f}x, stream {ours[1] / stream:.2f}x")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if arguments.output is not None:
        arguments.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
