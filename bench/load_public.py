"""Load test of every public page under gunicorn, at several archive sizes: does a page's cost grow with it?

For each size in --sizes a SQLite database is built through the store (bench/public_data.py; approvals in bulk):
N resources with labels, some of them events, three sent issues in the archive, subscribers. It is served
by `aggregator serve` (gunicorn, as deployed) on 127.0.0.1; 16 closed-loop clients (--processes x
--threads, each one request at a time) ask for every public page equally often for --duration seconds:
/, /subscribe, unsubscribe links, /feeds/, the combined feed in RSS, Atom and JSON, a theme's feed,
/archive/, an archive issue page, an event's .ics and the calendar feed. Prints per page: requests,
errors, rate and p50/p95/p99 latency. Targets (issue 18): zero errors and p99 < 100 ms on every page at
every size. Exits 1 when a target is missed.

    .venv/bin/python bench/load_public.py [--sizes 1000,10000,100000] [--duration 30] [--processes 2] [--threads 8]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from public_data import MONTHS, populate  # noqa: E402

from aggregator.people.tokens import Tokens  # noqa: E402
from aggregator.settings import Settings  # noqa: E402

TARGET_P99_MS = 100.0
SECRET = "load-test-secret-" + "x" * 40
OK_STATUS = {"home": {200, 302}}  # "/" sends visitors to /subscribe until the public pages claim it


def page_mix(subscriber_ids: list[tuple[int, int]], event_id: int) -> list[tuple[str, str]]:
    """(page, path) pairs the clients pick from at random: each page equally often."""
    tokens = Tokens(SECRET)
    unsubscribe = [
        ("unsubscribe", f"/unsubscribe/{tokens.make('unsubscribe', sid, version)}")
        for sid, version in random.Random(1).sample(subscriber_ids, min(200, len(subscriber_ids)))
    ]
    return [
        ("home", "/"),
        ("subscribe", "/subscribe"),
        *unsubscribe,
        ("feeds index", "/feeds/"),
        ("all.rss", "/feeds/all.rss"),
        ("all.atom", "/feeds/all.atom"),
        ("all.json", "/feeds/all.json"),
        ("theme.rss", "/feeds/theme/kindness.rss"),
        ("archive", "/archive/"),
        *[("archive issue", f"/archive/{m}/") for m in MONTHS],
        ("event.ics", f"/events/{event_id}.ics"),
        ("events.ics", "/feeds/events.ics"),
    ]


def client(base: str, mix: list[tuple[str, str]], threads: int, until: float, out) -> None:
    """One load-generator process: `threads` closed-loop clients; puts {page: [(status, ms)]} on `out`."""
    import threading

    results: dict[str, list[tuple[int, float]]] = defaultdict(list)
    lock = threading.Lock()
    by_page: dict[str, list[str]] = defaultdict(list)
    for page, path in mix:
        by_page[page].append(path)
    pages = sorted(by_page)

    def loop(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=base, timeout=10.0) as http:
            while time.time() < until:
                page = rng.choice(pages)
                path = rng.choice(by_page[page])
                started = time.perf_counter()
                try:
                    status = http.get(path).status_code
                    status = 200 if status in OK_STATUS.get(page, {200}) else status
                except httpx.HTTPError:
                    status = 0
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    results[page].append((status, elapsed))

    workers = [threading.Thread(target=loop, args=(os.getpid() * 100 + n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    out.put(dict(results))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(data_dir: Path, port: int, workers: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "AGGREGATOR_DATA_DIR": str(data_dir),
        "AGGREGATOR_SECRET_KEY": SECRET,
        "AGGREGATOR_TAXONOMY_FILE": str(ROOT / "taxonomy.yaml"),
        "AGGREGATOR_SOURCES_FILE": str(ROOT / "sources.yaml"),
        "AGGREGATOR_BASE_URL": f"http://127.0.0.1:{port}",
    }
    env.pop("AGGREGATOR_DATABASE_URL", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aggregator",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    raise SystemExit("gunicorn did not answer /healthz within 60 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="resources in each database, comma-separated")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load at each size (default 30)")
    parser.add_argument("--processes", type=int, default=2, help="load-generator processes")
    parser.add_argument("--threads", type=int, default=8, help="clients per load-generator process")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--subscribers", type=int, default=2000)
    args = parser.parse_args()
    failed = False
    for size in (int(n) for n in args.sizes.split(",")):
        failed = run_size(size, args) != 0 or failed
    return 1 if failed else 0


def warm(base: str, mix: list[tuple[str, str]], workers: int) -> None:
    """Ask for every page many times from parallel clients, each on a new connection, so that every
    gunicorn worker has built its caches before the clock starts (failures are reported by the load)."""
    from concurrent.futures import ThreadPoolExecutor

    def get(path: str) -> int:
        return httpx.get(base + path, timeout=120, headers={"Connection": "close"}).status_code

    with ThreadPoolExecutor(4 * workers) as pool:
        list(pool.map(get, [path for _, path in mix] * (4 * workers)))


def run_size(size: int, args) -> int:
    with tempfile.TemporaryDirectory(prefix="load-public-") as tmp:
        data_dir = Path(tmp)
        settings = Settings(
            data_dir=data_dir,
            database_url=None,
            secret_key=SECRET,
            taxonomy_file=ROOT / "taxonomy.yaml",
            sources_file=ROOT / "sources.yaml",
            _env_file=None,
        )
        started = time.perf_counter()
        ids, event_id = populate(settings, size, args.subscribers)
        print(
            f"=== {size:,} resources: populated with {len(MONTHS)} sent issues and {len(ids):,} subscribers "
            f"in {time.perf_counter() - started:.1f} s (SQLite)",
            flush=True,
        )
        port = free_port()
        server = serve(data_dir, port, args.workers)
        try:
            base = f"http://127.0.0.1:{port}"
            mix = page_mix(ids, event_id)
            warm(base, mix, args.workers)
            out: multiprocessing.Queue = multiprocessing.Queue()
            until = time.time() + args.duration
            procs = [
                multiprocessing.Process(target=client, args=(base, mix, args.threads, until, out))
                for _ in range(args.processes)
            ]
            for proc in procs:
                proc.start()
            merged: dict[str, list[tuple[int, float]]] = defaultdict(list)
            for _ in procs:
                for page, rows in out.get(timeout=args.duration + 120).items():
                    merged[page].extend(rows)
            for proc in procs:
                proc.join()
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    return report(merged, args)


def report(merged: dict[str, list[tuple[int, float]]], args) -> int:
    print(
        f"load: {args.processes} processes x {args.threads} clients for {args.duration:.0f} s against "
        f"gunicorn with {args.workers} workers on 127.0.0.1; {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    print(f"{'page':14} {'requests':>9} {'errors':>7} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    missed = []
    total = 0
    for page in sorted(merged):
        rows = merged[page]
        latencies = [ms for _, ms in rows]
        errors = sum(1 for status, _ in rows if status != 200)
        p99 = percentile(latencies, 0.99)
        total += len(rows)
        print(
            f"{page:14} {len(rows):9,} {errors:7} {len(rows) / args.duration:7.1f} {percentile(latencies, 0.5):8.1f} "
            f"{percentile(latencies, 0.95):8.1f} {p99:8.1f}"
        )
        if errors:
            missed.append(f"{page}: {errors} errors")
        if not p99 < TARGET_P99_MS:
            missed.append(f"{page}: p99 {p99:.1f} ms >= {TARGET_P99_MS:.0f} ms")
    print(f"total {total:,} requests, {total / args.duration:.1f} req/s")
    if missed:
        print("MISSED: " + "; ".join(missed))
        return 1
    print(f"ok: zero errors; every page p99 < {TARGET_P99_MS:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
