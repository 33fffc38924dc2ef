"""Feed autodiscovery: the feeds an HTML page announces with <link rel="alternate">."""

from __future__ import annotations

from urllib.parse import urljoin

import lxml.html
from lxml import etree

from aggregator.text.sanitize import is_http_url

FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/feed+json",
        "application/json",
        "application/rdf+xml",
        "application/x.atom+xml",
        "application/x-atom+xml",
    }
)


def discover_feeds(html: bytes, base_url: str) -> list[str]:
    """Absolute http(s) URLs of the feeds the page links to, in document order, without repeats.

    Honours <base href>; returns [] for bytes that are not an HTML page.
    """
    if not html or not html.strip():
        return []
    try:
        document = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return []
    base = base_url
    for element in document.iter("base"):
        href = (element.get("href") or "").strip()
        if href:
            base = urljoin(base_url, href)
            break
    feeds: dict[str, None] = {}
    for link in document.iter("link"):
        rels = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").split(";")[0].strip().lower()
        href = (link.get("href") or "").strip()
        if "alternate" not in rels or kind not in FEED_TYPES or not href:
            continue
        try:
            url = urljoin(base, href)
        except ValueError:
            continue
        # WordPress announces its REST API as an application/json "alternate": that is not a feed.
        if is_http_url(url) and not (kind == "application/json" and "/wp-json/" in url):
            feeds.setdefault(url, None)
    return list(feeds)
