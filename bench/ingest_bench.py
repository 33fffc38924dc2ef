"""Ingest benchmark: 200 generated feeds x 50 entries, fetch-free, parse -> sanitise -> normalise -> store.

Each feed is one source stored in its own transaction, as the pipeline does, into a fresh migrated
SQLite file. The floor is a bare lxml parse + field extraction of the same bytes (bench/synthetic_feeds.py),
timed interleaved with the ingest in the same process; the best of --repeat runs of each is compared so
that other work on the machine inflates neither side. A second pass over the same feeds (every entry
unchanged) must add no rows; its rate is reported too. Exits 1 when the ratio target is missed.

    .venv/bin/python bench/ingest_bench.py [--feeds 200] [--entries 50] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from synthetic_feeds import BASE_URL, CONTENT_TYPE, bare_lxml, generate_feeds
from sqlalchemy import Engine, func, select

from aggregator.adapters.feed import parse_feed
from aggregator.db.engine import create_db_engine, upgrade_database
from aggregator.db.schema import entries, resources
from aggregator.db.store import StoreResult, store_resources, sync_sources
from aggregator.normalize import normalize_entry
from aggregator.pipeline import with_event
from aggregator.sources import SourceConfig

TARGET = 5.0


@dataclass
class Pass:
    """Seconds spent per stage over one pass, and what the store did."""

    parse: float = 0.0
    normalise: float = 0.0
    store: float = 0.0
    cpu: float = 0.0  # processor time of the whole pass (the rest of its time is waiting, mostly for the disk)
    results: list[StoreResult] = field(default_factory=list)

    @property
    def total(self) -> float:
        return self.parse + self.normalise + self.store

    def count(self, name: str) -> int:
        return sum(getattr(r, name) for r in self.results)


def make_sources(count: int) -> list[SourceConfig]:
    return [SourceConfig(id=f"partner-{n}", name=f"Partner {n}", url=f"{BASE_URL}?feed={n}", adapter="feed")
            for n in range(count)]


def ingest(engine: Engine, feeds: list[bytes], configs: list[SourceConfig]) -> Pass:
    timing = Pass()
    cpu_started = time.process_time()
    for body, config in zip(feeds, configs, strict=True):
        started = time.perf_counter()
        raw = parse_feed(body, BASE_URL, content_type=CONTENT_TYPE, with_content=config.full_content)
        parsed = time.perf_counter()
        # The pipeline's normalising step: the event an entry's text announces, then the Resource.
        items = tuple(normalize_entry(with_event(entry), config) for entry in raw)
        normalised = time.perf_counter()
        with engine.begin() as conn:
            timing.results.append(store_resources(conn, config.id, items, datetime.now(timezone.utc)))
        stored = time.perf_counter()
        timing.parse += parsed - started
        timing.normalise += normalised - parsed
        timing.store += stored - normalised
    timing.cpu = time.process_time() - cpu_started
    return timing


def fresh_engine(path: Path, configs: list[SourceConfig]) -> Engine:
    engine = create_db_engine(f"sqlite:///{path}")
    upgrade_database(engine)
    with engine.begin() as conn:
        sync_sources(conn, configs)
    return engine


def row_counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return (conn.scalar(select(func.count()).select_from(resources)),
                conn.scalar(select(func.count()).select_from(entries)))


def time_floor(feeds: list[bytes]) -> tuple[float, float, int]:
    """Seconds and processor seconds of the floor over `feeds`, and the entries it found."""
    started, cpu_started = time.perf_counter(), time.process_time()
    count = sum(bare_lxml(body) for body in feeds)
    return time.perf_counter() - started, time.process_time() - cpu_started, count


def best(passes: list[Pass]) -> Pass:
    return min(passes, key=lambda p: p.total)


def report(label: str, timing: Pass, floor: float, count: int) -> None:
    print(f"{label:28} {timing.total:6.2f} s  {count / timing.total:8,.0f} entries/s  {timing.total / floor:5.2f}x"
          f"   parse+sanitise {timing.parse:5.2f} s  normalise {timing.normalise:5.2f} s  store {timing.store:5.2f} s")


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--feeds", type=int, default=200)
    options.add_argument("--entries", type=int, default=50)
    options.add_argument("--repeat", type=int, default=3)
    args = options.parse_args()
    feeds = generate_feeds(args.feeds, args.entries)
    configs = make_sources(args.feeds)
    expected = args.feeds * args.entries
    print(f"ingest: {args.feeds} feeds x {args.entries} entries, {sum(map(len, feeds)) / 1e6:.1f} MB, "
          f"best of {args.repeat} (interleaved with the floor)")

    floors: list[float] = []
    floor_cpus: list[float] = []
    first: list[Pass] = []
    second: list[Pass] = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.repeat):
            seconds, cpu, count = time_floor(feeds)
            assert count == expected, (count, expected)
            floors.append(seconds)
            floor_cpus.append(cpu)
            engine = fresh_engine(Path(tmp) / f"ingest-{run}.db", configs)
            timing = ingest(engine, feeds, configs)
            assert (timing.count("new"), timing.count("updated")) == (expected, 0), timing.results[:3]
            assert row_counts(engine) == (expected, expected)
            first.append(timing)
            again = ingest(engine, feeds, configs)
            # Re-ingesting unchanged entries must add no rows and rewrite nothing.
            assert (again.count("new"), again.count("updated"), again.count("unchanged")) == (0, 0, expected)
            assert row_counts(engine) == (expected, expected)
            second.append(again)
            engine.dispose()

    floor = min(floors)
    print(f"{'floor: bare lxml + fields':28} {floor:6.2f} s  {expected / floor:8,.0f} entries/s  1.00x")
    report("first pass (all new)", best(first), floor, expected)
    report("second pass (unchanged)", best(second), floor, expected)
    ratio = best(first).total / floor
    # Processor time alone, for what the code costs apart from the disk (the target is the wall-clock ratio).
    print(f"processor time: first pass {min(p.cpu for p in first) / min(floor_cpus):.2f}x the floor's, "
          f"second pass {min(p.cpu for p in second) / min(floor_cpus):.2f}x")
    print(f"ingest ratio {ratio:.2f}x (target <= {TARGET}x)")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
