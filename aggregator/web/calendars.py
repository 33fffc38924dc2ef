"""The public calendars: each approved event's .ics (the digest's links) and the subscribable feeds of upcoming events."""

from __future__ import annotations

from flask import Blueprint, Response, abort

from aggregator.publish.feeds.model import ALL, FeedKey
from aggregator.web.published import _clock, _page, _pages

bp = Blueprint("calendars", __name__)
CALENDAR_TYPE = "text/calendar; charset=utf-8"


@bp.get("/events/<int:resource_id>.ics")
def event_calendar_entry(resource_id: int) -> Response:
    """One approved event's calendar entry (the digest's "Add to your calendar" link)."""
    body = _pages().event_calendar(resource_id, _clock()())
    if body is None:
        abort(404)
    return _page(body, CALENDAR_TYPE)


@bp.get("/feeds/events.ics")
def events_calendar() -> Response:
    return _calendar_response(ALL)


@bp.get("/feeds/<any(theme, audience):kind>/<label_id>.ics")
def label_calendar(kind: str, label_id: str) -> Response:
    return _calendar_response(FeedKey(kind, label_id))  # type: ignore[arg-type]


def _calendar_response(key: FeedKey) -> Response:
    pages = _pages()
    if not pages.names().has_feed(key):
        abort(404)
    body = pages.upcoming_calendar(key, _clock()())
    return _page(body, CALENDAR_TYPE)
