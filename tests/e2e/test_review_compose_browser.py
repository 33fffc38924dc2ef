"""Issue 16 in a real browser: review in the compact list by keyboard (actions confirmed on the row, undo,
select), split a merge (named source, labels, links), compose by drag and drop and by buttons, the Markdown
intro's preview; axe-core finds no violations on the pages these change. Screenshots in tests/artifacts/."""

from __future__ import annotations

import time

from sqlalchemy import select

from aggregator.db.schema import labels, merges, resources
from tests.e2e.support import IN_BROWSER, check_axe, layout, shot, signed_in, statuses
from tests.e2e.test_editor_journeys import served  # noqa: F401 (a fixture)

pytestmark = IN_BROWSER


def current_id(page) -> int:
    return int(page.locator("[data-resource].is-current").get_attribute("data-resource"))


def test_review_in_the_compact_list_by_keyboard(served, browser):
    base, engine = served
    context, page = signed_in(browser, base)
    check_axe(page, "the queue's cards")
    page.get_by_role("link", name="Compact list").click()
    page.wait_for_url("**view=list**")
    rows = page.locator("li.row")
    assert rows.count() >= 4
    assert page.locator("li.row").first.bounding_box()["height"] < 60  # one line per resource
    check_axe(page, "the compact list")
    shot(page, "queue-compact", full_page=False)

    ids = [int(rows.nth(i).get_attribute("data-resource")) for i in range(4)]
    page.keyboard.press("j")
    assert current_id(page) == ids[1]
    page.keyboard.press("k")
    assert current_id(page) == ids[0]
    started = time.perf_counter()
    page.keyboard.press("a")
    done = page.locator(f"#r-{ids[0]} .row__done")
    done.filter(has_text="Approved").wait_for()
    print(f"approve by key, confirmed on the row: {(time.perf_counter() - started) * 1000:.0f} ms")
    assert statuses(engine, [ids[0]]) == {ids[0]: "approved"}
    assert page.evaluate("document.activeElement.getAttribute('data-resource')") == str(ids[1])  # focus moved on
    assert page.url.endswith("view=list")  # no reload
    shot(page, "queue-compact-approved", full_page=False)

    page.keyboard.press("u")  # the row's Undo
    page.locator(f"#r-{ids[0]} [data-action=approve]").wait_for()
    assert statuses(engine, [ids[0]]) == {ids[0]: "pending"}

    page.locator(f"#r-{ids[1]}").focus()
    page.keyboard.press("x")
    assert page.locator("[data-selected-count]").inner_text() == "1 selected"
    page.keyboard.press("r")
    page.keyboard.type("Not about care")
    page.keyboard.press("Enter")
    page.locator(f"#r-{ids[1]} .row__done").filter(has_text="Rejected").wait_for()
    with engine.connect() as conn:
        row = conn.execute(
            select(resources.c.status, resources.c.rejection_reason).where(resources.c.id == ids[1])
        ).one()
    assert tuple(row) == ("rejected", "Not about care")

    page.locator(f"#r-{ids[2]}").focus()
    page.keyboard.press("f")
    page.locator(f"#r-{ids[2]} [data-action=feature][aria-pressed=true]").wait_for()
    with engine.connect() as conn:
        assert conn.execute(select(resources.c.featured).where(resources.c.id == ids[2])).scalar() is True
    context.close()


def test_split_a_merge_names_its_source_and_links_both(served, browser):
    base, engine = served
    context, page = signed_in(browser, base)
    with engine.connect() as conn:
        merge = conn.execute(select(merges).where(merges.c.split_at.is_(None)).order_by(merges.c.id.desc())).first()
    assert merge is not None, "the demo month has no merge to split"
    page.goto(f"{base}/editor/resources/{merge.kept_id}")
    button = page.locator(f"form[action$='/merges/{merge.id}/split'] button")
    assert button.inner_text().startswith("Split off ")
    check_axe(page, "a resource with a merge")
    with page.expect_navigation():
        button.click()
    link = page.locator(".messages a").first
    assert link.get_attribute("href") == f"/editor/resources/{merge.absorbed_id}"
    shot(page, "split-message", full_page=False)
    link.click()
    page.wait_for_url(f"**/editor/resources/{merge.absorbed_id}")
    assert page.locator(".splits a").first.get_attribute("href") == f"/editor/resources/{merge.kept_id}"
    with engine.connect() as conn:
        assert conn.execute(select(labels).where(labels.c.resource_id == merge.absorbed_id)).first() is not None
    check_axe(page, "a split-off resource")
    context.close()


def test_compose_by_drag_and_drop_and_by_buttons(served, browser):
    base, engine = served
    context, page = signed_in(browser, base)
    with engine.begin() as conn:  # approve a month's worth to compose with
        pending = (
            conn.execute(
                select(resources.c.id)
                .where(resources.c.status == "pending", resources.c.off_topic.is_(False))
                .limit(12)
            )
            .scalars()
            .all()
        )
        conn.execute(resources.update().where(resources.c.id.in_(pending)).values(status="approved"))
    page.get_by_role("link", name="Issues").click()
    page.get_by_role("button", name="Prepare the draft").click()
    page.wait_for_url("**/editor/issues/*")
    issue_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    sections = page.locator("[data-sections] > [data-section]")
    assert sections.count() >= 2, "the demo month should give at least two theme sections"
    check_axe(page, "the issue page")

    # drag the first section's first item below the second section's first item
    first = page.locator("[data-sections] > [data-section]").nth(0)
    second = page.locator("[data-sections] > [data-section]").nth(1)
    moving = int(first.locator("[data-item]").first.get_attribute("data-item"))
    target_section = second.get_attribute("data-section")
    first.locator("[data-item] .drag-handle").first.drag_to(second.locator("[data-item]").first)
    page.locator("[data-order-status]").filter(has_text="Order saved").wait_for()
    assert dict(layout(engine, issue_id))[moving] == target_section

    # drag the second section above the first
    names = [sections.nth(i).get_attribute("data-section") for i in range(sections.count())]
    page.locator("[data-order-status]").evaluate("node => node.textContent = ''")
    second.locator(".drag-handle--section").drag_to(first.locator(".section__head"))
    page.locator("[data-order-status]").filter(has_text="Order saved").wait_for()
    in_order = list(dict.fromkeys(section for _, section in layout(engine, issue_id)))
    assert in_order[:2] == [names[1], names[0]]
    shot(page, "compose-dragged")

    # the keyboard alternative: a section's own buttons
    page.reload()
    with page.expect_navigation():
        page.locator("[data-sections] > [data-section]").nth(1).get_by_role("button", name="Section up").click()
    in_order = list(dict.fromkeys(section for _, section in layout(engine, issue_id)))
    assert in_order[:2] == [names[0], names[1]]

    # the intro in Markdown, previewed as it is typed
    page.get_by_label("A few words from the editors").fill(
        "Welcome to **this** month. See [the guide](https://guide.example/)."
    )
    page.locator("#intro-preview strong").filter(has_text="this").wait_for()
    assert page.locator("#intro-preview a").get_attribute("href") == "https://guide.example/"
    with page.expect_navigation():
        page.get_by_role("button", name="Save the introduction").click()
    assert page.locator("#intro-preview strong").inner_text() == "this"
    check_axe(page, "the issue page after editing")
    shot(page, "compose-intro")
    context.close()
