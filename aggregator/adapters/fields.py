"""Field rules shared by the feed parsers, so every path turns the same markup into the same RawEntry."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from urllib.parse import urljoin

import nh3
from feedparser.urls import _urljoin

from aggregator import sanitize
from aggregator.model import EMPTY
from aggregator.sanitize import clean_text, html_to_text, is_http_url

UTC = timezone.utc
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "html", "xhtml"})

_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1)}
# Zone names RFC 822 defines; feedparser and email.utils agree on these offsets (minutes).
_ZONES = {"GMT": 0, "UT": 0, "UTC": 0, "Z": 0, "EST": -300, "EDT": -240, "CST": -360, "CDT": -300,
          "MST": -420, "MDT": -360, "PST": -480, "PDT": -420}
# Only the strict, common RFC 822 shape (4-digit year): anything looser is left to feedparser.
_RFC822 = re.compile(
    r"\s*(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),\s*)?(\d{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
    r" (\d{4}) (\d{2}):(\d{2})(?::(\d{2}))? ([+-]\d{4}|[A-Z]{1,3})\s*")
_RFC3339 = re.compile(r"\s*\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})\s*")
_FRACTION = re.compile(r"\.\d+")
# Absolute URLs that urljoin (and feedparser's _urljoin) return unchanged: no empty query/fragment/params
# for urlunparse to drop, no whitespace or controls for urlsplit to strip, no extra slashes to collapse.
_PLAIN_ABSOLUTE = re.compile(r"https?://[A-Za-z0-9.:@%_~!$&'()*+,=-]+(?:[/?#][^;\s\x00-\x1f]*)?")

# feedparser maps C1 control characters to their windows-1252 meaning; the fast path does the same.
_CP1252 = {c: bytes([c]).decode("cp1252", "replace") for c in range(0x80, 0xA0)}
_CP1252 = {c: ch for c, ch in _CP1252.items() if ch != "\ufffd"}


class DeclinedError(Exception):
    """Internal signal: a fast parser met a construct it does not handle; the caller uses feedparser."""


def parse_rfc822(value: str) -> datetime | None:
    """UTC datetime of a strict RFC 822 date; None when empty; DeclinedError for any other shape."""
    if not value or value.isspace():
        return None
    match = _RFC822.fullmatch(value)
    if not match:
        raise DeclinedError(f"date {value!r}")
    day, month, year, hour, minute, second, zone = match.groups()
    if zone[0] in "+-":
        hhmm = abs(int(zone))
        offset = hhmm // 100 * 60 + hhmm % 100
        offset = -offset if zone[0] == "-" else offset
    elif zone in _ZONES:
        offset = _ZONES[zone]
    else:
        raise DeclinedError(f"date {value!r}")
    try:
        local = datetime(int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second or 0), 0, UTC)
    except ValueError as error:
        raise DeclinedError(f"date {value!r}") from error
    if not offset:  # most feeds write UTC: no arithmetic needed
        return local
    try:
        return local - timedelta(minutes=offset)
    except OverflowError:  # before year 1
        return None


def parse_rfc3339(value: str) -> datetime | None:
    """UTC datetime of an RFC 3339 timestamp (seconds kept, fraction dropped as feedparser does)."""
    if not value.strip():
        return None
    if not _RFC3339.fullmatch(value):
        raise DeclinedError(f"date {value!r}")
    try:
        parsed = datetime.fromisoformat(_FRACTION.sub("", value.strip()).replace("Z", "+00:00"))
    except ValueError as error:
        raise DeclinedError(f"date {value!r}") from error
    return _to_utc_seconds(parsed.timestamp())


def _to_utc_seconds(timestamp: float) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(timestamp // 1), tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def datetime_from_struct(value: time.struct_time | None) -> datetime | None:
    """UTC datetime of feedparser's parsed date (a UTC struct_time), None when absent or impossible."""
    if not value:
        return None
    try:
        return datetime(*value[:6], tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def repair_text(value: str) -> str:
    """Apply feedparser's text repairs: UTF-8 read as Latin-1 is re-decoded, C1 controls mapped as cp1252."""
    if value.isascii():
        return value
    try:
        value = value.encode("iso-8859-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    return value.translate(_CP1252)


def plain_title(value: str | None, is_html: bool) -> str:
    """A title as one line of plain text, whether the feed gave it as text or as HTML."""
    if not value:
        return ""
    return html_to_text(value) if is_html else clean_text(value)


def is_plain_absolute(value: str) -> bool:
    """True when joining `value` to any base returns it unchanged (the common absolute http(s) URL)."""
    return (_PLAIN_ABSOLUTE.fullmatch(value) is not None and "?#" not in value
            and not value.endswith(("?", "#")))


def join_url(base_url: str, value: str) -> str:
    """feedparser's URL joining (the same result, without the work for URLs that are already absolute)."""
    return value if is_plain_absolute(value) else _urljoin(base_url, value)


def make_cleaner(base_url: str) -> nh3.Cleaner:
    """An nh3 cleaner giving exactly sanitize.clean_html(fragment, base_url), built once per feed.

    Reusing one Cleaner and skipping urljoin for absolute URLs halves the sanitising cost of a feed.
    """
    return sanitize.make_cleaner(base_url, is_absolute=is_plain_absolute)


def sanitised_html(value: str | None, is_html: bool, cleaner: nh3.Cleaner) -> str | None:
    """Sanitised HTML for a summary or content; plain text is escaped first; None when nothing is left."""
    if not value or value.isspace():  # str.strip() strips exactly what str.isspace() accepts
        return None
    cleaned = sanitize.clean_with(cleaner, value if is_html else html.escape(value, quote=False)).strip()
    return cleaned or None


def entry_url(link: str | None, guid: str | None) -> str | None:
    """The entry's absolute http(s) URL: its link, else its guid when that is a URL; None when neither is."""
    for candidate in (link, guid):
        # A plain absolute URL is an http(s) URL with a host: no need to split it to know.
        if candidate and (is_plain_absolute(candidate) or is_http_url(candidate)):
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


def pick_media(thumbnails: Iterable[str | None], media: Iterable[tuple[str | None, str, str]],
               enclosures: Iterable[tuple[str | None, str]], base_url: str) -> tuple[str | None, Mapping[str, str]]:
    """The entry's image URL and its extra fields (a first audio/video enclosure), by one rule for all paths.

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
    return image, (MappingProxyType(extra) if extra else EMPTY)
