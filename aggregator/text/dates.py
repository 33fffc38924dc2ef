"""Dates found on pages and in metadata, parsed by libraries into timezone-aware UTC datetimes.

Every function here is pure and returns UTC datetimes or None; none of them raises on bad input.
A time without a zone is read in `default_tz` (the partner sites are in the UK, so a "12:30" in June
is BST and one in January is GMT) and then converted to UTC. A date without a day ("June 2024")
is the first of the month; text without a year is not a date (we would have to guess the year).
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dateparser
from dateutil import parser as dateutil_parser

from aggregator.text.pagedates import find_page_date, find_url_date  # noqa: F401 (re-exported)

logger = logging.getLogger(__name__)

# dateutil only knows UTC/GMT/Z by itself and silently returns a *naive* time for any other
# abbreviation, which we would then misread as local time. These are the abbreviations that
# English-language pages and feeds actually use (RFC 822 zones, North American, UK and Central
# European); anything else falls through to dateparser, which has its own table.
_HOUR = 3600
TZ_ABBREVIATIONS: dict[str, int] = {
    "UT": 0,
    "UTC": 0,
    "GMT": 0,
    "Z": 0,
    "WET": 0,
    "BST": _HOUR,
    "WEST": _HOUR,
    "CET": _HOUR,
    "MET": _HOUR,
    "CEST": 2 * _HOUR,
    "MEST": 2 * _HOUR,
    "EET": 2 * _HOUR,
    "EEST": 3 * _HOUR,
    "AST": -4 * _HOUR,
    "ADT": -3 * _HOUR,
    "AT": -4 * _HOUR,
    "EST": -5 * _HOUR,
    "EDT": -4 * _HOUR,
    "ET": -5 * _HOUR,
    "CST": -6 * _HOUR,
    "CDT": -5 * _HOUR,
    "CT": -6 * _HOUR,
    "MST": -7 * _HOUR,
    "MDT": -6 * _HOUR,
    "MT": -7 * _HOUR,
    "PST": -8 * _HOUR,
    "PDT": -7 * _HOUR,
    "PT": -8 * _HOUR,
}

_WS = re.compile(r"\s+")
_DASHES = re.compile(r"\s*[\u2010-\u2015\u2212]\s*")
_DOTTED_TIME = re.compile(r"\b(\d{1,2})\.(\d{2})(?=\s*(?:[ap]\.?m\b|$|[\s,\-]))", re.IGNORECASE)
_YEAR_FIRST = re.compile(r"^\d{4}(?:[-/.]|$)")
_ISO_PARTS = re.compile(r"^\d{4}(?:[-/.](\d{1,2})(?:[-/.](\d{1,2}))?)?(?:$|[T ]|[-/.]?$)")
_MERIDIEM = re.compile(r"\s*[ap]\.?m\b\.?", re.IGNORECASE)
# "12:30-13:30", "6 to 7:30pm", "12-1pm"; the end must look like a time so "5-7 June" is a day range
_TIME_RANGE = re.compile(
    r"(?<![\d:])(\d{1,2}(?::\d{2})?(?:\s*[ap]\.?m\b\.?)?)\s*(?:-|to|until|till)\s*"
    r"(\d{1,2}(?::\d{2}(?:\s*[ap]\.?m\b\.?)?|\s*[ap]\.?m\b\.?))(?![\d:])",
    re.IGNORECASE,
)
_RANGE_SPLIT = re.compile(r"\s+(?:-|to|until|till)\s+|(?<=\d)-(?=\d{1,2}\s+[^\W\d])", re.IGNORECASE)
_HAS_HOUR = re.compile(r"(?:\d:\d|\d\s*[ap]\.?m\b)", re.IGNORECASE)
# two defaults that differ in every field: a field that comes out different was not in the text
_DEFAULTS = (datetime(1904, 1, 1), datetime(1905, 2, 2))


def parse_date(text: str | None, *, default_tz: str = "Europe/London", dayfirst: bool = True) -> datetime | None:
    """A date or date-time written by a person or a machine -> UTC datetime, or None when there is none.

    Tries strict ISO 8601 first (so "2024-06-05" is never read day-first), then dateutil, then
    dateparser for other languages, then dateutil's fuzzy mode for text around a date ("Posted on
    12 March 2025"). A range ("12:30-13:30", "5-7 June 2024") yields its start. A date without a
    time ("12 March 2025") is midnight UTC of that day, so its day survives the conversion.
    """
    return parse_event_time(text, default_tz=default_tz, dayfirst=dayfirst)[0]


def parse_event_time(
    text: str | None, *, default_tz: str = "Europe/London", dayfirst: bool = True
) -> tuple[datetime | None, datetime | None]:
    """Start and end (UTC) of an event written as a range, e.g. "5 June 2024, 12:30 - 13:30".

    Handles a time range on one day, a range of days ("5-7 June 2024", "5 June - 7 June 2024")
    and a single date or date-time (end None). An end time before the start means it runs past
    midnight.
    """
    text = normalise_date_text(text)
    if not text:
        return None, None
    start, end = _parse_span(text, dayfirst)
    zone = _zone(default_tz)
    return _finish(start, text, zone), _finish(end, text, zone)


def date_precision(text: str | None) -> int:
    """How much of a date `text` states: 3 a day, 2 a month, 1 a year only, 0 no date."""
    text = normalise_date_text(text)
    if not text or parse_date(text) is None:
        return 0
    if iso := _ISO_PARTS.match(text):
        return 1 + sum(part is not None for part in iso.groups())
    try:  # the two defaults differ in every field: a field that differs was not in the text
        first, second = (
            dateutil_parser.parse(text, default=d, fuzzy=True, tzinfos=TZ_ABBREVIATIONS) for d in _DEFAULTS
        )
    except (ValueError, OverflowError, TypeError):
        return 3  # read by dateparser (another language): it names a day
    return 1 if first.month != second.month else 2 if first.day != second.day else 3


def to_utc(value: datetime, default_tz: str | ZoneInfo = "Europe/London") -> datetime | None:
    """`value` in UTC; a naive value is first read as wall-clock time in `default_tz`."""
    zone = _zone(default_tz) if isinstance(default_tz, str) else default_tz
    try:
        if value.tzinfo is None or value.utcoffset() is None:
            value = value.replace(tzinfo=zone)
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def normalise_date_text(text: str | None) -> str:
    """Whitespace folded, typographic dashes made '-', and "12.30pm" made "12:30pm"."""
    if not text:
        return ""
    text = _WS.sub(" ", str(text)).strip()
    text = _DASHES.sub(" - ", text) if _DASHES.search(text) else text
    return _DOTTED_TIME.sub(r"\1:\2", text)


# --- the parsers, tried in order ---------------------------------------------------------------


def _parse_span(text: str, dayfirst: bool) -> tuple[datetime | None, datetime | None]:
    """Start and end of `text`, possibly naive (wall-clock time); end None when it is not a range."""
    if (value := _parse_iso(text, dayfirst)) is not None:
        return value, None
    start = end = None
    if time_range := _TIME_RANGE.search(text):
        first, second = time_range.group(1), time_range.group(2)
        end = _parse_local(_replace_span(text, time_range.span(), second), dayfirst)
        start = _parse_local(_replace_span(text, time_range.span(), first), dayfirst)
        meridiem = _MERIDIEM.search(second)
        if meridiem and not _MERIDIEM.search(first):
            # "6 - 7.30pm": the start shares the end's pm when that keeps it before the end
            shared = _parse_local(_replace_span(text, time_range.span(), first + meridiem.group(0)), dayfirst)
            if shared is not None and end is not None and shared <= end:
                start = shared
        if start is not None and end is not None and end < start:
            end += timedelta(days=1)
    elif (parts := _RANGE_SPLIT.split(text, maxsplit=1))[1:]:
        start = _parse_range_start(parts[0], parts[1], dayfirst)
        end = _parse_local(parts[1], dayfirst) if start is not None else None
    if start is None:
        return _parse_local(text, dayfirst), None
    return start, end


def _finish(value: datetime | None, text: str, zone: ZoneInfo) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None and not _HAS_HOUR.search(text):
        return value.replace(tzinfo=UTC)  # a day, not an instant: keep the day
    return to_utc(value, zone)


def _parse_local(text: str, dayfirst: bool) -> datetime | None:
    """`text` as a datetime that may still be naive (local wall-clock time), or None."""
    text = text.strip(" ,;")
    if not text:
        return None
    steps: tuple[Callable[[str, bool], datetime | None], ...] = (
        _parse_iso,
        _parse_dateutil,
        _parse_dateparser,
        _parse_fuzzy,
    )
    for step in steps:
        value = step(text, dayfirst)
        if value is not None:
            return value
    return None


def _parse_iso(text: str, dayfirst: bool) -> datetime | None:
    if not _YEAR_FIRST.match(text):
        return None
    try:
        return dateutil_parser.isoparse(text)
    except (ValueError, OverflowError):
        return None


def _parse_dateutil(text: str, dayfirst: bool, *, fuzzy: bool = False) -> datetime | None:
    # "2024-06-05 12:30" is year-month-day whatever the page's habit is
    dayfirst = dayfirst and not _YEAR_FIRST.match(text)
    results = []
    for default in _DEFAULTS:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                results.append(
                    dateutil_parser.parse(
                        text, default=default, dayfirst=dayfirst, fuzzy=fuzzy, tzinfos=TZ_ABBREVIATIONS
                    )
                )
            except (ValueError, OverflowError, TypeError):
                return None
        if any(issubclass(w.category, dateutil_parser.UnknownTimezoneWarning) for w in caught):
            return None  # a zone we do not know: a naive result would be off by hours
    first, second = results
    if first.year != second.year:
        return None  # no year in the text
    if fuzzy and first.month != second.month:
        return None  # fuzzy mode only trusts text that names at least a month and a year
    return first


def _parse_fuzzy(text: str, dayfirst: bool) -> datetime | None:
    if not re.search(r"\d{4}", text) or _YEAR_FIRST.match(text):
        return None  # machine-written dates ("2013-01-28T11:30:00Textra") must parse strictly
    return _parse_dateutil(text, dayfirst, fuzzy=True)


def _parse_dateparser(text: str, dayfirst: bool) -> datetime | None:
    if text.isascii():
        return None  # English is dateutil's; dateparser reads a month out of any number ("16 zzz 2012")
    settings = {
        "DATE_ORDER": "DMY" if dayfirst and not _YEAR_FIRST.match(text) else "YMD",
        "PREFER_DAY_OF_MONTH": "first",
        "REQUIRE_PARTS": ["year"],
        "PARSERS": ["timestamp", "absolute-time"],  # no "2 days ago": pages are read long after
    }
    try:
        return dateparser.parse(text, settings=settings)
    except (ValueError, OverflowError, TypeError, LookupError):  # dateparser raises a few kinds
        return None


def _parse_range_start(left: str, right: str, dayfirst: bool) -> datetime | None:
    """The start of "5 - 7 June 2024" or "5 June - 7 June 2024": borrow the missing tail from the end."""
    value = _parse_local(left, dayfirst)
    if value is not None:
        return value
    tokens = right.split()
    for cut in range(1, len(tokens)):
        tail = tokens[cut:]
        if _HAS_HOUR.search(" ".join(tail)) and not _HAS_HOUR.search(left):
            # "5 - 7 June 2024 10:00" -> do not give the start the end's time
            tail = [t for t in tail if not _HAS_HOUR.search(t)]
        value = _parse_local(f"{left} {' '.join(tail)}", dayfirst)
        if value is not None:
            return value
    return None


def _replace_span(text: str, span: tuple[int, int], replacement: str) -> str:
    return f"{text[: span[0]]}{replacement}{text[span[1] :]}"


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        logger.warning("unknown time zone, using UTC", extra={"timezone": name})
        return ZoneInfo("UTC")
