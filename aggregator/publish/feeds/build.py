"""Building every feed as static files (`aggregator feeds build`), with an HTML index and an OPML list."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from xml.etree import ElementTree

from sqlalchemy import Engine

from aggregator.digest.links import webcal
from aggregator.publish.feeds.calendar import calendar_stem, upcoming_calendar
from aggregator.publish.feeds.model import FORMATS, Feed, FeedKey
from aggregator.publish.feeds.query import FeedContext, load_context, load_feed
from aggregator.publish.feeds.render import plain, render_feed
from aggregator.publish.feeds.static import page_environment, write_atomically
from aggregator.settings import Settings

logger = logging.getLogger(__name__)
# Written at the end of every build: the web app's cached feeds index is built again when it changes.
BUILT_MARKER = ".built"


@dataclass(frozen=True, slots=True)
class FeedListing:
    """One feed on the index page: its name and its address in each format."""

    kind: str
    title: str
    label: str
    urls: tuple[tuple[str, str, str], ...]  # (format name, URL, media type)
    entries: int
    calendar_url: str = ""  # webcal:// address of its upcoming events


@dataclass(frozen=True, slots=True)
class BuildReport:
    output_dir: Path
    feeds: int  # feeds built (each in every format)
    written: int  # files that changed
    unchanged: int  # files left as they were
    entries: int  # resources in the combined feed
    built_at: datetime


def build_feeds(
    engine: Engine, settings: Settings, now: datetime, *, output: Path | None = None, context: FeedContext | None = None
) -> BuildReport:
    """Write every feed in every format, its calendar of upcoming events (.ics), index.html and index.opml
    into `output` (default settings.feeds_dir).

    Files are replaced atomically and only when their bytes change."""
    context = context or load_context(settings)
    out = output or settings.feeds_dir
    files: dict[Path, bytes] = {}
    with engine.connect() as conn:
        feeds = [(key, load_feed(conn, key, context)) for key in context.keys()]
        for key in context.keys():
            files[out / f"{calendar_stem(key)}.ics"] = upcoming_calendar(conn, key, now, context)
    for key, feed in feeds:
        for fmt, spec in FORMATS.items():
            files[out / f"{key.stem}.{spec.extension}"] = render_feed(feed, fmt)
    listings = feed_listings(feeds, context)
    files[out / "index.html"] = render_index(listings, context).encode("utf-8")
    files[out / "index.opml"] = render_opml(listings, context)
    written = sum(write_atomically(path, data) for path, data in files.items())
    out.mkdir(parents=True, exist_ok=True)
    (out / BUILT_MARKER).write_text(now.isoformat() + "\n", encoding="utf-8")
    combined = len(feeds[0][1].entries) if feeds else 0
    logger.info("feeds built", extra={"count": len(feeds), "written": written, "path": str(out)})
    return BuildReport(out, len(feeds), written, len(files) - written, combined, now)


def feed_listings(feeds: list[tuple[FeedKey, Feed]], context: FeedContext) -> list[FeedListing]:
    listings = []
    for key, feed in feeds:
        label = "All resources" if key.kind == "all" else context.label_names[(key.kind, key.label_id or "")]
        urls = tuple((name, feed.self_url(name), spec.media_type) for name, spec in FORMATS.items())
        calendar = webcal(f"{context.feeds_url}{calendar_stem(key)}.ics")
        listings.append(FeedListing(key.kind, feed.title, label, urls, len(feed.entries), calendar))
    return listings


def render_index(listings: list[FeedListing], context: FeedContext) -> str:
    """The feeds index page (pure): every feed with its three formats, grouped by kind."""
    template = page_environment().get_template("archive/feeds.html")
    return template.render(
        listings=listings,
        publisher=context.publisher,
        home_url=context.base_url + "/",
        archive_url=context.base_url + "/archive/",
        opml_url=context.feeds_url + "index.opml",
    )


def render_opml(listings: list[FeedListing], context: FeedContext) -> bytes:
    """An OPML 2.0 list of the RSS feeds, to import all of them into a reader at once."""
    opml = ElementTree.Element("opml", version="2.0")
    head = ElementTree.SubElement(opml, "head")
    ElementTree.SubElement(head, "title").text = plain(f"{context.publisher}: feeds")
    body = ElementTree.SubElement(opml, "body")
    for listing in listings:
        rss_url = next(url for name, url, _ in listing.urls if name == "rss")
        ElementTree.SubElement(
            body,
            "outline",
            type="rss",
            text=plain(listing.title),
            title=plain(listing.title),
            xmlUrl=rss_url,
            htmlUrl=context.base_url + "/",
        )
    ElementTree.indent(opml)
    return ElementTree.tostring(opml, encoding="utf-8", xml_declaration=True) + b"\n"
