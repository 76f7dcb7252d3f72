"""``python -m benchmarks``: genai-cost side by side with the peer OpenAI instrumentations.

Creates (first run: a few minutes, needs PyPI) or reuses one virtual environment per peer,
runs every configuration in fresh subprocesses, interleaved round by round so that load on
a shared machine hits all of them alike, and writes ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
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
    run_worker,
)
from benchmarks.report import Run, render

__all__ = ["main"]

_RECORDED = ("rounds", "repeats", "chat", "stream", "embeddings", "rss_calls", "spans")
_QUICK = {"rounds": 2, "repeats": 2, "chat": 60, "stream": 12, "embeddings": 60, "rss_calls": 2000}


def _arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--configs", default=",".join(CONFIGURATIONS), help="comma-separated")
    parser.add_argument("--rounds", type=int, default=4, help="fresh subprocesses per config")
    parser.add_argument("--repeats", type=int, default=6, help="timed repeats per subprocess")
    parser.add_argument("--chat", type=int, default=100, help="non-streaming calls per repeat")
    parser.add_argument("--stream", type=int, default=20, help="streams per repeat")
    parser.add_argument("--embeddings", type=int, default=100, help="embeddings calls per repeat")
    parser.add_argument("--rss-calls", type=int, default=10_000, help="calls for peak RSS")
    parser.add_argument("--spans", type=int, default=20_000, help="spans per processor repeat")
    parser.add_argument("--quick", action="store_true", help="small smoke run: " + str(_QUICK))
    parser.add_argument("--venvs", type=Path, default=None, help="where the venvs live")
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "RESULTS.md")
    parser.add_argument("--raw", type=Path, default=None, help="also save the raw results")
    parser.add_argument("--render", type=Path, default=None, help="re-render saved raw results")
    arguments = parser.parse_args(argv)
    if arguments.quick:
        for name, value in _QUICK.items():
            setattr(arguments, name, value)
    return arguments


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _runs(configs: Sequence[str]) -> list[Run]:
    """The selected configurations plus an uninstrumented baseline in every environment used."""
    runs: list[Run] = []
    for name in configs:
        environment = CONFIGURATIONS[name].environment
        baseline = Run("baseline", environment)
        if name != "baseline" and baseline not in runs:
            runs.append(baseline)
        runs.append(Run(name, environment))
    return list(dict.fromkeys(runs))


def _rss_runs(runs: Sequence[Run]) -> list[Run]:
    """Every configuration, and a baseline per distinct ``openai`` version (an environment's
    baseline imports nothing of its peer, so same versions mean the same process)."""
    chosen, pins = [], set()
    for run in runs:
        pin = next(r for r in ENVIRONMENTS[run.environment].requirements if r.startswith("openai=="))
        if run.config != "baseline" or pin not in pins:
            chosen.append(run)
            pins.add(pin)
    return chosen


def _processor_exists() -> bool:
    return (REPO / "src" / "genai_cost" / "processor.py").exists()


def _measure(arguments: argparse.Namespace, configs: list[str]) -> dict[str, Any]:
    """Run every task; the raw, JSON-serializable results."""
    root = arguments.venvs or default_venv_root()
    runs = _runs(configs)
    pythons = {
        name: ensure_environment(ENVIRONMENTS[name], root=root)
        for name in dict.fromkeys(run.environment for run in runs)
    }
    for python in pythons.values():
        compile_sources(python)
    load_before = os.getloadavg()
    started = time.time()
    options = {name: getattr(arguments, name) for name in ("chat", "stream", "embeddings", "repeats")}
    calls: dict[Run, list[dict[str, Any]]] = {run: [] for run in runs}
    for round_index in range(arguments.rounds):
        shift = round_index % len(runs)
        order = runs[shift:] + runs[:shift]
        for run in order if round_index % 2 == 0 else reversed(order):
            _log(f"round {round_index + 1}/{arguments.rounds}: {run.key}")
            payload = run_worker(pythons[run.environment], "calls", run.config, options)
            calls[run].append({**payload["result"], "versions": payload["versions"]})
    # Peak RSS is not a timing: two processes at a time, as many as there are cores here.
    rss_runs = _rss_runs(runs)
    _log(f"peak RSS over {arguments.rss_calls} calls: {', '.join(run.key for run in rss_runs)}")
    with ThreadPoolExecutor(max_workers=2) as pool:
        measured = pool.map(
            lambda run: run_worker(pythons[run.environment], "rss", run.config, {"calls": arguments.rss_calls})[
                "result"
            ],
            rss_runs,
        )
        rss = {run.key: result for run, result in zip(rss_runs, measured, strict=True)}
    extras: dict[str, Any] = {}
    ours = pythons.get("genai-cost")
    if ours is not None:
        _log("pricing lookups")
        extras["pricing"] = run_worker(ours, "pricing", "-", {})["result"]
        if _processor_exists():
            _log("CostSpanProcessor throughput")
            extras["processor"] = run_worker(ours, "processor", "-", {"spans": arguments.spans, "repeats": 5})["result"]
    return {
        "calls": [
            {"config": run.config, "environment": run.environment, "results": results} for run, results in calls.items()
        ],
        "rss": rss,
        "extras": extras,
        "load": [load_before, os.getloadavg()],
        "seconds": time.time() - started,
    }


def main(argv: Sequence[str] | None = None) -> None:
    given = list(sys.argv[1:] if argv is None else argv)
    arguments = _arguments(given)
    configs = [name.strip() for name in arguments.configs.split(",") if name.strip()]
    unknown = sorted(set(configs) - set(CONFIGURATIONS))
    if unknown:
        raise SystemExit(f"unknown configurations: {', '.join(unknown)}")
    skipped = {}
    if "genai-cost+processor" in configs and not _processor_exists():
        configs.remove("genai-cost+processor")
        skipped["genai-cost+processor"] = "n/a (not built yet)"
    if arguments.render is not None:
        raw = json.loads(arguments.render.read_text())
    else:
        raw = {
            **_measure(arguments, configs),
            "skipped": skipped,
            "command": shlex.join(["python", "-m", "benchmarks", *given]),
            "arguments": {key: value for key, value in vars(arguments).items() if key in _RECORDED},
        }
        if arguments.raw is not None:
            arguments.raw.write_text(json.dumps(raw, indent=1))
    text = render(raw)
    arguments.output.write_text(text)
    _log(f"wrote {arguments.output}")
    print(text)


if __name__ == "__main__":
    main()
