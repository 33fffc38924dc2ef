"""When an event happens, read from unlabelled text: one dated occasion, or a monthly series (dateutil's rrule)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil import rrule

from aggregator.text.dates import normalise_date_text, parse_event_time

_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DAYS = r"(?:mon|tues|wednes|thurs|fri|satur|sun)day"
_CLOCK = r"\d{1,2}(?::\d{2})?(?:\s*[ap]\.?m\.?)?"
_RANGE = rf"{_CLOCK}(?:\s*(?:-|to|until|till)\s*{_CLOCK})?"
_ZONE = r"(?:\s*\(?\s*(?P<zone>gmt|bst|utc|uk time)\s*\)?)?"
# "Wednesday 16 December 2026, 4-5pm (UK time)", "14 January 2027, 13:00 to 14:00", "16 December 2026 at 14:00 GMT"
_DATED = re.compile(
    rf"(?:{_DAYS},?\s+)?(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<month>{_MONTHS})\.?,?\s+(?P<year>\d{{4}})"
    rf"(?:\s*(?:,|at|from)?\s*(?:,\s*)?(?P<time>{_RANGE}))?{_ZONE}",
    re.IGNORECASE,
)
# "the third Thursday of every month, 6-7pm GMT"
_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4, "last": -1}
_WEEKDAYS = {
    "monday": rrule.MO,
    "tuesday": rrule.TU,
    "wednesday": rrule.WE,
    "thursday": rrule.TH,
    "friday": rrule.FR,
    "saturday": rrule.SA,
    "sunday": rrule.SU,
}
_SERIES = re.compile(
    rf"\b(?P<nth>{'|'.join(_ORDINALS)})\s+(?P<weekday>{'|'.join(_WEEKDAYS)})\s+(?:of\s+)?(?:every|each|the)\s+month"
    rf"\s*(?:,|at|from)?\s*(?P<time>{_RANGE}){_ZONE}",
    re.IGNORECASE,
)
# Deadlines and closing dates are not when anything happens.
_NOT_AN_OCCASION = re.compile(
    r"(?:closing date|deadline|apply by|applications? close|posted on|updated on)\W*$", re.IGNORECASE
)
MAX_CANDIDATES = 20  # dated phrases parsed per text: an announcement gives its date early, a list page is no event
_UK_TIME = {"uk time": None, "gmt": "GMT", "bst": "BST", "utc": "UTC"}


def find_dated_occasion(text: str, *, default_tz: str = "Europe/London") -> tuple[datetime, datetime | None] | None:
    """(start, end) in UTC of the first dated occasion in `text` that is not a deadline, or None."""
    text = normalise_date_text(text)
    for tried, match in enumerate(_DATED.finditer(text)):
        if tried >= MAX_CANDIDATES:
            break
        if _NOT_AN_OCCASION.search(text[max(0, match.start() - 40) : match.start()]):
            continue
        phrase = f"{match['day']} {match['month']} {match['year']}"
        if match["time"]:
            phrase += f", {match['time']}"
            zone = _UK_TIME.get((match["zone"] or "").lower())
            if zone:
                phrase += f" {zone}"
        start, end = parse_event_time(phrase, default_tz=default_tz)
        if start is not None:
            return start, end
    return None


def find_series(
    text: str, *, after: datetime, default_tz: str = "Europe/London"
) -> tuple[str, datetime, datetime] | None:
    """A monthly series in `text` ("third Thursday of every month, 6-7pm GMT"): its RFC 5545 RRULE text and
    the first occurrence (start, end, in UTC) after `after`; None when the text names no series with a time."""
    match = _SERIES.search(normalise_date_text(text))
    if match is None:
        return None
    nth, weekday = _ORDINALS[match["nth"].lower()], _WEEKDAYS[match["weekday"].lower()]
    rule = rrule.rrule(rrule.MONTHLY, byweekday=weekday(nth))
    # The wall-clock time of day: read on a known date in the series' zone (so 6pm stays 6pm in summer too).
    # An explicit GMT or UTC is taken at its word; "UK time", BST or nothing follows the UK's clocks.
    zone_name = "UTC" if (match["zone"] or "").lower() in ("gmt", "utc") else default_tz
    probe, probe_end = parse_event_time(f"1 January 2001, {match['time']}", default_tz="UTC")
    if probe is None:
        return None
    length = (probe_end - probe) if probe_end else timedelta(hours=1)
    text_rule = str(rule).split("\n")[-1].removeprefix("RRULE:")
    start = next_occurrence(text_rule, probe.time(), zone_name, after)
    if start is None:
        return None
    return (
        f"{text_rule};TIME={probe:%H%M};LENGTH={int(length.total_seconds() // 60)};TZID={zone_name}",
        start,
        start + length,
    )


def next_occurrence(rule: str, at: time, zone_name: str, after: datetime) -> datetime | None:
    """The first occurrence of the RRULE `rule` at wall-clock `at` in `zone_name` strictly after `after` (UTC)."""
    zone = ZoneInfo(zone_name)
    local_after = after.astimezone(zone)
    dtstart = local_after.replace(day=1, hour=at.hour, minute=at.minute, second=0, microsecond=0, tzinfo=None)
    dates = rrule.rrulestr(rule, dtstart=dtstart - timedelta(days=31))
    for occurrence in dates.xafter(local_after.replace(tzinfo=None) - timedelta(days=1), count=3):
        start = occurrence.replace(tzinfo=zone)
        if start > after:
            return start.astimezone(UTC)
    return None


def parse_series(value: str) -> tuple[str, time, timedelta, str] | None:
    """The parts of a stored series ("FREQ=MONTHLY;BYDAY=+3TH;TIME=1800;LENGTH=60;TZID=Europe/London"):
    (RRULE text, wall-clock time, length, zone name); None when it is not one we wrote."""
    parts = dict(p.split("=", 1) for p in value.split(";") if "=" in p)
    try:
        at = datetime.strptime(parts.pop("TIME"), "%H%M").time()
        length = timedelta(minutes=int(parts.pop("LENGTH")))
        zone = parts.pop("TZID")
        ZoneInfo(zone)
    except (KeyError, ValueError, LookupError):
        return None
    return ";".join(f"{k}={v}" for k, v in parts.items()), at, length, zone


def series_occurrence(value: str, after: datetime) -> tuple[datetime, datetime] | None:
    """(start, end) in UTC of a stored series' next occurrence after `after`."""
    parsed = parse_series(value)
    if parsed is None:
        return None
    rule, at, length, zone = parsed
    start = next_occurrence(rule, at, zone, after)
    return (start, start + length) if start else None


_NTH_NAMES = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}
_DAY_NAMES = {
    "MO": "Monday",
    "TU": "Tuesday",
    "WE": "Wednesday",
    "TH": "Thursday",
    "FR": "Friday",
    "SA": "Saturday",
    "SU": "Sunday",
}


def series_phrase(value: str) -> str:
    """A stored monthly series in words: "every third Thursday of the month"."""
    parts = dict(p.split("=", 1) for p in value.split(";") if "=" in p)
    match = re.fullmatch(r"([+-]?\d)([A-Z]{2})", parts.get("BYDAY", ""))
    if match is None or int(match[1]) not in _NTH_NAMES or match[2] not in _DAY_NAMES:
        return "monthly"
    return f"every {_NTH_NAMES[int(match[1])]} {_DAY_NAMES[match[2]]} of the month"
