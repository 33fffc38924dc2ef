"""Sending from the web app in a real browser (Debian's chromium through Playwright) to a real SMTP server
(aiosmtpd on 127.0.0.1), over the monthly pass of the fixture sites: approve (the recipient count shown), send
now, watch the progress (pause, resume) reach "sent" without reloading, then the issue's figures on the numbers
page. axe-core finds no violations on the progress and numbers pages; screenshots in tests/artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from aggregator.db.schema import resources
from aggregator.review.lifecycle import change_resource_status
from aggregator.web import create_app
from tests.e2e.support import IN_BROWSER, add_readers, check_axe, demo_month, serving, shot, signed_in

PEOPLE = 30

pytestmark = IN_BROWSER


@pytest.fixture(scope="module")
def served(tmp_path_factory, sink) -> Iterator[tuple[str, object]]:
    """The app over a monthly pass of the fixture sites, mailing through the SMTP sink at 5 messages a second (6 s for 30: time to pause)."""
    smtp = {**sink.smtp_settings(), "rate_per_second": 5.0, "connections": 1}
    with demo_month(tmp_path_factory.mktemp("web-send"), smtp=smtp, allow_insecure_links=True) as month:
        now = datetime.now(UTC)
        with month.engine.begin() as conn:
            for resource_id in conn.execute(
                select(resources.c.id)
                .where(resources.c.status == "pending", resources.c.off_topic.is_(False))
                .order_by(resources.c.id)
                .limit(4)
            ):
                change_resource_status(conn, resource_id[0], "approved", user_id=None, now=now)
        add_readers(month.engine, PEOPLE, now)
        app = create_app(month.settings, month.engine, passwords=month.passwords)
        with serving(app) as base:
            yield base, month.engine


def test_approve_send_now_watch_progress_and_see_the_numbers(served, browser, sink):
    base, _ = served
    context, page = signed_in(browser, base)

    # approve: the panel says how many people it will mail, and by what they chose
    page.get_by_role("link", name="Issues").click()
    page.get_by_role("button", name="Prepare the draft").click()
    page.wait_for_url("**/editor/issues/*")
    panel = page.locator("section[aria-labelledby=approve-title]")
    assert f"Approving mails {PEOPLE} subscribers" in panel.inner_text()
    assert "Everything: 20" in panel.inner_text()
    panel.scroll_into_view_if_needed()
    shot(page, "send-1-approve", full_page=False)
    with page.expect_navigation():
        page.get_by_role("button", name="Approve for sending").click()
    assert "Goes out on" in page.locator(".lead").inner_text()
    check_axe(page, "the issue's send panel", "section[aria-labelledby=approve-title]")

    # send now (a double click makes one send), then the progress page fills in by itself
    with page.expect_navigation():
        page.get_by_role("button", name="Send now").dblclick()
    assert "/sending" in page.url
    url = page.url
    check_axe(page, "the send's progress")
    page.get_by_role("button", name="Pause the send").click()
    page.wait_for_url(url)
    assert page.locator("#send-state").inner_text() == "The send is paused."
    sent_when_paused = int(page.locator('[data-field="sent"]').inner_text())
    assert sent_when_paused < PEOPLE
    shot(page, "send-2-paused", full_page=False)
    page.get_by_role("button", name="Resume the send").click()
    page.wait_for_url(url)
    page.wait_for_function("() => Number(document.querySelector('[data-field=sent]').textContent) > 0")
    shot(page, "send-3-progress", full_page=False)
    page.wait_for_function(
        "() => document.getElementById('send-state').textContent === 'This issue is sent.'", timeout=60_000
    )
    assert page.url == url  # no reload: the figures were updated in place
    assert page.locator('[data-field="sent"]').inner_text() == str(PEOPLE)
    assert page.locator('[data-field="pending"]').inner_text() == "0"
    assert page.locator("#send-controls").is_hidden()
    shot(page, "send-4-sent", full_page=False)
    assert len({m.rcpt_tos[0] for m in sink.handler.messages}) == len(sink.handler.messages) == PEOPLE

    # the issue page says sent, and only sent
    page.get_by_role("link", name="← Issue for").click()
    lead = page.locator(".lead").inner_text()
    assert "Sent on" in lead and "Goes out on" not in lead

    # the numbers page: this issue's figures and the months' charts
    page.get_by_role("link", name="Numbers").click()
    page.wait_for_url("**/editor/numbers/")
    row = page.locator("#issue-figures tbody tr").first
    row.locator("td[data-figure]").first.wait_for()  # .all() does not wait: under load the page may still be loading
    figures = {cell.get_attribute("data-figure"): cell.inner_text() for cell in row.locator("td[data-figure]").all()}
    assert figures == {"recipients": "30", "delivered": "30", "failed": "0", "bounced": "0", "unsubscribed": "0"}
    assert page.locator("svg.chart").count() >= 3
    check_axe(page, "the numbers page")
    shot(page, "send-5-numbers")
    context.close()
