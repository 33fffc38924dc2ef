"""Calendars: /events/<id>.ics for the digest's links and the subscribable feeds of upcoming events (all, per
theme, per audience), served by the web app and written by the static build, parsed back with icalendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
from flask import Flask
from sqlalchemy import select

from aggregator.db.schema import resources
from aggregator.model import Event, RawEntry
from aggregator.publish.archive import build_archive
from aggregator.publish.feeds.build import build_feeds
from aggregator.review.lifecycle import change_resource_status
from aggregator.web import calendars, published
from tests.support.resources import NOW, store
from tests.test_feeds import HUB, seed, settings  # noqa: F401 (a fixture)

UTC = UTC
SERIES = "FREQ=MONTHLY;BYDAY=+3TH;TIME=1800;LENGTH=60;TZID=Europe/London"


def make_app(settings, engine, now=NOW) -> Flask:
    app = Flask(__name__)
    app.config.update(
        TESTING=True, AGGREGATOR_SETTINGS=settings, AGGREGATOR_ENGINE=engine, AGGREGATOR_PUBLISHED_REBUILD_INLINE=True
    )
    app.register_blueprint(published.bp)
    app.register_blueprint(calendars.bp)
    app.extensions["aggregator"] = type("Deps", (), {"clock": staticmethod(lambda: now)})()
    return app


def seed_events(engine) -> dict[str, int]:
    """seed()'s resources plus a past seminar and a monthly series, both approved."""
    ids = seed(engine)
    store(
        engine,
        HUB,
        [
            RawEntry(
                url="https://pslhub.example/past",
                title="Past seminar",
                event=Event(start=NOW - timedelta(days=3), timezone="Europe/London"),
            ),
            RawEntry(
                url="https://pslhub.example/series?utm_source=rss",
                title="Conversation for kindness",
                event=Event(start=NOW - timedelta(days=60), timezone="Europe/London"),
                extra={"recurrence": SERIES},
            ),
        ],
    )
    with engine.begin() as conn:
        for title in ("Past seminar", "Conversation for kindness"):
            rid = conn.execute(select(resources.c.id).where(resources.c.title == title)).scalar_one()
            change_resource_status(conn, rid, "approved", user_id=None, now=NOW)
            ids[title] = rid
    return ids


def events_of(data: bytes) -> dict[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(data)
    return {str(e.get("summary")): e for e in calendar.walk("VEVENT")}


def test_event_ics_is_served_for_approved_events_only(engine, settings):
    ids = seed_events(engine)
    client = make_app(settings, engine).test_client()
    response = client.get(f"/events/{ids['December conversation']}.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    (event,) = events_of(response.data).values()
    assert event.get("dtstart").dt == NOW + timedelta(days=33, hours=5)
    assert client.get(f"/events/{ids['Kindness toolkit']}.ics").status_code == 404  # not an event
    assert client.get(f"/events/{ids['Not approved']}.ics").status_code == 404
    assert client.get("/events/999999.ics").status_code == 404


def test_calendar_feed_holds_upcoming_events_with_the_series_rule(engine, settings):
    ids = seed_events(engine)
    client = make_app(settings, engine).test_client()
    response = client.get("/feeds/events.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    calendar = icalendar.Calendar.from_ical(response.data)
    assert str(calendar.get("x-wr-calname")).endswith("events")
    found = events_of(response.data)
    assert set(found) == {"December conversation", "Conversation for kindness"}  # not the past seminar
    series = found["Conversation for kindness"]
    assert series.get("rrule")["FREQ"] == ["MONTHLY"] and series.get("rrule")["BYDAY"] == ["+3TH"]
    start = series.get("dtstart").dt  # the next third Thursday after NOW (1 Nov 2026), 18:00 London time
    assert start.astimezone(UTC) == datetime(2026, 11, 19, 18, 0, tzinfo=UTC)
    assert str(start.tzinfo) == "Europe/London" and calendar.walk("VTIMEZONE")
    assert "utm_source" not in str(series.get("url"))
    assert str(series.get("uid")) == f"resource-{ids['Conversation for kindness']}@digest.example.org"


def test_theme_and_audience_calendars_and_404(engine, settings):
    seed_events(engine)
    client = make_app(settings, engine).test_client()
    assert client.get("/feeds/theme/kindness.ics").status_code == 200
    assert client.get("/feeds/audience/leaders.ics").status_code == 200
    assert client.get("/feeds/theme/no-such-theme.ics").status_code == 404


def test_after_the_event_starts_it_leaves_the_calendar(engine, settings):
    seed_events(engine)
    later = NOW + timedelta(days=34)
    found = events_of(make_app(settings, engine, later).test_client().get("/feeds/events.ics").data)
    assert set(found) == {"Conversation for kindness"}


def test_static_build_writes_calendars_and_event_files(engine, settings, tmp_path):
    ids = seed_events(engine)
    report = build_feeds(engine, settings, NOW, output=tmp_path / "feeds")
    assert set(events_of((tmp_path / "feeds" / "events.ics").read_bytes())) == {
        "December conversation",
        "Conversation for kindness",
    }
    assert (tmp_path / "feeds" / "theme" / "kindness.ics").is_file()
    index = (tmp_path / "feeds" / "index.html").read_text()
    assert 'href="webcal://digest.example.org/feeds/events.ics"' in index
    assert report.written > 0
    build_archive(engine, settings, NOW, output=tmp_path / "archive")
    assert events_of((tmp_path / "events" / f"{ids['December conversation']}.ics").read_bytes())
