"""The digest on a phone and a desktop, in a real browser (Debian's chromium through Playwright): the mail's
HTML part and the archive page at 320, 375 and 1200 px never scroll sideways (a long URL in a summary once
widened the mail to 715 px on a 375 px phone). Screenshots go to tests/artifacts/screenshots/."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aggregator.publish.archive import STYLESHEET, ArchivedIssue, render_issue_page
from aggregator.publish.feeds.query import FeedContext
from tests.e2e.support import IN_BROWSER, shot
from tests.test_digest_golden import load_case, render_case

WIDTHS = (320, 375, 1200)
SITE = "https://digest.example"

pytestmark = IN_BROWSER


def archive_page() -> str:
    content, _, _ = load_case("full-issue")
    issue = ArchivedIssue(content.id, content.month, datetime(2026, 12, 1, 9, tzinfo=UTC), content.intro)
    return render_issue_page(issue, content, FeedContext(SITE))


def overflow(browser, html: str, width: int, name: str) -> int:
    """How many CSS pixels the page is wider than the viewport (0: no sideways scrolling)."""
    page = browser.new_page(viewport={"width": width, "height": 800})
    try:

        def answer(route):  # nothing leaves the machine: our stylesheet, and nothing else
            if route.request.url == f"{SITE}/archive/{STYLESHEET.name}":
                route.fulfill(body=STYLESHEET.read_bytes(), content_type="text/css")
            else:
                route.abort()

        page.route("**/*", answer)
        page.set_content(html, wait_until="load")
        shot(page, f"digest-{name}-{width}")
        return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    finally:
        page.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_mail_html_part_never_scrolls_sideways(browser, width):
    html = render_case("full-issue").html
    assert "evaluation-data-tables-2026-final-version.xlsx" in html  # the long URL is in it
    assert overflow(browser, html, width, "mail") <= 0


@pytest.mark.parametrize("width", WIDTHS)
def test_archive_page_never_scrolls_sideways(browser, width):
    html = archive_page()
    assert "evaluation-data-tables-2026-final-version.xlsx" in html
    assert overflow(browser, html, width, "archive") <= 0


def test_in_this_issue_is_at_the_top(browser):
    page = browser.new_page(viewport={"width": 375, "height": 800})
    try:
        page.route("**/*", lambda route: route.abort())
        page.set_content(render_case("full-issue").html, wait_until="load")
        box = page.get_by_role("heading", name="In this issue").bounding_box()
        assert box is not None and box["y"] < 800  # on the first screen of a phone
    finally:
        page.close()
