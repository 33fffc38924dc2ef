"""The archive pages and calendars are kept until their stamp changes, like the feeds: a cached request costs one
stamp query, and a sent issue, an approval or an edit shows on the next request (counted in statements and
asserted on content, never on time)."""

from __future__ import annotations

from datetime import timedelta

import feedparser
import pytest
from sqlalchemy import select, update

from aggregator.db.schema import resources
from aggregator.digest.issue import prepare_draft
from aggregator.model import Event, RawEntry
from aggregator.publish.feeds.build import BUILT_MARKER
from aggregator.publish.pages import PublicPages
from aggregator.review.lifecycle import change_issue_status, change_resource_status
from tests.support.resources import NOW, store
from tests.test_archive import SENT_AT, send_november
from tests.test_calendar import events_of, make_app, seed_events
from tests.test_feeds import HUB, settings  # noqa: F401 (a fixture)
from tests.test_public_pages_cache import statements  # noqa: F401 (a fixture)


def get(client, statements, path: str) -> tuple[bytes, int]:  # noqa: F811
    statements.clear()
    response = client.get(path)
    assert response.status_code == 200, path
    return response.data, len(statements)


def draft_december(engine, ids: dict[str, int]) -> int:
    """December's draft, holding the one resource approved since November's issue."""
    with engine.begin() as conn:
        change_resource_status(conn, ids["Not approved"], "approved", user_id=None, now=NOW + timedelta(days=20))
        return prepare_draft(conn, "2026-12", NOW + timedelta(days=30))


def send(engine, issue_id: int) -> None:
    with engine.begin() as conn:
        for status in ("approved", "sending", "sent"):
            change_issue_status(conn, issue_id, status, user_id=None, now=SENT_AT + timedelta(days=30))


@pytest.mark.parametrize("path", ["/archive/", "/archive/2026-11", "/archive/feed.atom", "/feeds/events.ics"])
def test_a_cached_public_page_costs_the_stamp_only(engine, settings, statements, path):  # noqa: F811
    send_november(engine)
    client = make_app(settings, engine).test_client()
    first, built = get(client, statements, path)
    again, cached = get(client, statements, path)
    assert again == first and cached == 1 < built


def test_a_sent_issue_shows_in_the_archive_index_its_page_and_feed(engine, settings):  # noqa: F811
    december = draft_december(engine, send_november(engine))
    client = make_app(settings, engine).test_client()
    assert "December 2026" not in client.get("/archive/").get_data(as_text=True)
    assert client.get("/archive/2026-12").status_code == 404
    assert len(feedparser.parse(client.get("/archive/feed.atom").data).entries) == 1
    send(engine, december)  # no resource changes: the sent issue alone makes the pages stale
    assert "December 2026" in client.get("/archive/").get_data(as_text=True)
    assert client.get("/archive/2026-12").status_code == 200
    assert len(feedparser.parse(client.get("/archive/feed.atom").data).entries) == 2


def test_an_edit_to_a_resource_shows_in_the_issue_page(engine, settings):  # noqa: F811
    ids = send_november(engine)
    client = make_app(settings, engine).test_client()
    assert "Kindness toolkit, second edition" not in client.get("/archive/2026-11").get_data(as_text=True)
    with engine.begin() as conn:  # as review/edits.py saves an editor's change
        conn.execute(
            update(resources)
            .where(resources.c.id == ids["Kindness toolkit"])
            .values(title="Kindness toolkit, second edition", modified_at=NOW + timedelta(days=5))
        )
    assert "Kindness toolkit, second edition" in client.get("/archive/2026-11").get_data(as_text=True)


def test_an_approved_event_shows_in_the_calendars(engine, settings):  # noqa: F811
    seed_events(engine)
    client = make_app(settings, engine).test_client()
    assert "Kindness festival" not in events_of(client.get("/feeds/events.ics").data)
    store(
        engine,
        HUB,
        [
            RawEntry(
                url="https://pslhub.example/festival",
                title="Kindness festival",
                event=Event(start=NOW + timedelta(days=9), timezone="Europe/London"),
            )
        ],
    )
    with engine.begin() as conn:
        rid = conn.execute(select(resources.c.id).where(resources.c.title == "Kindness festival")).scalar_one()
        change_resource_status(conn, rid, "approved", user_id=None, now=NOW + timedelta(hours=1))
    assert "Kindness festival" in events_of(client.get("/feeds/events.ics").data)
    with engine.begin() as conn:
        change_resource_status(conn, rid, "rejected", user_id=None, now=NOW + timedelta(hours=2))
    assert "Kindness festival" not in events_of(client.get("/feeds/events.ics").data)


def test_a_calendar_is_built_again_the_next_hour(engine, settings, statements):  # noqa: F811
    seed_events(engine)
    now = [NOW]
    app = make_app(settings, engine)
    app.extensions["aggregator"] = type("Deps", (), {"clock": staticmethod(lambda: now[0])})()
    client = app.test_client()
    first, built = get(client, statements, "/feeds/events.ics")
    now[0] = NOW + timedelta(minutes=59)
    assert get(client, statements, "/feeds/events.ics") == (first, 1)  # the same hour: the same bytes
    now[0] = NOW + timedelta(days=34)  # the December conversation is over
    later, count = get(client, statements, "/feeds/events.ics")
    assert count == built and "December conversation" not in events_of(later)


def test_rebuilding_the_feeds_rebuilds_the_archive_pages(engine, settings, statements):  # noqa: F811
    send_november(engine)
    client = make_app(settings, engine).test_client()
    _, built = get(client, statements, "/archive/")
    settings.feeds_dir.mkdir(parents=True, exist_ok=True)
    (settings.feeds_dir / BUILT_MARKER).write_text("rebuilt\n")
    assert get(client, statements, "/archive/")[1] > 1


def test_a_background_rebuild_reads_the_store_not_other_stale_pages(engine, settings):  # noqa: F811
    december = draft_december(engine, send_november(engine))
    rebuilds: list = []
    pages = PublicPages(settings, engine, spawn=rebuilds.append)  # rebuilds wait until the test runs them
    assert b"December 2026" not in pages.archive_index() and pages.archive_issue("2026-12") is None
    send(engine, december)
    assert b"December 2026" not in pages.archive_index()  # stale, served while it is built again
    assert pages.archive_issue("2026-12") is None  # the sent months are being built again too
    while rebuilds:
        rebuilds.pop(0)()
    assert b"December 2026" in pages.archive_index()
    assert b"December 2026" in pages.archive_issue("2026-12")
