"""Suggested resources: read one page's metadata through the guarded fetcher, store it under the pseudo-source
`suggested` (so the queue shows who listed it: "Suggested"), and label it like any fetched resource."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from aggregator.classify.classifier import Classifier
from aggregator.config.sources import Hints, SourceConfig, check_http_url
from aggregator.db.schema import entries, resources
from aggregator.db.store import store_resources, sync_sources
from aggregator.errors import AggregatorError
from aggregator.ingest.adapters.base import HTML_ACCEPT, Fetcher
from aggregator.ingest.adapters.metadata import extract_metadata, metadata_entry
from aggregator.ingest.normalize import canonicalize, normalize_entry
from aggregator.model import SUGGESTED

logger = logging.getLogger(__name__)
NOTE_MAX = 500


class SuggestionError(AggregatorError):
    """A suggested address that cannot be read; the message is written for the person who typed it."""

    hint = "check the address in a browser, then try again"


class PageUnreadable(SuggestionError):
    """The page could not be fetched or read; `detail` says why (for editors: it may name internal addresses)."""

    def __init__(self, detail: str) -> None:
        super().__init__("The page could not be read.")
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Suggestion:
    resource_id: int
    title: str
    known: bool  # the resource was already stored (by a source or an earlier suggestion): nothing added


def suggested_source(base_url: str) -> SourceConfig:
    """The pseudo-source's configuration (the metadata adapter's; its URL is the site's own)."""
    return SourceConfig(id=SUGGESTED, name="Suggested", url=base_url, adapter="metadata", enabled=False)


def suggest_resource(
    engine: Engine,
    fetcher: Fetcher,
    url: str,
    *,
    suggested_by: str,
    note: str,
    base_url: str,
    classifier: Classifier,
    hints: Mapping[str, Hints],
    now: datetime,
) -> Suggestion:
    """Store the page at `url` as a pending resource listed by `suggested`, labelled; a page already known
    (same canonical address) is not fetched again. The fetcher refuses private addresses (its net guard)."""
    try:
        url = check_http_url(url)
    except ValueError as exc:
        raise SuggestionError(f"That is not a web address: {exc}.") from None
    known = _known(engine, canonicalize(url))
    if known is not None:
        return Suggestion(known[0], known[1], True)
    try:
        page = fetcher.fetch(url, accept=HTML_ACCEPT)
        meta = extract_metadata(page.body, page.url)
    except AggregatorError as exc:
        logger.info("suggested page not read: %s", exc, extra={"url": url})
        raise PageUnreadable(exc.message) from None
    known = _known(engine, canonicalize(page.url))  # a redirect to a page we have
    if known is not None:
        return Suggestion(known[0], known[1], True)
    entry = metadata_entry(
        meta,
        page.url,  # where the page really is; a canonical link may name any site
        title=meta.title or page.url,
        extra={"suggested_by": suggested_by, **({"note": note[:NOTE_MAX]} if note else {})},
    )
    config = suggested_source(base_url)
    resource = normalize_entry(entry, config)
    with engine.begin() as conn:
        sync_sources(conn, [config])
        store_resources(conn, SUGGESTED, [resource], now)
        resource_id = conn.execute(
            select(entries.c.resource_id).where(entries.c.source_id == SUGGESTED, entries.c.key == resource.key)
        ).scalar_one()
    from aggregator.classify.label import classify_resources

    classify_resources(engine, classifier, hints, now)
    logger.info("resource suggested", extra={"url": page.url, "resource_id": resource_id})
    return Suggestion(resource_id, resource.title, False)


def _known(engine: Engine, canonical_url: str) -> tuple[int, str] | None:
    with engine.connect() as conn:
        row = conn.execute(
            select(resources.c.id, resources.c.title)
            .where(resources.c.canonical_url == canonical_url, resources.c.status != "merged")
            .limit(1)
        ).first()
    return (row.id, row.title) if row else None
