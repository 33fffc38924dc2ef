"""Rendering a Feed value as RSS 2.0, Atom or JSON Feed 1.1 bytes (pure: values in, bytes out)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import nh3
from feedgen.feed import FeedGenerator

from aggregator.publish.feeds.model import FORMATS, Feed, FeedEntry, FeedEvent, xml_safe
from aggregator.text.sanitize import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, URL_SCHEMES, clean_html, clean_text, is_http_url

LANGUAGE = "en-GB"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
GENERATOR = "kindness-in-care aggregator"
DEFAULT_TIMEZONE = "Europe/London"
# Raised when what a feed shows changes without its data changing (a new field, a new layout): the
# ETag then changes too, so readers holding an old copy fetch the new one.
RENDER_VERSION = "1"
# Feeds are read far from the partner's site: a relative link or image that the entry's own URL could
# not resolve would point at the reader's (or our) host, so it is dropped. A constant, stateless cleaner.
_ABSOLUTE_ONLY = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
    url_schemes=set(URL_SCHEMES),
    link_rel="noopener noreferrer nofollow",
    url_relative="deny",
    strip_comments=True,
)


def render_feed(feed: Feed, fmt: str) -> bytes:
    """`feed` in the format named `fmt` (rss, atom or json)."""
    renderers: dict[str, Callable[[Feed], bytes]] = {"rss": render_rss, "atom": render_atom, "json": render_json}
    return renderers[fmt](feed)


def feed_version(feed: Feed, fmt: str) -> str:
    """A strong validator (ETag value) for `feed` in `fmt`, computed without rendering it.

    Feed values are frozen dataclasses of plain values, so their repr is a faithful, stable
    serialisation: any change to an entry, a label name or the set of entries changes the hash.
    """
    digest = hashlib.sha256(f"{RENDER_VERSION}|{fmt}|{feed!r}".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:32]


def render_rss(feed: Feed) -> bytes:
    return _generator(feed, "rss").rss_str(pretty=True)


def render_atom(feed: Feed) -> bytes:
    return _generator(feed, "atom").atom_str(pretty=True)


def render_json(feed: Feed) -> bytes:
    """JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/); feedgen does not write it."""
    document: dict[str, Any] = {
        "version": JSON_FEED_VERSION,
        "title": plain(feed.title),
        "home_page_url": feed.home_url,
        "feed_url": feed.self_url("json"),
        "description": plain(feed.description),
        "language": LANGUAGE,
        "authors": [{"name": plain(feed.publisher), "url": feed.home_url}],
        "items": [_json_item(entry) for entry in feed.entries],
    }
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _json_item(entry: FeedEntry) -> dict[str, Any]:
    item: dict[str, Any] = {"id": entry.guid}
    if safe_url(entry.url):
        item["url"] = entry.url
    item["title"] = entry_title(entry)
    item["content_html"] = entry_html(entry)
    summary = plain(entry.summary)
    if summary:
        item["summary"] = summary
    if safe_url(entry.image_url):
        item["image"] = entry.image_url
    item["date_published"] = rfc3339(entry.published)
    item["date_modified"] = rfc3339(entry.updated)
    authors = [plain(a) for a in entry.authors if plain(a)]
    if authors:
        item["authors"] = [{"name": a} for a in authors]
    if entry.categories:
        item["tags"] = [plain(c.name) for c in entry.categories]
    if entry.event is not None:  # an extension (JSON Feed 1.1 allows keys starting with "_")
        event = entry.event
        item["_event"] = {
            "start": rfc3339(event.start),
            "end": rfc3339(event.end) if event.end else None,
            "timezone": event.timezone,
            "location": plain(event.location) or None,
            "online": event.online,
            "registration_url": event.registration_url if safe_url(event.registration_url) else None,
        }
    return item


def _generator(feed: Feed, fmt: str) -> FeedGenerator:
    fg = FeedGenerator()
    fg.id(feed.id)
    fg.title(plain(feed.title) or "Feed")
    fg.description(plain(feed.description) or plain(feed.title) or "Feed")
    fg.author({"name": plain(feed.publisher) or "Publisher"})
    # feedgen uses the last link added as the RSS channel link: the self link first.
    fg.link(href=feed.self_url(fmt), rel="self", type=FORMATS[fmt].media_type)
    fg.link(href=feed.home_url, rel="alternate")
    fg.language(LANGUAGE)
    fg.generator(GENERATOR)
    fg.updated(feed.updated)
    fg.lastBuildDate(feed.updated)
    for entry in feed.entries:
        _add_entry(fg, entry)
    return fg


def _add_entry(fg: FeedGenerator, entry: FeedEntry) -> None:
    fe = fg.add_entry(order="append")  # feedgen prepends by default; keep newest first
    fe.id(entry.guid)
    fe.guid(entry.guid, permalink=False)
    fe.title(entry_title(entry))
    if safe_url(entry.url):
        fe.link(href=entry.url, rel="alternate")
    fe.content(entry_html(entry), type="html")
    fe.published(entry.published)
    fe.updated(entry.updated)
    for author in entry.authors:
        if plain(author):
            fe.author({"name": plain(author)})
    for category in entry.categories:
        fe.category({"term": category.id, "label": plain(category.name), "scheme": category.scheme})


def entry_title(entry: FeedEntry) -> str:
    """The title as plain text: markup stays literal text (escaped by the format), controls removed."""
    return plain(entry.title) or "(untitled)"


def entry_html(entry: FeedEntry) -> str:
    """The entry's HTML: event date first, the summary, "also listed on"; sanitised once more as a whole."""
    parts: list[str] = []
    if entry.event is not None:
        parts.append(event_html(entry.event))
    if entry.summary_html:
        parts.append(clean_html(xml_safe(entry.summary_html)))
    elif entry.summary:
        parts.append(f"<p>{escape(plain(entry.summary))}</p>")
    if entry.also_listed_on:
        names = ", ".join(plain(n) for n in entry.also_listed_on)
        parts.append(f"<p>Also listed on: {escape(names)}</p>")
    if not parts:  # JSON Feed requires content, and Atom requires it of an entry without a link
        parts.append(f"<p>{escape(entry_title(entry))}</p>")
    base = entry.url if safe_url(entry.url) else None  # relative links resolved against the resource
    return _ABSOLUTE_ONLY.clean(clean_html(xml_safe("\n".join(parts)), base_url=base))


def event_html(event: FeedEvent) -> str:
    lines = [f"<strong>Event:</strong> {escape(event_when(event.start, event.end, event.timezone))}"]
    if event.online:
        lines.append("Online")
    if plain(event.location):
        lines.append(f"Where: {escape(plain(event.location))}")
    if safe_url(event.registration_url):
        lines.append(f'<a href="{escape(event.registration_url or "")}">Register</a>')
    return "<p>" + "<br>".join(lines) + "</p>"


def event_when(start: datetime, end: datetime | None, tz_name: str | None) -> str:
    """'Thursday 3 December 2026, 14:00 to 15:30 (Europe/London)': in the event's own time zone."""
    zone = _zone(tz_name)
    local = start.astimezone(zone)
    text = f"{local:%A} {local.day} {local:%B %Y}"
    if (local.hour, local.minute) != (0, 0):
        text += f", {local:%H:%M}"
        if end is not None:
            local_end = end.astimezone(zone)
            same_day = local_end.date() == local.date()
            text += f" to {local_end:%H:%M}" if same_day else f" to {local_end:%A} {local_end.day} {local_end:%B %Y}"
        text += f" ({zone.key})"
    elif end is not None and end.astimezone(zone).date() != local.date():
        local_end = end.astimezone(zone)
        text += f" to {local_end:%A} {local_end.day} {local_end:%B %Y}"
    return text


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def plain(text: str | None) -> str:
    """Fetched text as one line of plain text that any feed format can carry."""
    return xml_safe(clean_text(text))


def safe_url(url: str | None) -> bool:
    return is_http_url(url) and not _NEEDS_ESCAPE.intersection(url or "")


_NEEDS_ESCAPE = frozenset('\x00\r\n\t "<>`')


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
