"""The editors' journeys in a real browser (Debian's chromium through Playwright) against the app on 127.0.0.1,
over a database filled by the monthly pass over the partner-site fixtures. Screenshots of each main page are
saved in tests/artifacts/screenshots/ for a person to look at."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from aggregator.db.schema import issue_items, issues, label_corrections, merges, resources
from aggregator.web import create_app
from tests.e2e.support import ADMIN, IN_BROWSER, PASSWORD, demo_month, serving, shot, statuses

pytestmark = IN_BROWSER


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[str, object]]:
    """The app over a monthly pass of the fixture sites, served by werkzeug in a thread; (base URL, engine)."""
    with demo_month(tmp_path_factory.mktemp("web-e2e")) as month:
        app = create_app(month.settings, month.engine, passwords=month.passwords)
        with serving(app) as base:
            yield base, month.engine


def flash(page) -> str:
    return page.locator(".messages").inner_text()


def test_editor_journey(served, browser):
    base, engine = served
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("dialog", lambda dialog: dialog.accept())  # the confirm() of splits, bulk actions, approval
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)

    # sign in (the queue sends a signed-out visitor to the sign-in page and back)
    page.goto(f"{base}/editor/")
    assert "/editor/login" in page.url
    page.get_by_label("Email address").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/editor/")
    assert page.get_by_role("heading", name="Review queue").is_visible()
    shot(page, "queue", full_page=False)  # the first screenful: the queue is long

    # approve two: the first with the keyboard (j moves down, k back up, a approves), the next with its button
    cards = page.locator("li.card")
    first_id, second_id, third_id = (int(cards.nth(i).get_attribute("data-resource")) for i in range(3))
    page.keyboard.press("j")
    assert "is-current" in (page.locator(f"#r-{second_id}").get_attribute("class") or "")
    page.keyboard.press("k")
    page.keyboard.press("a")  # confirmed in place, on the row, without a reload (issue 16)
    page.locator(f"#r-{first_id} .row__done").filter(has_text="Approved").wait_for()
    page.locator(f"#r-{second_id} [data-action=approve]").click()
    page.locator(f"#r-{second_id} .row__done").filter(has_text="Approved").wait_for()
    assert statuses(engine, [first_id, second_id]) == {first_id: "approved", second_id: "approved"}

    # reject one, with a reason typed after pressing r
    page.locator(f"#r-{third_id}").focus()
    page.keyboard.press("r")
    page.keyboard.type("Not about health or care")
    page.keyboard.press("Enter")
    page.locator(f"#r-{third_id} .row__done").filter(has_text="Rejected").wait_for()
    with engine.connect() as conn:
        assert (
            conn.execute(select(resources.c.rejection_reason).where(resources.c.id == third_id)).scalar()
            == "Not about health or care"
        )

    # edit a label on the resource page
    target = int(page.locator("li.card:not(.is-done)").first.get_attribute("data-resource"))
    page.locator(f"#r-{target} [data-action=edit]").click()
    page.wait_for_url(f"**/editor/resources/{target}**")
    shot(page, "resource-edit")
    box = page.get_by_role("checkbox", name="Teamwork")
    box.set_checked(not box.is_checked())
    with page.expect_navigation():
        page.get_by_role("button", name="Save changes").click()
    assert "Saved your changes" in flash(page)
    with engine.connect() as conn:
        assert (
            conn.execute(select(label_corrections.c.label_id).where(label_corrections.c.resource_id == target)).scalar()
            == "teamwork"
        )

    # split a merge (find a resource that has one)
    with engine.connect() as conn:
        merge = conn.execute(select(merges).where(merges.c.split_at.is_(None)).order_by(merges.c.id)).first()
    page.goto(f"{base}/editor/resources/{merge.kept_id}")
    with page.expect_navigation():
        page.locator("form[action$='/split'] button").first.click()
    assert "Split" in flash(page)
    with engine.connect() as conn:
        assert conn.execute(select(merges.c.split_at).where(merges.c.id == merge.id)).scalar() is not None

    # compose the month's issue
    page.get_by_role("link", name="Issues").click()
    page.get_by_role("button", name="Prepare the draft").click()
    page.wait_for_url("**/editor/issues/*")
    issue_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    assert "draft is ready" in flash(page)
    page.get_by_label("A few words from the editors").fill("Welcome to this month's kindness in care digest.")
    with page.expect_navigation():
        page.get_by_role("button", name="Save the introduction").click()

    # reorder: bring both resources into one section, then move the second up
    items = page.locator("li.issue-item")
    assert items.count() >= 2
    first_section = page.locator("li.issue-item select").first.input_value()
    second = items.nth(1)
    second.locator("select").select_option(first_section)
    with page.expect_navigation():
        second.locator("form:has(select) button").click()
    with engine.connect() as conn:
        before = [
            r.resource_id
            for r in conn.execute(
                select(issue_items)
                .where(issue_items.c.issue_id == issue_id, issue_items.c.section == first_section)
                .order_by(issue_items.c.position)
            )
        ]
    assert len(before) >= 2
    with page.expect_navigation():
        page.locator(f"#i-{before[-1]} button[value=up]").click()
    with engine.connect() as conn:
        after = [
            r.resource_id
            for r in conn.execute(
                select(issue_items)
                .where(issue_items.c.issue_id == issue_id, issue_items.c.section == first_section)
                .order_by(issue_items.c.position)
            )
        ]
    assert after[-2] == before[-1] and after[-1] == before[-2]
    shot(page, "composition")

    # preview as a reader
    page.get_by_role("link", name="Preview").click()
    page.wait_for_url("**/preview**")
    frame = page.frame_locator("iframe.preview-frame")
    assert frame.locator("body").inner_text().strip()
    assert "Welcome to this month" in page.locator("pre.preview-text").inner_text()
    shot(page, "preview")

    # approve the issue for sending
    page.get_by_role("link", name="Back to the issue").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Approve for sending").click()
    assert "Approved for sending" in flash(page)
    with engine.connect() as conn:
        assert conn.execute(select(issues.c.status).where(issues.c.id == issue_id)).scalar() == "approved"

    # the sources and audit pages
    page.get_by_role("link", name="Sources").click()
    assert page.get_by_role("heading", name="Sources").is_visible()
    shot(page, "sources")
    page.get_by_role("link", name="Audit log").click()
    audit = page.locator("table").inner_text()
    for words in ("approved", "rejected", "edited", "split a merge", "approved for sending"):
        assert words in audit
    shot(page, "audit")
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors
    page.close()


def test_queue_on_a_narrow_screen_without_javascript(served, browser):
    base, _ = served
    context = browser.new_context(viewport={"width": 375, "height": 800}, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{base}/editor/login")
    page.get_by_label("Email address").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/editor/")
    card = page.locator("li.card").first
    rid = card.get_attribute("data-resource")
    with page.expect_navigation():
        card.locator("[data-action=approve]").click()  # a plain form post
    assert "Approved" in page.locator(".messages").inner_text()
    shot(page, "queue-narrow", full_page=False)
    context.close()
    assert rid
