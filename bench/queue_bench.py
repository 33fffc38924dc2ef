"""Review-queue benchmark: the queue page over 100k stored resources, served on 127.0.0.1, p95 of 200 GETs.

Target (issue 4): the queue page renders in < 150 ms at p95 over 200 requests on loopback with 100k
resources stored (each with two labels and one entry). Issue 16 adds: the compact list, the least-sure-first
order, and the approve round trip as the queue's script makes it (POST answered in JSON), each p95 < 150 ms.
A trivial route (/healthz) is timed in the same run as a baseline for the machine and the HTTP stack.
Exits 1 when a target is missed.

    .venv/bin/python bench/queue_bench.py [--resources 100000] [--requests 200]
"""

from __future__ import annotations

import argparse
import logging
import re
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from argon2 import PasswordHasher
from sqlalchemy import insert
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aggregator.db.engine import create_db_engine, upgrade_database  # noqa: E402
from aggregator.db.schema import entries, labels, resources, sources  # noqa: E402
from aggregator.people.users import Passwords, add_user  # noqa: E402
from aggregator.settings import Settings  # noqa: E402
from aggregator.web import create_app  # noqa: E402

TARGET_MS = 150.0
PASSWORD = "benchmark passphrase"
THEMES = ("kindness", "compassionate-leadership", "staff-wellbeing", "culture-change", "teamwork")
AUDIENCES = ("frontline-staff", "leaders", "educators", "researchers")
SOURCE_IDS = ("pslhub-good-practice", "kindness-in-healthcare", "lse-research-online", "govuk-dhsc-atom")
TYPES = ("report", "research", "toolkit", "news", "event")


def populate(engine, count: int) -> None:
    """`count` resources (90% pending), each with one entry and two labels, inserted in bulk."""
    base = datetime(2025, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(sources),
            [
                {
                    "id": s,
                    "url": f"https://{s}.example/",
                    "configured_url": f"https://{s}.example/",
                    "consecutive_failures": 0,
                    "best_count": 0,
                    "drift_alarm": False,
                }
                for s in SOURCE_IDS
            ],
        )
    chunk = 20_000
    for start in range(0, count, chunk):
        ids = range(start + 1, min(count, start + chunk) + 1)
        res, ent, lab = [], [], []
        for i in ids:
            created = base + timedelta(minutes=i)
            res.append(
                {
                    "id": i,
                    "canonical_url": f"https://bench.example/r/{i}",
                    "url": f"https://bench.example/r/{i}",
                    "title": f"Compassionate care resource {i}: kindness in practice for teams",
                    "summary": f"Resource {i} on kindness, staff wellbeing and culture change in care.",
                    "summary_html": f"<p>Resource <strong>{i}</strong> on kindness, staff wellbeing and "
                    f'culture change in care. <a href="https://bench.example/r/{i}">More</a></p>',
                    "type": TYPES[i % len(TYPES)],
                    "published_at": created,
                    "authors": ["A. Author"],
                    "tags": ["Kindness"],
                    "status": "pending" if i % 10 else "approved",
                    "created_at": created,
                    "modified_at": created,
                    "off_topic": i % 23 == 0,
                    "certainty": round((i * 37 % 100) / 100, 2),
                    "featured": False,
                }
            )
            ent.append(
                {
                    "id": i,
                    "source_id": SOURCE_IDS[i % len(SOURCE_IDS)],
                    "key": f"url:{i}",
                    "resource_id": i,
                    "url": f"https://bench.example/r/{i}",
                    "canonical_url": f"https://bench.example/r/{i}",
                    "title": f"Compassionate care resource {i}",
                    "summary": "",
                    "summary_html": "",
                    "type": "report",
                    "authors": [],
                    "tags": [],
                    "extra": {},
                    "content_hash": str(i),
                    "first_seen_at": created,
                    "last_seen_at": created,
                }
            )
            lab.append(
                {
                    "resource_id": i,
                    "kind": "theme",
                    "label_id": THEMES[i % len(THEMES)],
                    "confidence": 0.8,
                    "reasons": [{"signal": "phrase", "detail": "‘kindness’ in the summary"}],
                    "origin": "classifier",
                }
            )
            lab.append(
                {
                    "resource_id": i,
                    "kind": "audience",
                    "label_id": AUDIENCES[i % len(AUDIENCES)],
                    "confidence": 0.6,
                    "reasons": [{"signal": "source", "detail": "the source's audience"}],
                    "origin": "classifier",
                }
            )
        with engine.begin() as conn:
            conn.execute(insert(resources), res)
            conn.execute(insert(entries), ent)
            conn.execute(insert(labels), lab)


def timed(client: httpx.Client, path: str, n: int) -> list[float]:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        reply = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        if reply.status_code != 200:
            raise SystemExit(f"GET {path} answered {reply.status_code}")
    return times


def timed_approvals(client: httpx.Client, ids: list[int], csrf: str) -> list[float]:
    """The approve round trip as the queue's script makes it: a form POST answered in JSON, no reload."""
    times = []
    for rid in ids:
        started = time.perf_counter()
        reply = client.post(
            f"/editor/resources/{rid}/approve",
            data={"csrf_token": csrf, "next": "/editor/"},
            headers={"X-Requested-With": "fetch"},
        )
        times.append((time.perf_counter() - started) * 1000)
        if reply.status_code != 200 or reply.json()["messages"][0]["category"] != "success":
            raise SystemExit(f"approve {rid} answered {reply.status_code}: {reply.text[:200]}")
    return times


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[94]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log line per request
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        engine = create_db_engine(url)
        upgrade_database(engine)
        started = time.perf_counter()
        populate(engine, args.resources)
        print(
            f"populated {args.resources:,} resources (+ entries, 2 labels each) in "
            f"{time.perf_counter() - started:.1f} s"
        )
        settings = Settings(
            data_dir=Path(folder),
            database_url=url,
            sources_file=ROOT / "sources.yaml",
            taxonomy_file=ROOT / "taxonomy.yaml",
            secret_key="bench-secret-" + "x" * 32,
        )
        passwords = Passwords(PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1))
        with engine.begin() as conn:
            add_user(conn, "bench@example.org", PASSWORD, role="editor", now=datetime.now(UTC), passwords=passwords)
        app = create_app(settings, engine, passwords=passwords)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        try:
            with httpx.Client(base_url=base, timeout=30) as client:
                page = client.get("/editor/login").text
                csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
                client.post(
                    "/editor/login", data={"email": "bench@example.org", "password": PASSWORD, "csrf_token": csrf}
                )
                first = client.get("/editor/")
                assert first.status_code == 200 and "pending resources" in first.text, "not signed in"
                cursor = re.search(r'href="([^"]+)" rel="next"', first.text).group(1).replace("&amp;", "&")
                timed(client, "/editor/", 20)  # warm up: templates compiled, connections pooled
                baseline = timed(client, "/healthz", args.requests)
                queue = timed(client, "/editor/", args.requests)
                deep = timed(client, cursor, 50)
                filtered = timed(client, "/editor/?theme=kindness&audience=leaders", 50)
                compact = timed(client, "/editor/?view=list", args.requests)
                unsure = timed(client, "/editor/?view=list&sort=unsure", args.requests)
                page = client.get("/editor/?view=list&sort=unsure").text
                csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
                pending = [i for i in range(args.resources, 0, -1) if i % 10][: args.requests]
                approvals = timed_approvals(client, pending, csrf)
        finally:
            server.shutdown()
            engine.dispose()
    q95, b95 = p95(queue), p95(baseline)
    print(
        f"queue page  (/editor/, 25 of {args.resources:,}): p50 {statistics.median(queue):6.1f} ms  "
        f"p95 {q95:6.1f} ms  over {len(queue)} requests"
    )
    print(f"baseline    (/healthz):                 p50 {statistics.median(baseline):6.1f} ms  p95 {b95:6.1f} ms")
    print(f"ratio queue/baseline p95: {q95 / b95:.1f}x")
    print(f"(info) page 2 by cursor p95 {p95(deep):.1f} ms; theme+audience filter p95 {p95(filtered):.1f} ms")
    measured = {
        "queue page (cards)": queue,
        "compact list": compact,
        "compact list, least sure first": unsure,
        "approve round trip (JSON)": approvals,
    }
    for name, values in list(measured.items())[1:]:
        print(f"{name:32} p50 {statistics.median(values):6.1f} ms  p95 {p95(values):6.1f} ms  over {len(values)}")
    missed = [name for name, values in measured.items() if p95(values) >= TARGET_MS]
    if missed:
        print(f"FAILED: p95 >= target {TARGET_MS:.0f} ms for {', '.join(missed)}")
        return 1
    print(f"ok: every p95 < target {TARGET_MS:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
