"""Calendars of approved events: one event's .ics, and a subscribable feed of upcoming ones (all, per theme, per audience)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import Connection, select

from aggregator.db.schema import entries, labels, resources
from aggregator.ingest.event_text import series_occurrence
from aggregator.ingest.events import EventListing, calendar_to_ics, event_to_ics, is_upcoming
from aggregator.model import ResourceStatus
from aggregator.publish.feeds.model import FeedKey
from aggregator.publish.feeds.query import FeedContext
from aggregator.text.clean import outgoing_url

CALENDAR_LIMIT = 200  # upcoming events in one calendar feed


def calendar_domain(context: FeedContext) -> str:
    """The right-hand side of every UID we write: the site's host."""
    return (urlsplit(context.base_url).hostname or "kindness-digest.invalid").lower()


def calendar_stem(key: FeedKey) -> str:
    """The path under /feeds/ without ".ics": "events", "theme/kindness", "audience/leaders"."""
    return "events" if key.kind == "all" else key.stem


def calendar_name(key: FeedKey, context: FeedContext) -> str:
    return context.feed_title(key).replace(context.publisher, f"{context.publisher} events", 1)


def event_ics(conn: Connection, resource_id: int, now: datetime, context: FeedContext) -> bytes | None:
    """The .ics of one approved event resource (its next occurrence, for a series); None when there is none."""
    row = conn.execute(
        select(resources).where(
            resources.c.id == resource_id,
            resources.c.status == ResourceStatus.APPROVED,
            resources.c.event_start.is_not(None),
        )
    ).one_or_none()
    if row is None:
        return None
    rules = _rules(conn, [row.id])
    return event_to_ics(_listing(row, rules.get(row.id), now), now=now, domain=calendar_domain(context))


def upcoming_calendar(conn: Connection, key: FeedKey, now: datetime, context: FeedContext) -> bytes:
    """The calendar feed `key`: approved events (in that theme or audience) that start after `now`."""
    if not context.has_feed(key):
        raise KeyError(f"no calendar {calendar_stem(key)}")
    query = select(resources).where(resources.c.status == ResourceStatus.APPROVED, resources.c.event_start.is_not(None))
    if key.kind != "all":
        query = query.where(
            resources.c.id.in_(
                select(labels.c.resource_id).where(labels.c.kind == key.kind, labels.c.label_id == key.label_id)
            )
        )
    rows = conn.execute(query.order_by(resources.c.event_start, resources.c.id)).all()
    rules = _rules(conn, [r.id for r in rows])
    listings = [_listing(r, rules.get(r.id), now) for r in rows]
    upcoming = sorted((e for e in listings if is_upcoming(e.start, e.end, now)), key=lambda e: e.start)
    return calendar_to_ics(
        upcoming[:CALENDAR_LIMIT], now=now, name=calendar_name(key, context), domain=calendar_domain(context)
    )


def event_ids(conn: Connection) -> list[int]:
    """Every approved event resource's id (the static site writes an .ics for each)."""
    return list(
        conn.execute(
            select(resources.c.id)
            .where(resources.c.status == ResourceStatus.APPROVED, resources.c.event_start.is_not(None))
            .order_by(resources.c.id)
        ).scalars()
    )


def _listing(row, rule: str | None, now: datetime) -> EventListing:
    start, end = row.event_start, row.event_end
    if rule and (occurrence := series_occurrence(rule, now)):
        start, end = occurrence
    return EventListing(
        row.id,
        row.title,
        outgoing_url(row.url),
        start,
        end,
        row.event_timezone,
        row.event_location,
        row.event_online,
        outgoing_url(row.registration_url) if row.registration_url else None,
        row.summary or "",
        rule,
        row.modified_at,
    )


def _rules(conn: Connection, ids: Sequence[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for row in conn.execute(
        select(entries.c.resource_id, entries.c.extra).where(entries.c.resource_id.in_(ids)).order_by(entries.c.id)
    ):
        rule = (row.extra or {}).get("recurrence")
        if isinstance(rule, str) and rule:
            found.setdefault(row.resource_id, rule)
    return found
