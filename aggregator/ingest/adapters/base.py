"""What every adapter's harvest works with: the request, the injected fetcher, the result, and shared helpers."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from aggregator.config.sources import SourceConfig
from aggregator.errors import FetchError, ParseError
from aggregator.ingest.adapters.metadata import enrich_entry, extract_metadata
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


def unchanged(fetched: FetchedLike) -> Harvest:
    return Harvest(
        entries=(),
        http_status=fetched.status,
        not_modified=True,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        permanent_redirect=fetched.permanent_redirect,
    )


def harvested(fetched: FetchedLike, entries: list[RawEntry]) -> Harvest:
    return Harvest(
        entries=tuple(entries),
        http_status=fetched.status,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        permanent_redirect=fetched.permanent_redirect,
    )
