"""Large user pricing files: build time, first lookup and lookups of new names, 50,000 entries.

Run: ``python -m benchmarks.pricing_scale [--entries 50000] [--compare SRC ...]``. Writes one
pricing file per match kind (exact, prefix, regex), then measures in a fresh interpreter per
(source tree, kind): ``PricingTable.load`` of the file, the first lookup of a name it prices,
the first lookup of a name it does not price, and the mean lookup of new names that resemble
its entries (each looked up once: what a call with a model never seen before pays). Times are
CPU seconds (``process_time``), so other load on the machine does not count. ``--compare``
adds source trees (``src`` directories, e.g. an older checkout's) measured the same way.

The lookups are what a call pays; the build is paid where the table is built (``instrument()``
or ``CostSpanProcessor(...)`` when ``GENAI_COST_PRICING_FILE`` is set).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]

KINDS = ("exact", "prefix", "regex")
NEW_NAMES = 200
SRC = Path(__file__).resolve().parent.parent / "src"

# Runs in a fresh interpreter: argv = file, entries; prints build, known, first unknown, per new name.
_MEASURE = """
import sys, time
from genai_cost.pricing.table import PricingTable
path, entries = sys.argv[1], int(sys.argv[2])
clock = time.process_time
start = clock(); table = PricingTable.load(files=[path], include_bundled=False); build = clock() - start
start = clock(); assert table.match("vendor7-model-7", "openai") is not None; known = clock() - start
start = clock(); assert table.match("no-such-model", "openai") is None; unknown = clock() - start
names = [f"vendor{i % 97}-model-{(i * 7919) % entries}-new" for i in range({new_names})]
start = clock()
for name in names:
    table.match(name, "openai")
print(build, known, unknown, (clock() - start) / len(names))
"""


def _entry(kind: str, number: int) -> dict[str, object]:
    name = f"vendor{number % 97}-model-{number}"
    match = {
        "exact": {"exact": name},
        "prefix": {"prefix": name},
        "regex": {"regex": name.replace("-", r"\-") + r"(-\d{4}-\d{2}-\d{2})?"},
    }[kind]
    return {"id": f"house:{number}", "provider": "openai", "match": match, "input": 1, "output": 2}


def write_file(directory: Path, kind: str, entries: int) -> Path:
    path = directory / f"{kind}.json"
    path.write_text(json.dumps({"entries": [_entry(kind, number) for number in range(entries)]}))
    return path


def measure(src: Path, path: Path, entries: int) -> tuple[float, ...]:
    """(build s, first known lookup s, first unknown lookup s, s per new name) with ``src`` on the path."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    code = _MEASURE.replace("{new_names}", str(NEW_NAMES))
    result = subprocess.run(
        [sys.executable, "-c", code, str(path), str(entries)], env=env, capture_output=True, text=True, check=True
    )
    return tuple(float(value) for value in result.stdout.split())


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pricing_scale", description=__doc__)
    parser.add_argument("--entries", type=int, default=50_000)
    parser.add_argument("--compare", nargs="*", default=[], help="other source trees (src directories)")
    args = parser.parse_args(argv)
    trees = [SRC, *(Path(tree).resolve() for tree in args.compare)]
    print(f"{args.entries:,} entries per file; CPU time; new names: mean of {NEW_NAMES}")
    print(f"{'source':<36} {'kind':<7} {'build':>9} {'known':>10} {'1st unknown':>12} {'per new name':>13}")
    with tempfile.TemporaryDirectory() as directory:
        for kind in KINDS:
            path = write_file(Path(directory), kind, args.entries)
            for tree in trees:
                build, known, unknown, per_name = measure(tree, path, args.entries)
                print(
                    f"{str(tree)[-36:]:<36} {kind:<7} {build:>8.2f}s {known * 1e3:>8.2f}ms "
                    f"{unknown * 1e3:>10.2f}ms {per_name * 1e3:>11.3f}ms"
                )


if __name__ == "__main__":
    main()
