"""Parse benchmark: 200 generated WordPress-like RSS 2.0 feeds x 50 entries through three parsers.

(a) a bare lxml parse + field extraction (title, link, guid, pubDate, description), the floor;
(b) aggregator's parse_feed (fast path + nh3 sanitising of summary and content), and (b') the same
    with with_content=False (content:encoded not sanitised; Resource keeps only the summary);
(c) feedparser with its defaults.
Prints entries/s and the ratio of each to (a). Run: .venv/bin/python bench/parse_bench.py [--feeds N]
"""

from __future__ import annotations

import argparse
import random
import time
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone

import feedparser
from lxml import etree

from aggregator.adapters.feed import parse_feed

WORDS = ("compassion kindness care patient nurse staff wellbeing listening dignity respect team ward "
         "community health hospital research practice evidence training leadership culture").split()


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def _content(rng: random.Random, i: int) -> str:
    paragraphs = []
    for p in range(6):
        paragraphs.append(
            f'<p>{_sentence(rng, 25)} <a href="/2024/05/post-{i}-{p}/" title="more">{_sentence(rng, 3)}</a> '
            f"<strong>{_sentence(rng, 4)}</strong> <em>{_sentence(rng, 5)}</em> &amp; {_sentence(rng, 12)}</p>")
    paragraphs.append(f'<figure class="wp-block-image"><img loading="lazy" width="800" height="400" '
                      f'src="https://partner.example.org/wp-content/uploads/2024/05/img{i}.jpg" alt="care" '
                      f'class="wp-image-{i}" srcset="a.jpg 300w, b.jpg 800w"/><figcaption>{_sentence(rng, 6)}'
                      f"</figcaption></figure>")
    paragraphs.append(f"<ul><li>{_sentence(rng, 6)}</li><li>{_sentence(rng, 6)}</li></ul>")
    return "\n".join(paragraphs)


def generate_feed(rng: random.Random, feed_no: int, entries: int) -> bytes:
    start = datetime(2024, 5, 1, tzinfo=timezone.utc)
    items = []
    for i in range(entries):
        n = feed_no * entries + i
        when = format_datetime(start - timedelta(hours=n))
        items.append(f"""<item>
<title>{_sentence(rng, 7)}</title>
<link>https://partner.example.org/2024/05/post-{n}/</link>
<comments>https://partner.example.org/2024/05/post-{n}/#respond</comments>
<dc:creator><![CDATA[{rng.choice(WORDS).title()} {rng.choice(WORDS).title()}]]></dc:creator>
<pubDate>{when}</pubDate>
<category><![CDATA[{rng.choice(WORDS)}]]></category>
<category><![CDATA[{rng.choice(WORDS)}]]></category>
<guid isPermaLink="false">https://partner.example.org/?p={n}</guid>
<description><![CDATA[<p>{_sentence(rng, 30)} [&#8230;]</p>
<p>The post <a href="https://partner.example.org/2024/05/post-{n}/">{_sentence(rng, 4)}</a> appeared first.</p>]]></description>
<content:encoded><![CDATA[{_content(rng, n)}]]></content:encoded>
<wfw:commentRss>https://partner.example.org/2024/05/post-{n}/feed/</wfw:commentRss>
<slash:comments>0</slash:comments>
</item>""")
    return f"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"
xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:wfw="http://wellformedweb.org/CommentAPI/"
xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom"
xmlns:sy="http://purl.org/rss/1.0/modules/syndication/" xmlns:slash="http://purl.org/rss/1.0/modules/slash/">
<channel><title>Partner</title><atom:link href="https://partner.example.org/feed/" rel="self"
type="application/rss+xml"/><link>https://partner.example.org</link><description>Care</description>
<lastBuildDate>Wed, 01 May 2024 09:00:00 +0000</lastBuildDate><language>en-GB</language>
<sy:updatePeriod>hourly</sy:updatePeriod><generator>https://wordpress.org/?v=6.5</generator>
{"".join(items)}</channel></rss>""".encode()


def bare_lxml(body: bytes) -> int:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.fromstring(body, parser)
    count = 0
    for item in root.iter("item"):
        fields = (item.findtext("title"), item.findtext("link"), item.findtext("guid"),
                  item.findtext("pubDate"), item.findtext("description"))
        count += fields[1] is not None
    return count


def ours(body: bytes) -> int:
    return len(parse_feed(body, "https://partner.example.org/feed/", content_type="application/rss+xml; charset=UTF-8"))


def ours_without_content(body: bytes) -> int:
    return len(parse_feed(body, "https://partner.example.org/feed/", content_type="application/rss+xml; charset=UTF-8",
                          with_content=False))


def with_feedparser(body: bytes) -> int:
    return len(feedparser.parse(body, response_headers={"content-location": "https://partner.example.org/feed/"}).entries)


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
    rng = random.Random(7)
    feeds = [generate_feed(rng, n, args.entries) for n in range(args.feeds)]
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
