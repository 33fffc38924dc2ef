"""The event an entry's own text announces: a dated occasion or a monthly series, when its feed gave none."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from aggregator.ingest.event_text import find_dated_occasion, find_series
from aggregator.ingest.events import find_event
from aggregator.ingest.resource_types import is_event
from aggregator.model import Event, RawEntry
from aggregator.text.sanitize import html_to_text

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def with_event(entry: RawEntry, *, default_tz: str = "Europe/London") -> RawEntry:
    """The entry with the event its own text announces, if any: labelled lines ("Date: ..."), else, in an
    announcement that is not a job advert, the first dated occasion ("16 December 2026, 14:00-15:30 GMT") or
    a monthly series ("third Thursday of every month, 6-7pm"; its rule goes into extra["recurrence"])."""
    if entry.event is not None:
        return entry
    html = entry.content_html or entry.summary_html
    event = find_event(html, default_tz=default_tz)
    if event is not None:
        return replace(entry, event=event)
    body = html_to_text(html)
    if not is_event(entry.title, body):
        return entry
    if series := find_series(f"{entry.title}\n{body}", after=entry.published or EPOCH, default_tz=default_tz):
        rule, start, end = series
        return replace(
            entry, event=Event(start=start, end=end, timezone=default_tz), extra={**entry.extra, "recurrence": rule}
        )
    # the body first: it usually gives the time as well as the day the title names
    occasion = find_dated_occasion(body, default_tz=default_tz) or find_dated_occasion(
        entry.title, default_tz=default_tz
    )
    if occasion:
        return replace(entry, event=Event(start=occasion[0], end=occasion[1], timezone=default_tz))
    return entry
