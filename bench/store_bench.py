"""Store benchmark: bulk insert of 100k resources through the store vs raw sqlite3 executemany (same run).

Target (issue 2): the store within 2.5x of sqlite3 `executemany` inserting the same rows into the same
tables. Exits 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aggregator.config.sources import SourceConfig  # noqa: E402
from aggregator.db.engine import create_db_engine, upgrade_database  # noqa: E402
from aggregator.db.store import store_resources  # noqa: E402
from aggregator.ingest.normalize import normalize_entry  # noqa: E402
from aggregator.model import RawEntry  # noqa: E402

TARGET = 2.5


def make_resources(count: int):
    source = SourceConfig(id="bench", name="Bench", url="https://bench.example/feed", adapter="feed")
    base = datetime(2024, 1, 1, tzinfo=UTC)
    return [
        normalize_entry(
            RawEntry(
                url=f"https://bench.example/resources/{i}/?utm_source=feed",
                title=f"Compassionate leadership resource {i}",
                guid=f"bench-{i}",
                summary_html=f"<p>Resource {i} on kindness, staff wellbeing and culture change.</p>",
                published=base + timedelta(minutes=i),
                authors=("A. Author", "B. Author"),
                tags=("Kindness", "Leadership"),
            ),
            source,
        )
        for i in range(count)
    ]


def bench_store(path: Path, items) -> float:
    engine = create_db_engine(f"sqlite:///{path}")
    upgrade_database(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO sources (id, url, configured_url, consecutive_failures, best_count, "
            "drift_alarm) VALUES ('bench', 'u', 'u', 0, 0, 0)"
        )
    now = datetime.now(UTC)
    start = time.perf_counter()
    with engine.begin() as conn:
        result = store_resources(conn, "bench", items, now)
    elapsed = time.perf_counter() - start
    assert result.new == len(items), result
    engine.dispose()
    return elapsed


def bench_sqlite3(path: Path, items) -> float:
    """The same rows into the same (migrated) tables with the bare driver: the floor to compare with."""
    engine = create_db_engine(f"sqlite:///{path}")
    upgrade_database(engine)
    engine.dispose()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "INSERT INTO sources (id, url, configured_url, consecutive_failures, best_count, drift_alarm) "
        "VALUES ('bench', 'u', 'u', 0, 0, 0)"
    )
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    iso = lambda d: d.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds") if d else None  # noqa: E731
    start = time.perf_counter()
    conn.executemany(
        "INSERT INTO resources (id, canonical_url, url, title, summary, summary_html, type, published_at, updated_at,"
        " doi, authors, tags, image_url, status, created_at, modified_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            (
                i + 1,
                r.canonical_url,
                r.url,
                r.title,
                r.summary,
                r.summary_html,
                r.type.value,
                iso(r.published),
                iso(r.updated),
                r.doi,
                json.dumps(list(r.authors)),
                json.dumps(list(r.tags)),
                r.image_url,
                "pending",
                now,
                now,
            )
            for i, r in enumerate(items)
        ],
    )
    conn.executemany(
        "INSERT INTO entries (source_id, key, resource_id, url, canonical_url, title, summary, summary_html, type,"
        " published_at, updated_at, doi, authors, tags, extra, content_hash, first_seen_at, last_seen_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            (
                r.source_id,
                r.key,
                i + 1,
                r.url,
                r.canonical_url,
                r.title,
                r.summary,
                r.summary_html,
                r.type.value,
                iso(r.published),
                iso(r.updated),
                r.doi,
                json.dumps(list(r.authors)),
                json.dumps(list(r.tags)),
                json.dumps(dict(r.extra)),
                r.content_hash,
                now,
                now,
            )
            for i, r in enumerate(items)
        ],
    )
    conn.commit()
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="interleaved runs of each; the best is compared")
    args = parser.parse_args()
    items = make_resources(args.count)
    baselines, ours = [], []
    with tempfile.TemporaryDirectory() as tmp:
        # Interleaved, best of N: load from other work on the machine inflates neither side alone.
        for run in range(args.repeat):
            baselines.append(bench_sqlite3(Path(tmp) / f"raw-{run}.db", items))
            ours.append(bench_store(Path(tmp) / f"store-{run}.db", items))
    baseline, best = min(baselines), min(ours)
    ratio = best / baseline
    print(
        f"store: {args.count} resources, best of {args.repeat}  sqlite3 executemany {baseline:.2f}s  "
        f"store_resources {best:.2f}s ({args.count / best:,.0f} resources/s)  ratio {ratio:.2f}x (target <= {TARGET}x)"
    )
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
