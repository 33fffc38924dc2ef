"""Events (seminars, monthly conversations): whether they are still to come, and an .ics for each."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import lxml.html

from aggregator.ingest.event_text import parse_series
from aggregator.model import Event
from aggregator.text.dates import parse_event_time
from aggregator.text.sanitize import clean_text, is_http_url

DEFAULT_LENGTH = timedelta(hours=1)
PRODID = "-//Kindness in care digest//aggregator//EN"


@dataclass(frozen=True, slots=True)
class EventListing:
    """What a calendar entry needs about one event resource."""

    resource_id: int
    title: str
    url: str
    start: datetime  # timezone-aware
    end: datetime | None = None
    timezone: str | None = None  # IANA name as the source gave it (shown to readers)
    location: str | None = None
    online: bool | None = None
    registration_url: str | None = None
    summary: str = ""
    recurrence: str | None = None  # a monthly series (aggregator.ingest.event_text); start is its next occurrence
    stamp: datetime | None = None  # when its details last changed (DTSTAMP); None: now


def is_upcoming(start: datetime | None, end: datetime | None, now: datetime) -> bool:
    """True when the event starts after `now` (the send time): one already under way cannot be joined from a
    monthly mail, so it is shown as past (its recording and slides), with no calendar link. `end` is unused."""
    return start is not None and start > now


def event_to_ics(event: EventListing, *, now: datetime, domain: str = "kindness-digest.invalid") -> bytes:
    """One VEVENT in a VCALENDAR (RFC 5545), in the event's own time zone when it is known."""
    return calendar_to_ics([event], now=now, domain=domain)


def calendar_to_ics(
    events: Sequence[EventListing], *, now: datetime, name: str | None = None, domain: str = "kindness-digest.invalid"
) -> bytes:
    """A VCALENDAR of `events` (a subscribable feed when `name` is given: calendar apps show it by that name)."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    if name:
        calendar.add("name", clean_text(name))
        calendar.add("x-wr-calname", clean_text(name))
        calendar.add("refresh-interval", timedelta(hours=12), parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", "PT12H")
    for event in events:
        calendar.add_component(_vevent(event, now, domain))
    calendar.add_missing_timezones()  # a series is written in its own zone: its VTIMEZONE goes with it
    return calendar.to_ical()


def _vevent(event: EventListing, now: datetime, domain: str) -> icalendar.Event:
    vevent = icalendar.Event()
    vevent.add("uid", f"resource-{event.resource_id}@{domain}")
    vevent.add("dtstamp", (event.stamp or now).astimezone(UTC))
    end = event.end or event.start + DEFAULT_LENGTH
    series = parse_series(event.recurrence) if event.recurrence else None
    if series is not None:
        # a series repeats at a wall-clock time: written in its zone so that summer time does not move it
        zone = ZoneInfo(series[3])
        vevent.add("dtstart", event.start.astimezone(zone))
        vevent.add("dtend", end.astimezone(zone))
        vevent.add("rrule", icalendar.vRecur.from_ical(series[0]))
    else:
        # UTC times ("Z"): every calendar shows them in its own zone, with no VTIMEZONE to go stale
        vevent.add("dtstart", event.start.astimezone(UTC))
        vevent.add("dtend", end.astimezone(UTC))
    # fetched text: single-line, control characters removed; icalendar escapes the rest
    vevent.add("summary", clean_text(event.title))
    description = clean_text(event.summary)
    if event.registration_url and is_http_url(event.registration_url):
        description = f"{description}\n\nRegister: {event.registration_url}".strip()
    if description:
        vevent.add("description", description)
    if is_http_url(event.url):
        vevent.add("url", event.url)
    location = clean_text(event.location) or ("Online" if event.online else "")
    if location:
        vevent.add("location", location)
    return vevent


# Labelled lines as event pages and posts write them ("Date: ...", "Time: ...", "Where: ...").
_LABELS = r"(?:date|when|time|where|venue|location|place)"
# "Closing date:" and "Deadline:" are not when the event happens.
_FIELD = re.compile(
    rf"\b(?<!closing )(?<!closing\xa0)({_LABELS})\s*:\s*(.+?)(?=\s*\b{_LABELS}\s*:|\n|$)", re.IGNORECASE
)
_REGISTER = re.compile(
    r"\b(?:register|registration|book (?:a |your )?(?:place|ticket)|sign[ -]?up|tickets?|rsvp)\b", re.IGNORECASE
)
_REGISTER_HOSTS = ("eventbrite.", "ticketsource.", "zoom.us", "tickettailor.", "ti.to", "forms.office.com")
# A date label, possibly split from its colon by markup ("<strong>Date:</strong>", "When</b>:").
_HAS_DATE_LABEL = re.compile(r"\b(?:date|when)\s*(?:<[^>]*>\s*)*:", re.IGNORECASE)
_NOTE = re.compile(r"\([^)]*\)")
_ONLINE = re.compile(r"\b(?:online|virtual|zoom|teams|webinar|livestream)\b", re.IGNORECASE)


def find_event(html: str | None, *, default_tz: str = "Europe/London") -> Event | None:
    """Start, end, place and registration link of an event announced in a post's (sanitised) HTML.

    Reads labelled lines ("Date: Wednesday 9 December 2026", "Time: 12:30 to 13:30", "Where: Online")
    and the first registration link; None when the post gives no date.
    """
    if not html or not has_date_label(html):  # most posts announce nothing: skip the parse
        return None
    fragment = lxml.html.fragment_fromstring(html, create_parent="div")
    for element in fragment.iter("br", "p", "li", "div", "td", "h2", "h3", "h4"):
        element.tail = "\n" + (element.tail or "")  # one line per line break or block
    text = fragment.text_content()
    fields: dict[str, str] = {}
    for label, value in _FIELD.findall(text):
        key = {"when": "date", "venue": "where", "location": "where", "place": "where"}.get(
            label.lower(), label.lower()
        )
        fields.setdefault(key, value.strip(" .;"))
    if "date" not in fields:
        return None
    when = _NOTE.sub("", f"{fields['date']}, {fields.get('time', '')}").strip(", ")  # "(UK time)" and such
    start, end = parse_event_time(when, default_tz=default_tz)
    if start is None:
        return None
    where = clean_text(fields.get("where")) or None
    return Event(
        start=start,
        end=end,
        timezone=default_tz,
        location=where,
        online=bool(where and _ONLINE.search(where)) or None,
        registration_url=_registration_link(fragment),
    )


def has_date_label(html: str) -> bool:
    """True when `html` has a "Date:" or "When:" label (maybe split from its colon by markup).

    Most posts have neither word, which a substring test on the lower-cased text shows several times
    faster than the case-insensitive search; the test cannot miss a label, since these letters match
    only themselves, in either case, under re.IGNORECASE (tests/test_ingest_speed_equivalence.py).
    """
    lowered = html.lower()
    return ("date" in lowered or "when" in lowered) and _HAS_DATE_LABEL.search(html) is not None


def _registration_link(fragment) -> str | None:
    for link in fragment.iter("a"):
        href = (link.get("href") or "").strip()
        if is_http_url(href) and (
            _REGISTER.search(link.text_content() or "") or any(host in href for host in _REGISTER_HOSTS)
        ):
            return href
    return None
