"""Run every bench/*_bench.py, each in its own process (independent memory and timing), and sum up.

Prints each benchmark's output as it runs and a summary line per benchmark; exits 1 when any of them
failed (a missed target exits non-zero too). Arguments after the script name are not passed on.

    .venv/bin/python bench/run_all.py        (what `make bench` runs)
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def run_bench(script: Path) -> tuple[int, float]:
    """Run one benchmark with this interpreter, its output streamed through; its exit code and seconds."""
    print(f"=== {script.name}", flush=True)
    started = time.perf_counter()
    code = subprocess.run([sys.executable, str(script)], cwd=BENCH.parent, check=False).returncode
    return code, time.perf_counter() - started


def main() -> int:
    scripts = sorted(BENCH.glob("*_bench.py"))
    if not scripts:
        print("no bench/*_bench.py found", file=sys.stderr)
        return 1
    results = [(script.name, *run_bench(script)) for script in scripts]
    print("=== summary")
    for name, code, seconds in results:
        print(f"{name:24} {'ok' if code == 0 else f'FAILED (exit {code})':18} {seconds:7.1f} s")
    return 0 if all(code == 0 for _, code, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
