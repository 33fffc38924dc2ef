"""Field rules shared by the feed parsers, so every path turns the same markup into the same RawEntry."""

from __future__ import annotations

import html
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from urllib.parse import urljoin

import nh3

from aggregator.model import EMPTY
from aggregator.text import sanitize
from aggregator.text.sanitize import clean_text, html_to_text, is_http_url

UTC = UTC
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "html", "xhtml"})


def datetime_from_struct(value: time.struct_time | None) -> datetime | None:
    """UTC datetime of feedparser's parsed date (a UTC struct_time), None when absent or impossible."""
    if not value:
        return None
    try:
        return datetime(*value[:6], tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def plain_title(value: str | None, is_html: bool) -> str:
    """A title as one line of plain text, whether the feed gave it as text or as HTML."""
    if not value:
        return ""
    return html_to_text(value) if is_html else clean_text(value)


def make_cleaner(base_url: str) -> nh3.Cleaner:
    """An nh3 cleaner giving exactly sanitize.clean_html(fragment, base_url), built once per feed."""
    return sanitize.make_cleaner(base_url)


def sanitised_html(value: str | None, is_html: bool, cleaner: nh3.Cleaner) -> str | None:
    """Sanitised HTML for a summary or content; plain text is escaped first; None when nothing is left."""
    if not value or value.isspace():  # str.strip() strips exactly what str.isspace() accepts
        return None
    cleaned = sanitize.clean_with(cleaner, value if is_html else html.escape(value, quote=False)).strip()
    return cleaned or None


def entry_url(link: str | None, guid: str | None) -> str | None:
    """The entry's absolute http(s) URL: its link, else its guid when that is a URL; None when neither is."""
    for candidate in (link, guid):
        if candidate and is_http_url(candidate):
            return candidate.strip()
    return None


def absolute_url(value: str | None, base_url: str) -> str | None:
    """`value` joined to `base_url` when it is an http(s) URL after joining, else None."""
    if not value or not value.strip():
        return None
    try:
        joined = urljoin(base_url, value.strip())
    except ValueError:
        return None
    return joined if is_http_url(joined) else None


def unique_texts(values: Iterable[str | None]) -> tuple[str, ...]:
    """Non-empty, whitespace-folded values in order, without repeats (authors, tags)."""
    seen: dict[str, None] = {}
    for value in values:
        text = clean_text(value)
        if text:
            seen.setdefault(text, None)
    return tuple(seen)


def pick_media(
    thumbnails: Iterable[str | None],
    media: Iterable[tuple[str | None, str, str]],
    enclosures: Iterable[tuple[str | None, str]],
    base_url: str,
) -> tuple[str | None, Mapping[str, str]]:
    """The entry's image URL and its extra fields (a first audio/video enclosure, a first PDF), by one rule for all paths.

    `media` holds (url, type, medium) of media:content; `enclosures` holds (url, type).
    """
    image = None
    for url in thumbnails:
        image = image or absolute_url(url, base_url)
    enclosures = list(enclosures)
    for url, kind, medium in media:
        if not image and (medium == "image" or kind.startswith("image/")):
            image = absolute_url(url, base_url)
    extra: dict[str, str] = {}
    for url, kind in enclosures:
        absolute = absolute_url(url, base_url)
        if not image and kind.startswith("image/"):
            image = absolute
        if absolute and "enclosure" not in extra and kind.startswith(("audio/", "video/")):
            extra["enclosure"] = absolute
            extra["enclosure_type"] = kind
        if absolute and "pdf_url" not in extra and kind == "application/pdf":
            extra["pdf_url"] = absolute
    return image, (MappingProxyType(extra) if extra else EMPTY)
