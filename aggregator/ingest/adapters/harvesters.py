"""How each built-in adapter harvests a source: the requests it makes through the fetcher, then its pure parser.

A new adapter may keep its harvest function in its own module instead; either way it is named in the registry."""

from __future__ import annotations

import logging
from datetime import datetime

from aggregator.errors import ParseError
from aggregator.ingest.adapters.base import (
    FEED_ACCEPT,
    HTML_ACCEPT,
    Fetcher,
    Harvest,
    HarvestRequest,
    enrich_from_pages,
    harvested,
    unchanged,
)
from aggregator.ingest.adapters.discover import discover_feeds
from aggregator.ingest.adapters.feed import parse_feed
from aggregator.ingest.adapters.govuk import content_api_url, parse_content_item
from aggregator.ingest.adapters.metadata import extract_metadata, metadata_entry
from aggregator.ingest.adapters.oaipmh import harvest_records
from aggregator.ingest.adapters.page import parse_page
from aggregator.ingest.adapters.wordpress import category_lookup_url, parse_category_id, parse_wp_posts, posts_url
from aggregator.model import RawEntry

logger = logging.getLogger(__name__)


def harvest_feed(request: HarvestRequest, fetcher: Fetcher) -> Harvest:
    fetched = fetcher.fetch(request.url, etag=request.etag, last_modified=request.last_modified, accept=FEED_ACCEPT)
    if fetched.not_modified:
        return unchanged(fetched)
    limit = request.source.max_entries
    try:
        entries = parse_feed(
            fetched.body,
            fetched.url,
            content_type=fetched.content_type,
            max_entries=limit,
            with_content=request.source.full_content,
        )
    except ParseError:
        # An HTML page where a feed was expected: follow its <link rel="alternate"> (autodiscovery).
        candidates = discover_feeds(fetched.body, fetched.url)
        if not candidates:
            raise
        logger.info("feed discovered from page", extra={"url": fetched.url, "feed_url": candidates[0]})
        feed = fetcher.fetch(candidates[0], accept=FEED_ACCEPT)
        entries = parse_feed(
            feed.body,
            feed.url,
            content_type=feed.content_type,
            max_entries=limit,
            with_content=request.source.full_content,
        )
    return harvested(fetched, entries)


def harvest_page(request: HarvestRequest, fetcher: Fetcher) -> Harvest:
    selectors = request.source.selectors
    assert selectors is not None  # guaranteed by SourceConfig validation
    fetched = fetcher.fetch(request.url, etag=request.etag, last_modified=request.last_modified, accept=HTML_ACCEPT)
    if fetched.not_modified:
        return unchanged(fetched)
    entries = parse_page(fetched.body, fetched.url, selectors, max_entries=request.source.max_entries)
    if selectors.follow_links:
        entries = enrich_from_pages(entries, fetcher)
    return harvested(fetched, entries)


def harvest_metadata(request: HarvestRequest, fetcher: Fetcher) -> Harvest:
    fetched = fetcher.fetch(request.url, etag=request.etag, last_modified=request.last_modified, accept=HTML_ACCEPT)
    if fetched.not_modified:
        return unchanged(fetched)
    meta = extract_metadata(fetched.body, fetched.url)
    if not meta.title:
        raise ParseError(f"no title found in the page's metadata at {fetched.url}")
    entry = metadata_entry(meta, meta.url or fetched.url, guid=meta.url or fetched.url)
    return harvested(fetched, [entry])


def harvest_govuk(request: HarvestRequest, fetcher: Fetcher) -> Harvest:
    govuk = request.source.govuk
    paths = govuk.paths if govuk and govuk.paths else ()
    if not paths:
        raise ParseError("the govuk adapter needs `govuk: {paths: [...]}` in sources.yaml")
    entries: list[RawEntry] = []
    status = None
    for path in paths:
        fetched = fetcher.fetch(content_api_url(request.url, path), accept="application/json")
        status = fetched.status
        entries.extend(parse_content_item(fetched.body, fetched.url))
    return Harvest(entries=tuple(entries[: request.source.max_entries]), http_status=status)


def harvest_oai(request: HarvestRequest, fetcher: Fetcher) -> Harvest:
    oai = request.source.oai
    from_date = datetime.fromisoformat(request.cursor) if request.cursor else None
    entries, response_date = harvest_records(
        lambda url: fetcher.fetch(url, accept="text/xml").body,
        request.url,
        metadata_prefix=oai.metadata_prefix if oai else "oai_dc",
        set_spec=oai.set if oai else None,
        from_date=from_date,
        max_entries=request.source.max_entries,
    )
    entries = entries[: request.source.max_entries]
    if oai and oai.item_pages:
        entries = enrich_from_pages(entries, fetcher)
    cursor = response_date.isoformat() if response_date else request.cursor
    return Harvest(entries=tuple(entries), http_status=200, cursor=cursor)


def harvest_wordpress(request: HarvestRequest, fetcher: Fetcher) -> Harvest:
    options = request.source.wordpress
    category_id = None
    if options and options.category:
        lookup = fetcher.fetch(category_lookup_url(request.url, options.category), accept="application/json")
        category_id = parse_category_id(lookup.body, options.category, lookup.url)
    url = posts_url(request.url, category_id=category_id, max_entries=request.source.max_entries)
    fetched = fetcher.fetch(url, etag=request.etag, last_modified=request.last_modified, accept="application/json")
    if fetched.not_modified:
        return unchanged(fetched)
    return harvested(fetched, parse_wp_posts(fetched.body, fetched.url, max_entries=request.source.max_entries))
