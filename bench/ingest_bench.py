"""Ingest benchmark on real feeds: every feed of ../shared/corpus/feeds that has entries, repeated to about
20,000 entries, read by the feed adapter (feedparser, then nh3) against default `feedparser.parse` on the
same bytes, in the same process, runs interleaved and the best of --repeat kept for each side.

Target: parse + sanitise at least 2.5x faster than default feedparser.parse (which sanitises and resolves
links itself, more slowly). The bare-lxml ratio (a recovering lxml parse of the same bytes, which reads no
field) is printed beside it, and normalise and store times are reported for the same entries.
Exits 1 when the target is missed.

    .venv/bin/python bench/ingest_bench.py [--entries 20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

import feedparser
from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aggregator.config.sources import SourceConfig  # noqa: E402
from aggregator.db.engine import create_db_engine, upgrade_database  # noqa: E402
from aggregator.db.store import store_resources, sync_sources  # noqa: E402
from aggregator.errors import ParseError  # noqa: E402
from aggregator.ingest.adapters.feed import parse_feed  # noqa: E402
from aggregator.ingest.normalize import normalize_entry  # noqa: E402
from tests.test_feed_corpus import feed_inputs  # noqa: E402

TARGET = 2.5
CORPUS = ROOT.parent / "shared" / "corpus"


def corpus_feeds(wanted: int) -> tuple[list[tuple[bytes, str]], int]:
    """Every corpus feed the adapter reads entries from, repeated until `wanted` entries; and their count."""
    readable = []
    for path in feed_inputs(CORPUS):
        body, base = path.read_bytes(), "https://example.org/" + path.name
        try:
            count = len(parse_feed(body, base))
        except ParseError:
            continue
        if count:
            readable.append((body, base, count))
    feeds, total = [], 0
    while total < wanted:
        for body, base, count in readable:
            feeds.append((body, base))
            total += count
    return feeds, total


def timed(function, feeds) -> float:
    started = time.perf_counter()
    for body, base in feeds:
        function(body, base)
    return time.perf_counter() - started


def default_feedparser(body: bytes, base: str) -> None:
    feedparser.parse(io.BytesIO(body), response_headers={"content-location": base})


_RECOVER = etree.XMLParser(recover=True, resolve_entities=False, no_network=True)


def bare_lxml(body: bytes, base: str) -> None:
    etree.fromstring(body, _RECOVER)


def store_pass(feeds) -> tuple[float, float, int]:
    """Seconds to normalise and to store every entry of `feeds` (a source per feed) in a fresh SQLite file."""
    configs = [SourceConfig(id=f"s{n}", name=f"S{n}", url=base, adapter="feed") for n, (_, base) in enumerate(feeds)]
    readings = [parse_feed(body, base) for body, base in feeds]
    with tempfile.TemporaryDirectory() as folder:
        engine = create_db_engine(f"sqlite:///{folder}/bench.db")
        upgrade_database(engine)
        with engine.begin() as conn:
            sync_sources(conn, configs)
        started = time.perf_counter()
        normalised = [[normalize_entry(e, config) for e in entries] for config, entries in zip(configs, readings)]
        normalise = time.perf_counter() - started
        started = time.perf_counter()
        for config, items in zip(configs, normalised):
            with engine.begin() as conn:
                store_resources(conn, config.id, items, now=_NOW)
        stored = time.perf_counter() - started
        engine.dispose()
    return normalise, stored, sum(map(len, normalised))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    feeds, total = corpus_feeds(args.entries)
    ours, default, floor = [], [], []
    for _ in range(args.repeat):
        default.append(timed(default_feedparser, feeds))
        ours.append(timed(lambda body, base: parse_feed(body, base), feeds))
        floor.append(timed(bare_lxml, feeds))
    best_ours, best_default, best_floor = min(ours), min(default), min(floor)
    speedup = best_default / best_ours
    print(f"{len(feeds)} real feeds, {total} entries; best of {args.repeat}")
    print(f"default feedparser.parse   {best_default:6.2f} s  {total / best_default:8.0f} entries/s")
    print(
        f"parse + sanitise (ours)    {best_ours:6.2f} s  {total / best_ours:8.0f} entries/s  "
        f"{speedup:.2f}x faster than default feedparser (target >= {TARGET}x)"
    )
    print(f"bare lxml parse (floor)    {best_floor:6.2f} s  ours = {best_ours / best_floor:.1f}x the floor")
    normalise, stored, count = store_pass(feeds[: max(1, len(feeds) // 2)])
    print(f"normalise {count} entries  {normalise:6.2f} s; store {stored:6.2f} s ({count / stored:.0f} resources/s)")
    return 0 if speedup >= TARGET else 1


_NOW = __import__("datetime").datetime(2026, 12, 1, tzinfo=__import__("datetime").timezone.utc)

if __name__ == "__main__":
    sys.exit(main())
