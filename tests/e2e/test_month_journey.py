"""An editor's whole month in one browser session (issue 16's "done when"), over the monthly pass of the fixture
sites: review in the compact list by keyboard only, split a merge, compose the issue by drag and drop (and once
by keyboard), approve it seeing how many people it mails, send it now to a real SMTP server (aiosmtpd on
127.0.0.1) and watch the progress reach "sent" without reloading, then the issue's figures on the numbers page.
axe-core runs on every page on the way; a screenshot per step goes to tests/artifacts/screenshots/month-*.png."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from aggregator.config.sources import load_sources
from aggregator.db.schema import entries, issues, labels, merges, resources
from aggregator.web import create_app
from tests.e2e.support import IN_BROWSER, add_readers, check_axe, demo_month, layout, serving, shot, signed_in, statuses

PEOPLE = 16
WAIT = 60_000  # ms
SEND_WAIT = 120_000

pytestmark = IN_BROWSER


@pytest.fixture(autouse=True)
def patient_expect() -> Iterator[None]:
    """expect() waits up to WAIT here (the suite shares two cores), then Playwright's default again."""
    expect.set_options(timeout=WAIT)
    yield
    expect.set_options(timeout=5_000)


@pytest.fixture(scope="module")
def month(tmp_path_factory, sink) -> Iterator[tuple[str, object, dict[str, str]]]:
    """The demo month with PEOPLE subscribers, mailing through the sink quickly; (base URL, engine, source names)."""
    smtp = {**sink.smtp_settings(), "rate_per_second": 50.0, "connections": 1}
    with demo_month(tmp_path_factory.mktemp("web-month"), smtp=smtp, allow_insecure_links=True) as demo:
        add_readers(demo.engine, PEOPLE, datetime.now(UTC))
        names = {s.id: s.name for s in load_sources(demo.settings.sources_file).sources}
        app = create_app(demo.settings, demo.engine, passwords=demo.passwords)
        with serving(app) as base:
            yield base, demo.engine, names


def current(page):
    return page.locator("[data-resource].is-current")


def review_by_keyboard(page, engine) -> list[int]:
    """Step 1: the compact list, by keys only; returns the ids approved."""
    check_axe(page, "the queue's cards")
    page.get_by_role("link", name="Compact list").click()
    page.wait_for_url("**view=list**")
    rows = page.locator("li.row")
    expect(rows.nth(9)).to_be_attached()
    ids = [int(rows.nth(i).get_attribute("data-resource")) for i in range(10)]
    check_axe(page, "the compact list")
    shot(page, "month-1-compact-list", full_page=False)

    page.keyboard.press("j")
    expect(current(page)).to_have_attribute("data-resource", str(ids[1]))
    page.keyboard.press("k")
    expect(current(page)).to_have_attribute("data-resource", str(ids[0]))
    page.keyboard.press("a")  # confirmed on the row, with its Undo; focus moves to the next row
    expect(page.locator(f"#r-{ids[0]} .row__done")).to_contain_text("Approved")
    expect(page.locator(f"#r-{ids[0]} [data-row-undo]")).to_be_visible()
    expect(page.locator(f"#r-{ids[1]}")).to_be_focused()
    shot(page, "month-1-approved-on-the-row", full_page=False)
    page.keyboard.press("u")
    expect(page.locator(f"#r-{ids[0]} [data-action=approve]")).to_be_visible()
    assert statuses(engine, [ids[0]]) == {ids[0]: "pending"}
    page.keyboard.press("a")  # undo gave focus back to the row: approve it again
    expect(page.locator(f"#r-{ids[0]} .row__done")).to_contain_text("Approved")
    page.keyboard.press("a")  # and the next
    expect(page.locator(f"#r-{ids[1]} .row__done")).to_contain_text("Approved")

    expect(page.locator(f"#r-{ids[2]}")).to_be_focused()
    page.keyboard.press("r")
    page.keyboard.type("Not about health or care")
    page.keyboard.press("Enter")
    expect(page.locator(f"#r-{ids[2]} .row__done")).to_contain_text("Rejected")

    # select seven with x, then approve them all from the bulk bar by its key (its confirm() is accepted)
    for _ in range(7):
        page.keyboard.press("x")
        page.keyboard.press("j")
    expect(page.locator("[data-selected-count]")).to_have_text("7 selected")
    shot(page, "month-1-selected", full_page=False)
    with page.expect_navigation():
        page.keyboard.press("Shift+A")
    expect(page.locator(".messages")).to_contain_text("Approved 7 resources")
    approved = [ids[0], ids[1], *ids[3:10]]
    with engine.connect() as conn:
        reason = conn.execute(select(resources.c.rejection_reason).where(resources.c.id == ids[2])).scalar()
    assert reason == "Not about health or care"
    assert statuses(engine, ids) == {**dict.fromkeys(approved, "approved"), ids[2]: "rejected"}
    check_axe(page, "the compact list after a bulk action")
    shot(page, "month-1-bulk-approved", full_page=False)

    # reject two from the bulk bar by keys: shift+r goes to its reason, Enter rejects (not its first button)
    rows = page.locator("li.row")
    expect(current(page)).to_have_attribute("data-resource", rows.first.get_attribute("data-resource"))
    rejected = [int(rows.nth(i).get_attribute("data-resource")) for i in range(2)]
    page.keyboard.press("x")
    page.keyboard.press("j")
    page.keyboard.press("x")
    page.keyboard.press("Shift+R")
    expect(page.locator("#bulk-reason")).to_be_focused()
    page.keyboard.type("Last month's news")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator(".messages")).to_contain_text("Rejected 2 resources")
    with engine.connect() as conn:
        rows = conn.execute(
            select(resources.c.status, resources.c.rejection_reason).where(resources.c.id.in_(rejected))
        ).all()
    assert [tuple(r) for r in rows] == [("rejected", "Last month's news")] * 2
    return approved


def split_a_merge(page, base: str, engine, names: dict[str, str]) -> None:
    """Step 2: a resource two sources gave is split; the button names the source, both halves labelled, linked."""
    with engine.connect() as conn:
        merge = conn.execute(select(merges).where(merges.c.split_at.is_(None)).order_by(merges.c.id)).first()
        assert merge is not None, "the demo month has no merge to split"
        absorbed_sources = conn.execute(
            select(entries.c.source_id).where(entries.c.resource_id == merge.absorbed_id)
        ).scalars()
        expected = ", ".join(names[s] for s in absorbed_sources)
    page.goto(f"{base}/editor/resources/{merge.kept_id}")
    button = page.locator(f"form[action$='/merges/{merge.id}/split'] button")
    expect(button).to_contain_text(f"Split off {expected}")
    check_axe(page, "a resource two sources gave")
    shot(page, "month-2-merged")
    with page.expect_navigation():
        button.click()
    link = page.locator(".messages a").first
    expect(link).to_have_attribute("href", f"/editor/resources/{merge.absorbed_id}")
    link.click()
    page.wait_for_url(f"**/editor/resources/{merge.absorbed_id}")
    expect(page.locator(".splits a").first).to_have_attribute("href", f"/editor/resources/{merge.kept_id}")
    with engine.connect() as conn:
        assert conn.execute(select(merges.c.split_at).where(merges.c.id == merge.id)).scalar() is not None
        labelled = set(
            conn.execute(
                select(labels.c.resource_id).where(labels.c.resource_id.in_([merge.kept_id, merge.absorbed_id]))
            ).scalars()
        )
    assert labelled == {merge.kept_id, merge.absorbed_id}
    check_axe(page, "the split-off resource")
    shot(page, "month-2-split-off")


def compose(page, engine, approved: list[int]) -> int:
    """Step 3: prepare the draft of what was approved, drag an item to a new place, then move one by keyboard;
    returns the issue id."""
    page.get_by_role("link", name="Issues").click()
    check_axe(page, "the issues page")
    page.get_by_role("button", name="Prepare the draft").click()
    page.wait_for_url("**/editor/issues/*")
    issue_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    check_axe(page, "the draft issue")
    before = layout(engine, issue_id)
    assert len(before) >= 3 and {r for r, _ in before} <= set(approved), (before, approved)

    # in a section of two or more, drag the last item by its handle onto the first one's place
    name = next(s for s, n in Counter(s for _, s in before).most_common() if n >= 2)
    section = page.locator(f"[data-sections] > [data-section='{name}']")
    items = section.locator("[data-item]")
    moving = int(items.last.get_attribute("data-item"))
    items.last.locator(".drag-handle").drag_to(items.first)
    expect(page.locator("[data-order-status]")).to_have_text("Order saved.")
    after = [r for r, s in layout(engine, issue_id) if s == name]
    assert after[0] == moving and sorted(after) == sorted(r for r, s in before if s == name)
    shot(page, "month-3-dragged")

    # the keyboard alternative: Enter on the first item's Down button
    page.reload()
    first = int(items.first.get_attribute("data-item"))
    assert first == moving  # the page shows the stored order
    items.first.get_by_role("button", name="Down").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    in_section = [r for r, s in layout(engine, issue_id) if s == name]
    assert in_section[1] == first
    check_axe(page, "the issue after moving")
    shot(page, "month-3-moved-by-keyboard")
    return issue_id


def test_an_editors_month(month, browser, sink):
    base, engine, names = month
    context, page = signed_in(browser, base)
    page.set_default_timeout(WAIT)  # every wait_for and navigation: generous too

    approved = review_by_keyboard(page, engine)
    split_a_merge(page, base, engine, names)
    issue_id = compose(page, engine, approved)

    # 4. approve, seeing how many people it will mail
    panel = page.locator("section[aria-labelledby=approve-title]")
    expect(panel).to_contain_text(f"Approving mails {PEOPLE} subscribers")
    panel.scroll_into_view_if_needed()
    shot(page, "month-4-approve", full_page=False)
    with page.expect_navigation():
        page.get_by_role("button", name="Approve for sending").click()
    with engine.connect() as conn:
        assert conn.execute(select(issues.c.status).where(issues.c.id == issue_id)).scalar() == "approved"
    check_axe(page, "the approved issue")

    # 5. send now, and watch the progress page reach "sent" by itself
    with page.expect_navigation():
        page.get_by_role("button", name="Send now").click()
    assert "/sending" in page.url
    url = page.url
    check_axe(page, "the send's progress")
    shot(page, "month-5-sending", full_page=False)
    expect(page.locator("#send-state")).to_have_text("This issue is sent.", timeout=SEND_WAIT)
    assert page.url == url  # updated in place, not reloaded
    expect(page.locator('[data-field="sent"]')).to_have_text(str(PEOPLE))
    expect(page.locator('[data-field="pending"]')).to_have_text("0")
    shot(page, "month-5-sent", full_page=False)
    received = {m.rcpt_tos[0] for m in sink.handler.messages}
    assert len(received) == len(sink.handler.messages) == PEOPLE
    assert received == {f"reader{n}@example.org" for n in range(PEOPLE)}

    # 6. the issue's figures on the numbers page
    page.get_by_role("link", name="See every issue’s numbers").click()
    page.wait_for_url("**/editor/numbers/")
    row = page.locator("#issue-figures tbody tr").first  # the month's one issue
    cells = row.locator("td[data-figure]")
    expect(cells.first).to_be_visible()
    figures = {cell.get_attribute("data-figure"): cell.inner_text() for cell in cells.all()}
    assert figures["recipients"] == figures["delivered"] == str(len(sink.handler.messages))
    assert figures["failed"] == figures["bounced"] == "0"
    check_axe(page, "the numbers page")
    shot(page, "month-6-numbers")
    context.close()
