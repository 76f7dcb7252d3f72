"""Instructions each instrumentation adds per call, counted by callgrind: a figure load cannot move.

``python -m benchmarks.instructions [--configs genai-cost,openai-v2] [--calls 200]`` runs the
worker's ``loop`` task (set-up, 20 warm-up calls, then N calls of one operation, nothing timed)
under ``valgrind --tool=callgrind`` twice, with N calls and with none, for each configuration
and for the uninstrumented baseline of its environment (the same environments as
``python -m benchmarks``), for a chat call, a stream and an embeddings call. Instructions per
call = difference / N; added = minus the baseline. With genai-cost among the configurations,
``CostSpanProcessor.on_end`` is counted the same way (worker task ``processor_loop``) on a
foreign span it prices, one priced already and a non-GenAI span, and the floor of pricing one
(``worker._floor_processor``); ``--processor-parts`` also counts each step of that pricing alone.
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
from typing import Any

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
from benchmarks.worker import PROCESSOR_PARTS

__all__ = ["main"]

_OPERATIONS = ("chat", "stream", "embeddings")
_PROCESSOR_KINDS = ("unpriced_genai_span", "processor_floor", "genai_span_priced_already", "non_genai_span")
"""Spans ``CostSpanProcessor.on_end`` is counted on (``worker._foreign_spans``): a foreign semconv
span it prices, one priced already, and an app span with no GenAI usage; ``processor_floor``:
the first span through the floor of pricing it (``worker._floor_processor``)."""
_COLLECTED = re.compile(r"Collected : (\d+)")
_SOURCES = REPO / "src" / "genai_cost"
_BY_COUNT = {"OTEL_BSP_SCHEDULE_DELAY": "3600000", "OTEL_BLRP_SCHEDULE_DELAY": "3600000"}
"""The batch processors export when a batch is full, never on their timer: under callgrind a run
takes minutes, and how often a 5-second timer fires then moves a stream's count by ~100k."""


def _instructions(python: Path, task: str, config: str, options: dict[str, Any]) -> tuple[int, int]:
    """(instructions of the whole run, chunks per stream)."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    command += worker_command(python, task, config, options)
    done = subprocess.run(
        command, cwd=REPO, env={**worker_env(), **_BY_COUNT}, capture_output=True, text=True, check=False, timeout=3600
    )
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"{task} {config} {options} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    printed = json.loads(done.stdout.strip().splitlines()[-1])
    imported = printed["versions"].get("genai_cost_path")
    if imported is not None and Path(imported) != _SOURCES:
        raise RuntimeError(f"the worker imported genai_cost from {imported}, not from this checkout ({_SOURCES})")
    return int(found.group(1)), int(printed["result"]["chunks"])


def _per_call(python: Path, task: str, config: str, options: dict[str, Any], calls: int) -> tuple[float, int]:
    idle, _ = _instructions(python, task, config, {**options, "count": 0})
    busy, chunks = _instructions(python, task, config, {**options, "count": calls})
    return (busy - idle) / calls, chunks


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.instructions", description=__doc__)
    parser.add_argument("--configs", default="genai-cost,openai-v2", help="comma-separated, baselines added")
    parser.add_argument("--calls", type=int, default=100, help="calls (and processed spans) per counted run")
    parser.add_argument("--jobs", type=int, default=2, help="valgrind runs at once")
    parser.add_argument("--venvs", type=Path, default=None)
    parser.add_argument("--output", type=Path, default=None, help="also write the table here (markdown)")
    parser.add_argument(
        "--processor-parts", action="store_true", help="also count each step of pricing a foreign span alone"
    )
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
    jobs = [(label, "loop", config, env, {"operation": op}) for label, config, env in runs for op in _OPERATIONS]
    if any(config.name == "genai-cost" for config in configs):
        jobs += [
            (kind, "processor_loop", "-", "genai-cost", {"kind": kind, "pool": arguments.calls + 20})
            for kind in _PROCESSOR_KINDS
        ]
    if arguments.processor_parts:
        jobs += [
            (part, "processor_loop", "-", "genai-cost", {"kind": "unpriced_genai_span", "part": part})
            for part in PROCESSOR_PARTS
        ]
    with ThreadPoolExecutor(arguments.jobs) as pool:
        figures = pool.map(lambda job: _per_call(pythons[job[3]], job[1], job[2], job[4], arguments.calls), jobs)
        counted = {(job[0], job[4].get("operation")): figure for job, figure in zip(jobs, figures, strict=True)}

    command = "python -m benchmarks.instructions " + " ".join(sys.argv[1:] if argv is None else argv)
    text = "\n".join(_table(command.strip(), arguments.calls, runs, counted)) + "\n"
    print(text, end="")
    if arguments.output is not None:
        arguments.output.write_text(text)
    return 0


def _table(
    command: str,
    calls: int,
    runs: list[tuple[str, str, str]],
    counted: dict[tuple[str, str | None], tuple[float, int]],
) -> list[str]:
    lines = [
        "# Instructions per call",
        "",
        f"Generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `{command}`"
        f" (callgrind; {calls} calls counted after 20 warm-up calls, heap frozen after the warm-up).",
        "",
        "| configuration | chat | added | stream (chunks) | added | added per chunk | embeddings | added |",
        "|---|---|---|---|---|---|---|---|",
    ]
    added: dict[str, tuple[float, ...]] = {}
    for label, _, env in runs:
        (chat, _), (stream, chunks), (embeddings, _) = (counted[label, op] for op in _OPERATIONS)
        base_chat, base_stream, base_embeddings = (counted[f"baseline@{env}", op][0] for op in _OPERATIONS)
        if label.startswith("baseline@"):
            lines.append(f"| {label} | {chat:,.0f} | — | {stream:,.0f} ({chunks}) | — | — | {embeddings:,.0f} | — |")
            continue
        added[label] = (chat - base_chat, stream - base_stream, embeddings - base_embeddings)
        lines.append(
            f"| {label} | {chat:,.0f} | {chat - base_chat:,.0f} | {stream:,.0f} ({chunks}) "
            f"| {stream - base_stream:,.0f} | {(stream - base_stream) / chunks:,.0f} "
            f"| {embeddings:,.0f} | {embeddings - base_embeddings:,.0f} |"
        )
    ours = added.get("genai-cost")
    if ours is not None:
        lines.append("")
        for label, theirs in added.items():
            if label != "genai-cost":
                chat, stream, embeddings = (mine / other for mine, other in zip(ours, theirs, strict=True))
                lines.append(
                    f"- genai-cost / {label}: chat {chat:.2f}x, stream {stream:.2f}x, embeddings {embeddings:.2f}x"
                )
    processed = [(kind, counted[kind, None][0]) for kind in _PROCESSOR_KINDS if (kind, None) in counted]
    if processed:
        lines += [
            "",
            "`CostSpanProcessor.on_end` per span (spans made by the SDK as openai-v2 makes them, each under an "
            "open app span of its trace; the next processor discards them; `worker._processor_loop`):",
            "",
            "| span | instructions per on_end |",
            "|---|---|",
            *(f"| {kind} | {figure:,.0f} |" for kind, figure in processed),
        ]
    parts = [(part, counted[part, None][0]) for part in PROCESSOR_PARTS if (part, None) in counted]
    if parts:
        lines += [
            "",
            "Each step of pricing `unpriced_genai_span`, alone, with the arguments it gets in `on_end` "
            "(`--processor-parts`; `worker._processor_parts`; `span_cost.price` holds the steps from "
            "'copy attributes' to 'Cost.attributes'):",
            "",
            "| step | instructions |",
            "|---|---|",
            *(f"| {part} | {figure:,.0f} |" for part, figure in parts),
        ]
    return lines


if __name__ == "__main__":
    sys.exit(main())
