"""Generated WordPress-like RSS 2.0 feeds with realistic HTML, and the bare lxml floor they are timed against.

Shared by the parse and ingest benchmarks so both measure the same bytes against the same floor.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from lxml import etree

BASE_URL = "https://partner.example.org/feed/"
CONTENT_TYPE = "application/rss+xml; charset=UTF-8"

WORDS = (
    "compassion kindness care patient nurse staff wellbeing listening dignity respect team ward "
    "community health hospital research practice evidence training leadership culture"
).split()


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def _content(rng: random.Random, i: int) -> str:
    paragraphs = []
    for p in range(6):
        paragraphs.append(
            f'<p>{_sentence(rng, 25)} <a href="/2024/05/post-{i}-{p}/" title="more">{_sentence(rng, 3)}</a> '
            f"<strong>{_sentence(rng, 4)}</strong> <em>{_sentence(rng, 5)}</em> &amp; {_sentence(rng, 12)}</p>"
        )
    paragraphs.append(
        f'<figure class="wp-block-image"><img loading="lazy" width="800" height="400" '
        f'src="https://partner.example.org/wp-content/uploads/2024/05/img{i}.jpg" alt="care" '
        f'class="wp-image-{i}" srcset="a.jpg 300w, b.jpg 800w"/><figcaption>{_sentence(rng, 6)}'
        f"</figcaption></figure>"
    )
    paragraphs.append(f"<ul><li>{_sentence(rng, 6)}</li><li>{_sentence(rng, 6)}</li></ul>")
    return "\n".join(paragraphs)


def generate_feed(rng: random.Random, feed_no: int, entries: int) -> bytes:
    start = datetime(2024, 5, 1, tzinfo=UTC)
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


def generate_feeds(count: int, entries: int, seed: int = 7) -> list[bytes]:
    """`count` feeds of `entries` entries each, the same bytes for the same seed."""
    rng = random.Random(seed)
    return [generate_feed(rng, n, entries) for n in range(count)]


def bare_lxml(body: bytes) -> int:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.fromstring(body, parser)
    count = 0
    for item in root.iter("item"):
        fields = (
            item.findtext("title"),
            item.findtext("link"),
            item.findtext("guid"),
            item.findtext("pubDate"),
            item.findtext("description"),
        )
        count += fields[1] is not None
    return count
