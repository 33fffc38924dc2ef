"""Load test of the public pages: subscribe, unsubscribe, the feeds and the archive, under gunicorn, for 60 s.

A populated SQLite database (resources with labels, three sent issues in the archive, subscribers)
is served by `aggregator serve` (gunicorn); a load generator in other processes on 127.0.0.1 (each
with a few client threads, each thread one request at a time) asks for a mix of the public pages
for --duration seconds. Prints per page: requests, errors, rate and p50/p95/p99 latency.
Targets (issue 6): zero errors on every page; p99 < 100 ms for the feeds and the archive. Exits 1
when a target is missed.

    .venv/bin/python bench/load_public.py [--duration 60] [--processes 2] [--threads 1] [--resources 3000]
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
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aggregator.config.sources import SourceConfig, load_sources  # noqa: E402
from aggregator.db.engine import create_db_engine, upgrade_database  # noqa: E402
from aggregator.db.schema import labels, resources, subscribers  # noqa: E402
from aggregator.db.store import store_resources, sync_sources  # noqa: E402
from aggregator.digest.issue import prepare_draft  # noqa: E402
from aggregator.digest.send import SendOptions, send_issue  # noqa: E402
from aggregator.digest.transport import OutboxTransport  # noqa: E402
from aggregator.ingest.normalize import normalize_entry  # noqa: E402
from aggregator.model import RawEntry  # noqa: E402
from aggregator.people.tokens import Tokens  # noqa: E402
from aggregator.review.lifecycle import change_issue_status, change_resource_status  # noqa: E402
from aggregator.settings import Settings  # noqa: E402

TARGET_P99_MS = 100.0
SECRET = "load-test-secret-" + "x" * 40
THEMES = ("kindness", "compassionate-leadership", "staff-wellbeing", "culture-change", "teamwork")
AUDIENCES = ("frontline-staff", "leaders", "educators", "researchers")
MONTHS = ("2026-08", "2026-09", "2026-10")
ISSUE_SIZE = 60  # resources in a monthly issue
TARGETED = ("feeds", "archive")  # pages with the p99 target


def populate(settings: Settings, resource_count: int, subscriber_count: int) -> list[tuple[int, int]]:
    """Store, label and approve resources, send three monthly issues (to the outbox), add subscribers;
    returns (id, token_version) of each subscriber."""
    engine = create_db_engine(settings.resolved_database_url)
    upgrade_database(engine)
    configs = _sources()
    now = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    with engine.begin() as conn:
        sync_sources(conn, configs)
        for s, config in enumerate(configs):
            entries = [
                RawEntry(
                    url=f"https://{config.id}.example/r/{n}",
                    title=f"Kindness in care, resource {n}",
                    summary_html=f"<p>How small acts of compassion help staff and patients ({n}).</p>",
                    published=now - timedelta(hours=n),
                )
                for n in range(s, resource_count, len(configs))
            ]
            store_resources(conn, config.id, [normalize_entry(e, config) for e in entries], now)
        ids = conn.execute(select(resources.c.id).order_by(resources.c.id)).scalars().all()
        conn.execute(
            insert(labels),
            [
                {
                    "resource_id": rid,
                    "kind": kind,
                    "label_id": label,
                    "confidence": 0.9,
                    "reasons": [],
                    "origin": "classifier",
                }
                for rid in ids
                for kind, label in (("theme", THEMES[rid % 5]), ("audience", AUDIENCES[rid % 4]))
            ],
        )
    for m, month in enumerate(MONTHS):  # an issue of ISSUE_SIZE resources a month, as editors make them
        with engine.begin() as conn:
            for rid in ids[m * ISSUE_SIZE : (m + 1) * ISSUE_SIZE]:
                change_resource_status(conn, rid, "approved", user_id=None, now=now)
            issue_id = prepare_draft(conn, month, now)
            change_issue_status(conn, issue_id, "approved", user_id=None, now=now)
        send_issue(
            engine, issue_id, OutboxTransport(settings.outbox_dir / month), settings, options=SendOptions(backoff=0.0)
        )
    with engine.begin() as conn:  # the rest approved since: in the feeds, not yet in an issue
        for rid in ids[len(MONTHS) * ISSUE_SIZE :]:
            change_resource_status(conn, rid, "approved", user_id=None, now=now)
    with engine.begin() as conn:
        conn.execute(
            insert(subscribers),
            [
                {
                    "email": f"reader{n}@example.org",
                    "status": "active",
                    "audiences": [AUDIENCES[n % 4]],
                    "themes": [],
                    "created_at": now,
                    "origin": "form",
                }
                for n in range(subscriber_count)
            ],
        )
        ids = list(conn.execute(select(subscribers.c.id, subscribers.c.token_version)).tuples())
    engine.dispose()
    return ids


def _sources() -> list[SourceConfig]:
    try:
        return list(load_sources(ROOT / "sources.yaml").sources)[:8]
    except Exception:  # noqa: BLE001 - a bench without sources.yaml still runs, with made-up partners
        return [
            SourceConfig(id=f"partner-{n}", name=f"Partner {n}", url=f"https://p{n}.example/feed", adapter="feed")
            for n in range(8)
        ]


def page_mix(subscriber_ids: list[tuple[int, int]]) -> list[tuple[str, str]]:
    """(page, path) pairs the clients pick from at random: each page equally often."""
    tokens = Tokens(SECRET)
    unsubscribe = [
        ("unsubscribe", f"/unsubscribe/{tokens.make('unsubscribe', sid, version)}")
        for sid, version in random.Random(1).sample(subscriber_ids, min(200, len(subscriber_ids)))
    ]
    return (
        [("subscribe", "/subscribe")] * 4
        + unsubscribe[:4]
        + [("unsubscribe", p) for _, p in unsubscribe[4:]]
        + [
            ("feeds", "/feeds/all.rss"),
            ("feeds", "/feeds/all.atom"),
            ("feeds", "/feeds/all.json"),
            ("feeds", "/feeds/theme/kindness.rss"),
        ]
        + [("archive", "/archive/")] * 2
        + [("archive", f"/archive/{m}/") for m in MONTHS[-2:]]
    )


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
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    parser.add_argument("--processes", type=int, default=2, help="load-generator processes")
    parser.add_argument("--threads", type=int, default=1, help="clients per load-generator process")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--resources", type=int, default=3000)
    parser.add_argument("--subscribers", type=int, default=2000)
    args = parser.parse_args()

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
        ids = populate(settings, args.resources, args.subscribers)
        print(
            f"populated {args.resources:,} resources, {len(MONTHS)} sent issues, {len(ids):,} subscribers "
            f"in {time.perf_counter() - started:.1f} s (SQLite)"
        )
        port = free_port()
        server = serve(data_dir, port, args.workers)
        try:
            base = f"http://127.0.0.1:{port}"
            mix = page_mix(ids)
            for _, path in mix:  # warm every worker's caches once; a failure here is reported below too
                httpx.get(base + path, timeout=10)
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
    print(f"{'page':12} {'requests':>9} {'errors':>7} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    missed = []
    total = 0
    for page in sorted(merged):
        rows = merged[page]
        latencies = [ms for _, ms in rows]
        errors = sum(1 for status, _ in rows if status != 200)
        p99 = percentile(latencies, 0.99)
        total += len(rows)
        print(
            f"{page:12} {len(rows):9,} {errors:7} {len(rows) / args.duration:7.1f} {percentile(latencies, 0.5):8.1f} "
            f"{percentile(latencies, 0.95):8.1f} {p99:8.1f}"
        )
        if errors:
            missed.append(f"{page}: {errors} errors")
        if page in TARGETED and not p99 < TARGET_P99_MS:
            missed.append(f"{page}: p99 {p99:.1f} ms >= {TARGET_P99_MS:.0f} ms")
    print(f"total {total:,} requests, {total / args.duration:.1f} req/s")
    if missed:
        print("MISSED: " + "; ".join(missed))
        return 1
    print(f"ok: zero errors; feeds and archive p99 < {TARGET_P99_MS:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
