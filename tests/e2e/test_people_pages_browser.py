"""Issue 16 in a real browser: axe-core finds no violations on every editor and public page (walked from the app's
own route map, signed out and signed in), the subscribers page (search, record, erase with confirmation), a page
per source with its sparkline, and suggesting a resource. Screenshots in tests/artifacts/screenshots/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from aggregator.db.schema import entries, issues, resources, subscribers
from aggregator.ingest.fetch import Fetcher, guarded_transport
from aggregator.jobs.demo import RewritingTransport
from aggregator.people.subscribers import subscribe
from aggregator.people.tokens import Tokens, make_preview
from aggregator.web import create_app
from tests.e2e.support import IN_BROWSER, check_axe, demo_month, serving, shot, signed_in

pytestmark = IN_BROWSER

# GET routes that are not pages (files, feeds, downloads), or not ours to check: with the reason.
NOT_PAGES = {
    "static": "files",
    "sending.progress_json": "JSON the progress page polls",
    "healthz": "plain text",
    "subscriptions.stylesheet": "CSS",
    "published.stylesheet": "CSS",
    "published.archive_feed_route": "a feed",
    "published.label_feed": "a feed",
    "published.combined_feed": "a feed",
    "published.feeds_opml": "OPML",
    "calendars.event_calendar_entry": "iCalendar",
    "calendars.label_calendar": "iCalendar",
    "calendars.events_calendar": "iCalendar",
    "subscribers.export": "a CSV download",
    "subscribers.export_person": "a JSON download",
    "issues.preview_html": "the mail's own HTML, shown in the preview page's sandboxed frame",
    "home": "a redirect to the subscribe page",
}


@pytest.fixture(scope="module")
def app_served(tmp_path_factory) -> Iterator[tuple[str, object, object]]:
    """The app over a monthly pass of the fixture sites, with one subscriber; (base URL, engine, app)."""
    with demo_month(tmp_path_factory.mktemp("web-people")) as month:
        with month.engine.begin() as conn:
            subscribe(conn, "nurse@example.org", [], ["kindness"], datetime.now(UTC), wording_version="2026-11")
        origin = month.sites.origin
        app = create_app(
            month.settings,
            month.engine,
            passwords=month.passwords,
            fetcher_factory=lambda s: Fetcher(s, transport=RewritingTransport(guarded_transport(s), origin)),
        )
        with serving(app) as base:
            yield base, month.engine, app


def page_urls(app, engine) -> tuple[list[str], list[str]]:
    """Every GET page of the app with its arguments filled from the database: (public, editors')."""
    tokens = Tokens(app.config["SECRET_KEY"])
    with engine.connect() as conn:
        issue = conn.execute(select(issues.c.id, issues.c.month).order_by(issues.c.id)).first()
        resource_id = conn.execute(select(resources.c.id).where(resources.c.status == "pending")).scalars().first()
        merged = conn.execute(select(resources.c.merged_into_id).where(resources.c.merged_into_id.isnot(None))).first()
        source_id = conn.execute(select(entries.c.source_id)).scalars().first()
        person = conn.execute(select(subscribers.c.id, subscribers.c.token_version)).one()
    assert issue is not None and resource_id is not None and source_id is not None
    values = {
        "issue_id": issue.id,
        "month": issue.month,
        "resource_id": merged[0] if merged else resource_id,
        "source_id": source_id,
        "subscriber_id": person.id,
    }
    tokened = {
        "subscriptions.preferences_page": [
            f"/preferences/{tokens.make('preferences', person.id, person.token_version)}"
        ],
        "subscriptions.unsubscribe_page": [
            f"/unsubscribe/{tokens.make('unsubscribe', person.id, person.token_version)}"
        ],
        "subscriptions.confirm_page": [f"/subscribe/confirm/{tokens.make('confirm', person.id, person.token_version)}"],
        "published.archive_preview": [f"/archive/preview/{make_preview(tokens, issue.id)}"],
        # a test copy's links, before the issue is sent
        "published.preview_notice": [
            f"/preview/{make_preview(tokens, issue.id)}/unsubscribe",
            f"/preview/{make_preview(tokens, issue.id)}/preferences",
        ],
    }
    public, editors = ["/no/such/page"], []  # the public 404 page too
    seen = set()
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.endpoint in NOT_PAGES or rule.endpoint in seen:
            continue
        seen.add(rule.endpoint)
        if rule.endpoint in tokened:
            urls = tokened[rule.endpoint]
        else:
            missing = set(rule.arguments) - set(values)
            assert not missing, f"no value for {missing} of {rule.rule}: add one, or list it in NOT_PAGES"
            urls = [rule.build({k: values[k] for k in rule.arguments})[1]]
        (editors if rule.rule.startswith("/editor/") and rule.endpoint != "auth.login" else public).extend(urls)
    return public, editors


def test_axe_finds_no_violations_on_any_page(app_served, browser):
    base, engine, app = app_served
    public, editors = page_urls(app, engine)
    assert len(editors) >= 15 and len(public) >= 10
    anonymous = browser.new_context(viewport={"width": 390, "height": 844}, bypass_csp=True)
    page = anonymous.new_page()
    for path in public:
        reply = page.goto(base + path)
        assert reply is not None and reply.status in (200, 404), (path, reply and reply.status)
        check_axe(page, f"{path} (signed out)")
    page.goto(base + "/no/such/page")
    assert "review queue" not in page.content()
    anonymous.close()
    context, page = signed_in(browser, base)
    for path in editors:
        reply = page.goto(base + path)
        assert reply is not None and reply.status == 200, (path, reply and reply.status)
        check_axe(page, f"{path} (signed in)")
    context.close()


def test_preview_text_is_reachable_by_keyboard(app_served, browser):
    base, engine, _ = app_served
    with engine.connect() as conn:
        issue_id = conn.execute(select(issues.c.id)).scalars().first()
    context, page = signed_in(browser, base)
    page.goto(f"{base}/editor/issues/{issue_id}/preview")
    text = page.locator("pre.preview-text")
    assert text.get_attribute("tabindex") == "0" and text.get_attribute("aria-label")
    text.focus()
    assert page.evaluate("document.activeElement.tagName") == "PRE"
    context.close()


def test_subscribers_source_page_and_suggesting_in_the_browser(app_served, browser):
    base, engine, _ = app_served
    context, page = signed_in(browser, base)
    page.get_by_role("link", name="Subscribers").click()
    page.wait_for_url(f"{base}/editor/subscribers/")
    page.get_by_label("Address contains").fill("nurse")
    page.get_by_role("button", name="Find").click()
    page.wait_for_url("**q=nurse**")
    assert "1 subscriber matches" in page.locator("main").inner_text()
    shot(page, "subscribers")
    page.get_by_role("link", name="nurse@example.org").click()
    page.wait_for_url(re.compile(r".*/editor/subscribers/\d+$"))
    assert page.get_by_role("heading", name="Consent record").is_visible()
    shot(page, "subscriber-record")
    page.get_by_label("Type their address to confirm").fill("nurse@example.org")
    page.get_by_role("button", name="Erase this subscriber").click()  # the confirm() dialog is accepted
    page.wait_for_url(f"{base}/editor/subscribers/")
    assert "were erased" in page.locator(".messages").inner_text()
    with engine.connect() as conn:
        assert conn.execute(select(subscribers)).first() is None

    page.goto(f"{base}/editor/sources/")
    with page.expect_navigation():
        page.get_by_role("link", name="History").first.click()
    assert page.get_by_role("heading", name="Fetch history").is_visible()
    assert page.locator("table tbody tr").count() >= 1
    shot(page, "source-page")
    with page.expect_navigation():
        page.get_by_role("button", name="Fetch now").click()
    assert "/editor/sources/" in page.url and page.get_by_role("heading", name="Fetch history").is_visible()
    assert page.locator(".sparkline svg polyline").count() == 1  # two fetches (new or unchanged): a line
    context.close()

    reader = browser.new_context(viewport={"width": 390, "height": 844})
    page = reader.new_page()
    page.goto(f"{base}/suggest")
    trap = page.locator("#website")  # the honeypot: off screen and out of the tab order
    box = trap.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 0 and trap.get_attribute("tabindex") == "-1"
    page.get_by_label("The page's address").fill("https://yqsr.org/seminar-series/")
    page.get_by_label("Why it is worth reading (optional)").fill("Monthly seminars on kindness")
    with page.expect_navigation():
        page.get_by_role("button", name="Suggest it").click()
    assert page.get_by_role("heading", name="Thank you").is_visible()
    shot(page, "suggested")
    reader.close()
    with engine.connect() as conn:
        assert conn.execute(select(entries.c.extra).where(entries.c.source_id == "suggested")).scalar_one() == {
            "suggested_by": "a reader",
            "note": "Monthly seminars on kindness",
        }

    # the editors see who suggested it and why, on its queue card
    context, page = signed_in(browser, base)
    with engine.connect() as conn:
        suggested = conn.execute(select(entries.c.resource_id).where(entries.c.source_id == "suggested")).scalar_one()
    page.goto(f"{base}/editor/?off_topic=include")
    page.get_by_label("Source", exact=True).select_option(label="Suggested by readers and editors")
    with page.expect_navigation():
        page.get_by_role("button", name="Filter").click()
    assert page.locator("[data-resource]").count() == 1  # the queue filtered to suggestions
    card = page.locator(f"#r-{suggested}")
    assert (
        card.locator(".suggestion").inner_text() == "Suggested by a reader: Monthly seminars on kindness"
    )  # quoted by <q>
    check_axe(page, "the queue with a suggestion")
    shot(page, "suggested-in-queue", full_page=False)
    context.close()
