"""Harvesting one source: the requests its adapter needs, made through an injected fetcher, then pure parsing."""

from __future__ import annotations

# Everything the fetch threads use is imported here, before any of them starts: importing a module for
# the first time in several threads at once can end in "_DeadlockError: deadlock detected by _ModuleLock".
import html  # noqa: F401 - used by the harvesters
import xml.sax.expatreader  # noqa: F401 - feedparser's strict parser; xml.sax imports it on first use
from dataclasses import replace

from aggregator.ingest.adapters import registry
from aggregator.ingest.adapters.base import (
    FEED_ACCEPT,
    HTML_ACCEPT,
    MAX_DETAIL_PAGES,
    FetchedLike,
    Fetcher,
    Harvest,
    HarvestRequest,
    enrich_from_pages,
)

__all__ = [
    "FEED_ACCEPT",
    "HTML_ACCEPT",
    "MAX_DETAIL_PAGES",
    "FetchedLike",
    "Fetcher",
    "Harvest",
    "HarvestRequest",
    "enrich_from_pages",
    "harvest_source",
]

registry.load_all()  # every registered adapter imported now, in the importing thread (see above)


def harvest_source(request: HarvestRequest, fetcher: Fetcher) -> Harvest:
    """Fetch and parse one source with its adapter; raises FetchError or ParseError."""
    adapter = request.source.adapter
    harvester = registry.load_adapter(adapter)
    harvest = harvester(request, fetcher)
    if request.source.title_fields and harvest.entries:
        from aggregator.ingest.adapters.title_fields import apply_title_fields

        harvest = replace(harvest, entries=tuple(apply_title_fields(harvest.entries, request.source.title_fields)))
    return harvest
