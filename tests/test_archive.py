"""The public archive: a sent issue as a page (not personalised, fetched text inert), the index of sent
issues, their feed, 404 for drafts, and the static build."""

from __future__ import annotations

import re
from datetime import timedelta

import feedparser
import pytest

from aggregator.digest.issue import prepare_draft, set_intro
from aggregator.publish.archive import build_archive
from aggregator.review.lifecycle import change_issue_status
from tests.support.resources import NOW
from tests.test_feeds import BASE, seed, settings  # noqa: F401 (a fixture)
from tests.test_feeds_web import make_app

SENT_AT = NOW + timedelta(days=2)


def send_november(engine) -> dict[str, int]:
    """November's issue sent (with an intro of two paragraphs); December's still a draft."""
    ids = seed(engine)
    with engine.begin() as conn:
        issue_id = prepare_draft(conn, "2026-11", NOW)
        set_intro(conn, issue_id, "Welcome to November.\n\nKindness <b>matters</b> & so do you.", NOW)
        for status in ("approved", "sending", "sent"):
            change_issue_status(conn, issue_id, status, user_id=None, now=SENT_AT)
        prepare_draft(conn, "2026-12", NOW + timedelta(days=30))
    return ids


@pytest.fixture
def client(settings, engine):
    return make_app(settings, engine).test_client()


def test_a_sent_issue_is_a_public_page(engine, client):
    send_november(engine)
    response = client.get("/archive/2026-11")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "ETag" in response.headers and response.headers["Cache-Control"].startswith("public")
    page = response.get_data(as_text=True)
    assert "<h1>Kindness in care digest: November 2026</h1>" in page
    assert "<p>Welcome to November.</p>" in page and "Kindness &lt;b&gt;matters&lt;/b&gt; &amp; so do you." in page
    for heading in ("Kindness", "Upcoming events"):
        assert re.search(rf"<h2 id=\"section-\d+\">{heading}</h2>", page), heading
    assert '<a href="https://pslhub.example/a">Kindness toolkit</a>' in page
    assert "Also listed on NHS England" in page
    assert "Friday 4 December 2026, 14:00 to 15:00 (Europe/London)" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the hostile title, as text
    for absent in ("<script", "javascript:", "\x07", "\x01", "unsubscribe", "preferences", "Not approved"):
        assert absent not in page.lower() if absent.islower() else absent not in page
    assert '<html lang="en-GB">' in page and 'name="viewport"' in page
    assert "<style" not in page and f'<link rel="stylesheet" href="{BASE}/archive/archive.css">' in page
    css = client.get("/archive/archive.css")
    assert css.status_code == 200 and css.mimetype == "text/css" and b"prefers-color-scheme" in css.data
    assert client.get("/archive/2026-11/").status_code == 200
    assert client.get("/archive/2026-11", headers={"If-None-Match": response.headers["ETag"]}).status_code == 304


@pytest.mark.parametrize("month", ["2026-12", "2026-10", "2026-13", "november", "2026-1"])
def test_drafts_and_unknown_months_are_404(engine, client, month):
    send_november(engine)
    assert client.get(f"/archive/{month}").status_code == 404


def test_the_index_lists_sent_issues_only(engine, client):
    send_november(engine)
    page = client.get("/archive/").get_data(as_text=True)
    assert f'<a href="{BASE}/archive/2026-11">November 2026</a>' in page
    assert "December 2026" not in page
    assert f'href="{BASE}/archive/feed.rss"' in page and 'type="application/atom+xml"' in page


def test_empty_archive_says_so(engine, client):
    assert "No issue has been sent yet." in client.get("/archive/").get_data(as_text=True)
    feed = feedparser.parse(client.get("/archive/feed.atom").data)
    assert not feed.bozo and feed.entries == []


@pytest.mark.parametrize("fmt, media_type", [("rss", "application/rss+xml"), ("atom", "application/atom+xml")])
def test_the_archive_has_its_own_feed(engine, client, fmt, media_type):
    send_november(engine)
    response = client.get(f"/archive/feed.{fmt}")
    assert response.status_code == 200 and response.mimetype == media_type
    parsed = feedparser.parse(response.data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.feed.title == "Kindness in care digest: past issues"
    [entry] = parsed.entries
    assert entry.title == "Kindness in care digest: November 2026"
    assert entry.link == f"{BASE}/archive/2026-11"
    assert entry.id == "tag:digest.kindness-in-care.example,2026:issue/2026-11"  # the List-Id, not the host
    assert entry.published_parsed[:5] == SENT_AT.timetuple()[:5]
    html = entry.content[0].value if entry.get("content") else entry.summary
    assert "Kindness toolkit" in html and "javascript:" not in html
    assert client.get(f"/archive/feed.{fmt}", headers={"If-None-Match": response.headers["ETag"]}).status_code == 304


def test_archive_build_writes_static_pages(engine, settings, tmp_path):
    send_november(engine)
    report = build_archive(engine, settings, NOW)
    out = settings.archive_dir
    assert report.output_dir == out and report.issues == 1
    for name in ("index.html", "2026-11/index.html", "feed.rss", "feed.atom", "feed.json", "archive.css"):
        assert (out / name).is_file(), name
    assert not (out / "2026-12").exists() and not list(out.rglob("*.tmp"))
    assert "Welcome to November." in (out / "2026-11" / "index.html").read_text()
    assert build_archive(engine, settings, NOW).written == 0
