"""Review at reading speed: the compact list, least sure first, counts that follow filters, actions answered
in place (JSON) with undo, and merges that can be split safely (named sources, labels, links, warnings)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, update

from aggregator.classify.label import correct_label, refresh_certainty
from aggregator.db.schema import labels, merges, resources
from aggregator.model import RawEntry
from aggregator.review.queue import QueueFilter, queue_page
from aggregator.web import create_app
from tests.e2e.support import add_account, fast_passwords, post, seed_resources, sign_in, web_settings
from tests.support.resources import NOW, source, store

FETCH = {"X-Requested-With": "fetch"}


@pytest.fixture
def site(tmp_path, engine, database_url):
    passwords = fast_passwords()
    ids = seed_resources(engine)
    with engine.begin() as conn:
        for rid in ids.values():
            refresh_certainty(conn, rid)
    add_account(engine, "editor@example.org", "editor", passwords, name="Eddie Editor")
    app = create_app(web_settings(tmp_path, database_url), engine, passwords=passwords)
    client = app.test_client()
    sign_in(client, "editor@example.org")
    return client, engine, ids


def status(engine, rid):
    with engine.connect() as conn:
        return conn.execute(select(resources.c.status).where(resources.c.id == rid)).scalar_one()


def test_compact_list_is_one_row_per_resource_and_remembered(site):
    client, _, ids = site
    html = client.get("/editor/?view=list").get_data(as_text=True)
    rows = re.findall(r'<li class="row" id="r-(\d+)"', html)
    assert sorted(int(r) for r in rows) == sorted(
        ids[t] for t in ("Kindness toolkit", "Compassionate leadership guide", "<img src=x onerror=alert(1)>")
    )
    toolkit = html[html.index(f'id="r-{ids["Kindness toolkit"]}"') :]
    toolkit = toolkit[: toolkit.index("</li>")]
    for shown in ("Kindness toolkit", "Patient Safety Learning", "Kindness</span>", "62%", "2 sources"):
        assert shown in toolkit or shown.lower() in toolkit.lower(), shown
    assert 'aria-current="true">Compact list' in html
    again = client.get("/editor/").get_data(as_text=True)  # the choice is remembered
    assert '<li class="row"' in again and "&lt;img src=x" in again and "<img src=x" not in again
    assert '<li class="card"' in client.get("/editor/?view=cards").get_data(as_text=True)


def test_least_sure_first_orders_by_certainty_and_pages_by_keyset(engine):
    hub = source("pslhub-good-practice")
    store(engine, hub, [RawEntry(url=f"https://hub.example/{i}", title=f"Resource {i}") for i in range(7)], now=NOW)
    with engine.begin() as conn:
        ids = list(conn.execute(select(resources.c.id).order_by(resources.c.id)).scalars())
        for index, rid in enumerate(ids):
            conn.execute(
                update(resources)
                .where(resources.c.id == rid)
                .values(certainty=[0.9, 0.1, 0.5, 0.1, 0.7, 0.3, 0.2][index])
            )
    flt = QueueFilter(sort="unsure")
    seen, cursor = [], None
    with engine.connect() as conn:
        while True:
            page = queue_page(conn, flt, cursor, size=3)
            seen += [(c.certainty, c.id) for c in page.cards]
            assert page.total == 7
            cursor = page.next_cursor
            if not cursor:
                break
    assert seen == sorted(seen) and len(seen) == 7  # lowest first, ties by id, nothing twice or lost


def test_certainty_is_the_weaker_kind_and_an_editor_label_is_sure(site):
    _, engine, ids = site
    with engine.connect() as conn:
        sure = dict(conn.execute(select(resources.c.id, resources.c.certainty)).all())
    assert sure[ids["Kindness toolkit"]] == pytest.approx(0.62)  # theme 0.91, audience 0.62
    assert sure[ids["Compassionate leadership guide"]] == 0.0  # no audience label at all
    with engine.begin() as conn:
        correct_label(conn, ids["Kindness toolkit"], "audience", "frontline-staff", add=True, editor="e", now=NOW)
        assert (
            conn.execute(select(resources.c.certainty).where(resources.c.id == ids["Kindness toolkit"])).scalar()
            == 0.91
        )


def test_count_follows_the_filters(site):
    client, _, _ = site
    assert "3 pending resources, newest first" in client.get("/editor/").get_data(as_text=True)
    html = client.get("/editor/?theme=kindness&sort=unsure").get_data(as_text=True)
    assert "1 pending resource matching these filters, least sure labels first" in html


def test_approve_answers_the_script_in_place_and_undo_too(site):
    client, engine, ids = site
    rid = ids["Kindness toolkit"]
    reply = post(client, f"/editor/resources/{rid}/approve", headers=FETCH)
    assert reply.status_code == 200 and reply.is_json
    data = reply.get_json()
    assert data["messages"][0]["category"] == "success" and "Approved" in data["messages"][0]["html"]
    assert data["undo"].startswith("Approved") and status(engine, rid) == "approved"
    undone = post(client, "/editor/undo", headers=FETCH).get_json()
    assert "Undone" in undone["messages"][0]["html"] and undone["undo"] is None
    assert status(engine, rid) == "pending"
    # the messages are HTML-escaped for the script, which inserts them as HTML
    xss = ids["<img src=x onerror=alert(1)>"]
    html = post(client, f"/editor/resources/{xss}/reject", headers=FETCH).get_json()["messages"][0]["html"]
    assert "&lt;img" in html and "<img" not in html
    # without the header, the same form still redirects as before
    assert post(client, f"/editor/resources/{xss}/reopen").status_code == 303


def test_a_split_names_the_source_labels_both_and_links_them(site):
    client, engine, ids = site
    kept = ids["Kindness toolkit"]
    page = client.get(f"/editor/resources/{kept}").get_data(as_text=True)
    assert "Split off NHS England" in page  # the source whose entry the split takes away
    with engine.connect() as conn:
        merge = conn.execute(select(merges).where(merges.c.kept_id == kept)).one()
        assert not conn.execute(select(labels).where(labels.c.resource_id == merge.absorbed_id)).first()
    reply = post(
        client, f"/editor/merges/{merge.id}/split", {"next": f"/editor/resources/{kept}"}, follow_redirects=True
    )
    html = reply.get_data(as_text=True)
    assert (
        f'<a href="/editor/resources/{merge.absorbed_id}">“The kindness toolkit (NHSE)”</a> is a resource of its own'
        in html
    )
    with engine.connect() as conn:
        split_labels = (
            conn.execute(select(labels.c.kind).where(labels.c.resource_id == merge.absorbed_id)).scalars().all()
        )
    assert "theme" in split_labels  # the classifier ran on the split-off resource
    assert f'href="/editor/resources/{merge.absorbed_id}">“The kindness toolkit (NHSE)”' in client.get(
        f"/editor/resources/{kept}"
    ).get_data(as_text=True)
    other = client.get(f"/editor/resources/{merge.absorbed_id}").get_data(as_text=True)
    assert "Split by an editor from" in other and f'href="/editor/resources/{kept}">“Kindness toolkit”' in other


def test_both_halves_in_one_issue_are_flagged(site):
    client, engine, ids = site
    kept = ids["Kindness toolkit"]
    with engine.connect() as conn:
        merge = conn.execute(select(merges).where(merges.c.kept_id == kept)).one()
    post(client, f"/editor/resources/{kept}/approve")
    reply = post(client, "/editor/issues/prepare", {"month": "2026-11"}, page="/editor/issues/")
    issue = reply.headers["Location"]
    html = post(client, f"/editor/merges/{merge.id}/split", follow_redirects=True).get_data(as_text=True)
    assert "is in the 2026-11 issue" in html  # said at the split
    post(client, f"/editor/resources/{merge.absorbed_id}/approve")
    post(client, f"{issue}/refresh", page=issue)
    page = client.get(issue).get_data(as_text=True)
    assert "Split resources both in this issue" in page and f'href="#i-{merge.absorbed_id}"' in page
