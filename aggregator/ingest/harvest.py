"""Harvesting one source: the requests its adapter needs, made through an injected fetcher, then pure parsing."""

from __future__ import annotations

# Everything the fetch threads use is imported here, before any of them starts: importing a module for
# the first time in several threads at once can end in "_DeadlockError: deadlock detected by _ModuleLock".
import html
import logging
import xml.sax.expatreader  # noqa: F401 - feedparser's strict parser; xml.sax imports it on first use
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from aggregator.config.sources import SourceConfig
from aggregator.errors import FetchError, ParseError
from aggregator.ingest.adapters.discover import discover_feeds
from aggregator.ingest.adapters.feed import parse_feed
from aggregator.ingest.adapters.govuk import content_api_url, parse_content_item
from aggregator.ingest.adapters.metadata import enrich_entry, extract_metadata
from aggregator.ingest.adapters.oaipmh import harvest_records
from aggregator.ingest.adapters.page import parse_page
from aggregator.model import RawEntry

logger = logging.getLogger(__name__)

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.8, text/html;q=0.5, */*;q=0.1"
)
HTML_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
MAX_DETAIL_PAGES = 200  # per source and run: following links is for enrichment, not crawling


class FetchedLike(Protocol):
    url: str
    status: int
    body: bytes
    content_type: str | None
    etag: str | None
    last_modified: str | None
    permanent_redirect: str | None

    @property
    def not_modified(self) -> bool: ...


class Fetcher(Protocol):
    """What harvesting needs from the HTTP layer (aggregator.ingest.fetch.Fetcher satisfies it)."""

    def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None, accept: str | None = None
    ) -> FetchedLike: ...


@dataclass(frozen=True, slots=True)
class HarvestRequest:
    """What the pipeline knows when it asks for a harvest."""

    source: SourceConfig
    url: str  # the current URL (after any stored permanent redirect)
    etag: str | None = None
    last_modified: str | None = None
    cursor: str | None = None  # OAI-PMH incremental `from`


@dataclass(frozen=True, slots=True)
class Harvest:
    """What one source gave this run."""

    entries: tuple[RawEntry, ...]
    http_status: int | None
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None
    permanent_redirect: str | None = None
    cursor: str | None = None


def harvest_source(request: HarvestRequest, fetcher: Fetcher) -> Harvest:
    """Fetch and parse one source with its adapter; raises FetchError or ParseError."""
    adapter = request.source.adapter
    harvester = _HARVESTERS[adapter]
    harvest = harvester(request, fetcher)
    if request.source.title_fields and harvest.entries:
        from aggregator.ingest.adapters.title_fields import apply_title_fields

        harvest = replace(harvest, entries=tuple(apply_title_fields(harvest.entries, request.source.title_fields)))
    return harvest


def _harvest_feed(request: HarvestRequest, fetcher: Fetcher) -> Harvest:
    fetched = fetcher.fetch(request.url, etag=request.etag, last_modified=request.last_modified, accept=FEED_ACCEPT)
    if fetched.not_modified:
        return _unchanged(fetched)
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
    return _harvested(fetched, entries)


def _harvest_page(request: HarvestRequest, fetcher: Fetcher) -> Harvest:
    selectors = request.source.selectors
    assert selectors is not None  # guaranteed by SourceConfig validation
    fetched = fetcher.fetch(request.url, etag=request.etag, last_modified=request.last_modified, accept=HTML_ACCEPT)
    if fetched.not_modified:
        return _unchanged(fetched)
    entries = parse_page(fetched.body, fetched.url, selectors, max_entries=request.source.max_entries)
    if selectors.follow_links:
        entries = enrich_from_pages(entries, fetcher)
    return _harvested(fetched, entries)


def _harvest_metadata(request: HarvestRequest, fetcher: Fetcher) -> Harvest:
    fetched = fetcher.fetch(request.url, etag=request.etag, last_modified=request.last_modified, accept=HTML_ACCEPT)
    if fetched.not_modified:
        return _unchanged(fetched)
    meta = extract_metadata(fetched.body, fetched.url)
    if not meta.title:
        raise ParseError(f"no title found in the page's metadata at {fetched.url}")
    entry = RawEntry(
        url=meta.url or fetched.url,
        title=meta.title,
        guid=meta.url or fetched.url,
        summary_html=f"<p>{html.escape(meta.description)}</p>" if meta.description else None,
        published=meta.published,
        updated=meta.updated,
        authors=meta.authors,
        tags=meta.tags,
        type_hint=meta.type_hint,
        doi=meta.doi,
        event=meta.event,
        image_url=meta.image_url,
    )
    return _harvested(fetched, [entry])


def _harvest_govuk(request: HarvestRequest, fetcher: Fetcher) -> Harvest:
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


def _harvest_oai(request: HarvestRequest, fetcher: Fetcher) -> Harvest:
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


def _harvest_wordpress(request: HarvestRequest, fetcher: Fetcher) -> Harvest:
    from aggregator.ingest.adapters.wordpress import category_lookup_url, parse_category_id, parse_wp_posts, posts_url

    options = request.source.wordpress
    category_id = None
    if options and options.category:
        lookup = fetcher.fetch(category_lookup_url(request.url, options.category), accept="application/json")
        category_id = parse_category_id(lookup.body, options.category, lookup.url)
    url = posts_url(request.url, category_id=category_id, max_entries=request.source.max_entries)
    fetched = fetcher.fetch(url, etag=request.etag, last_modified=request.last_modified, accept="application/json")
    if fetched.not_modified:
        return _unchanged(fetched)
    return _harvested(fetched, parse_wp_posts(fetched.body, fetched.url, max_entries=request.source.max_entries))


def enrich_from_pages(entries: list[RawEntry], fetcher: Fetcher) -> list[RawEntry]:
    """Fill missing fields of each entry from its own page's metadata; a failing page keeps the entry."""
    enriched = []
    for index, entry in enumerate(entries):
        if index >= MAX_DETAIL_PAGES:
            enriched.append(entry)
            continue
        try:
            page = fetcher.fetch(entry.url, accept=HTML_ACCEPT)
            enriched.append(enrich_entry(entry, extract_metadata(page.body, page.url)))
        except (FetchError, ParseError) as exc:
            logger.warning("detail page skipped: %s", exc, extra={"url": entry.url})
            enriched.append(entry)
    return enriched


def _unchanged(fetched: FetchedLike) -> Harvest:
    return Harvest(
        entries=(),
        http_status=fetched.status,
        not_modified=True,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        permanent_redirect=fetched.permanent_redirect,
    )


def _harvested(fetched: FetchedLike, entries: list[RawEntry]) -> Harvest:
    return Harvest(
        entries=tuple(entries),
        http_status=fetched.status,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        permanent_redirect=fetched.permanent_redirect,
    )


_HARVESTERS: dict[str, Callable[[HarvestRequest, Fetcher], Harvest]] = {
    "feed": _harvest_feed,
    "page": _harvest_page,
    "metadata": _harvest_metadata,
    "govuk": _harvest_govuk,
    "oai-pmh": _harvest_oai,
    "wordpress": _harvest_wordpress,
}
