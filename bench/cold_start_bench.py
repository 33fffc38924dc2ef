"""Cold start: how long a fresh `aggregator` process takes for `--help` and `sources check`, and what it imports.

Each command runs in a new interpreter (no warm module cache in the process), 5 times; the medians are
printed beside the floor of this interpreter (`python -c pass`) and of the CLI framework alone
(`import typer, rich.console`), measured the same way in the same run. `python -X importtime` lists
the modules each command imported; the heavy libraries a command does not need are named if present.
Targets (issue 18): `--help` under 0.3 s and `sources check` under 0.5 s (medians); neither imports
scikit-learn, numpy, scipy or trafilatura. Exits 1 when a target is missed. On a loaded machine every
process is slower, the floors too: the ratio to `import typer, rich` is printed beside the seconds.

    .venv/bin/python bench/cold_start_bench.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "aggregator"]
COMMANDS = {  # name -> (argv, target seconds or None)
    "python -c pass": ([sys.executable, "-c", "pass"], None),
    "import typer, rich": ([sys.executable, "-c", "import typer, rich.console"], None),
    "aggregator --help": ([*CLI, "--help"], 0.3),
    "aggregator sources check": ([*CLI, "sources", "check"], 0.5),
}
HEAVY = (
    "sklearn",
    "numpy",
    "scipy",
    "trafilatura",
    "lxml.html",
    "feedparser",
    "httpx",
    "jinja2",
    "sqlalchemy",
    "flask",
)
NOT_ALLOWED = ("sklearn", "numpy", "scipy", "trafilatura")
_LINE = re.compile(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)")


def wall_seconds(argv: list[str], runs: int) -> list[float]:
    """Wall time of `runs` fresh processes running argv (output discarded; a failure stops the bench)."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return times


def imported_modules(argv: list[str]) -> tuple[set[str], float]:
    """The modules argv imports and the seconds spent importing them (`python -X importtime`: the sum of the
    cumulative times of the modules imported at the top level)."""
    done = subprocess.run(
        [argv[0], "-X", "importtime", *argv[1:]], cwd=ROOT, check=True, capture_output=True, text=True
    )
    matches = [m for m in map(_LINE.match, done.stderr.splitlines()) if m]
    return {m[3] for m in matches}, sum(int(m[1]) for m in matches if len(m[2]) == 1) / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    failed = False
    print(f"{'command':28} {'median':>8} {'min':>8} {'imports':>8} {'x typer':>8}  heavy libraries imported")
    floor = None
    for name, (argv, target) in COMMANDS.items():
        times = wall_seconds(argv, args.runs)
        median = statistics.median(times)
        floor = median if name == "import typer, rich" else floor
        modules, import_seconds = imported_modules(argv)
        heavy = [h for h in HEAVY if h in modules]
        verdict = ""
        if target is not None:
            bad = [h for h in NOT_ALLOWED if h in modules]
            missed = median >= target or bad
            failed = failed or bool(missed)
            verdict = f"  target < {target} s: {'MISSED' if missed else 'ok'}" + (f" (imports {bad})" if bad else "")
        ratio = f"{median / floor:7.1f}x" if floor else f"{'':8}"
        print(
            f"{name:28} {median:7.3f}s {min(times):7.3f}s {import_seconds:7.3f}s {ratio}  "
            f"{', '.join(heavy) or '-'}{verdict}"
        )
    print(
        f"(medians of {args.runs} fresh processes; 'imports' is the -X importtime total of one run; 'x typer' the "
        f"median over that of importing the CLI framework alone, steadier than seconds on a loaded machine; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
