"""Parse benchmark: 200 generated WordPress-like RSS 2.0 feeds x 50 entries through three parsers.

(a) a bare lxml parse + field extraction (title, link, guid, pubDate, description), the floor;
(b) aggregator's parse_feed (fast path + nh3 sanitising of summary and content), and (b') the same
    with with_content=False (content:encoded not sanitised; Resource keeps only the summary);
(c) feedparser with its defaults.
Prints entries/s and the ratio of each to (a). Run: .venv/bin/python bench/parse_bench.py [--feeds N]
"""

from __future__ import annotations

import argparse
import time

import feedparser
from synthetic_feeds import BASE_URL, CONTENT_TYPE, bare_lxml, generate_feeds

from aggregator.ingest.adapters.feed import parse_feed


def ours(body: bytes) -> int:
    return len(parse_feed(body, BASE_URL, content_type=CONTENT_TYPE))


def ours_without_content(body: bytes) -> int:
    return len(parse_feed(body, BASE_URL, content_type=CONTENT_TYPE, with_content=False))


def with_feedparser(body: bytes) -> int:
    return len(feedparser.parse(body, response_headers={"content-location": BASE_URL}).entries)


def time_parser(parse, feeds: list[bytes], repeat: int) -> tuple[float, int]:
    best, count = float("inf"), 0
    for _ in range(repeat):
        started = time.perf_counter()
        count = sum(parse(body) for body in feeds)
        best = min(best, time.perf_counter() - started)
    return best, count


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--feeds", type=int, default=200)
    options.add_argument("--entries", type=int, default=50)
    options.add_argument("--repeat", type=int, default=3)
    args = options.parse_args()
    feeds = generate_feeds(args.feeds, args.entries)
    size = sum(map(len, feeds))
    print(f"{args.feeds} feeds x {args.entries} entries, {size / 1e6:.1f} MB")
    floor, expected = time_parser(bare_lxml, feeds, args.repeat)
    rows = [("(a) bare lxml parse + fields", floor, expected)]
    rows.append(("(b) parse_feed (fast path + nh3)", *time_parser(ours, feeds, args.repeat)))
    rows.append(("(b') parse_feed, with_content=False", *time_parser(ours_without_content, feeds, args.repeat)))
    rows.append(("(c) feedparser defaults", *time_parser(with_feedparser, feeds, 1)))
    for label, seconds, count in rows:
        assert count == expected, (label, count, expected)
        print(f"{label:36} {seconds:7.2f} s  {count / seconds:10,.0f} entries/s  {seconds / floor:6.1f}x")


if __name__ == "__main__":
    main()
