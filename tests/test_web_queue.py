"""The review queue and resource actions: listing, filters, keyset pages, approve/reject/feature, bulk, edit, split, undo."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from aggregator.db.schema import audit_log, label_corrections, labels, merges, resources
from aggregator.model import RawEntry
from aggregator.review.queue import QueueFilter, queue_page
from aggregator.web import create_app
from tests.e2e.support import add_account, fast_passwords, post, seed_resources, sign_in, web_settings
from tests.support.resources import NOW, source, store


@pytest.fixture
def site(tmp_path, engine, database_url):
    passwords = fast_passwords()
    ids = seed_resources(engine)
    add_account(engine, "editor@example.org", "editor", passwords, name="Eddie Editor")
    app = create_app(web_settings(tmp_path, database_url), engine, passwords=passwords)
    client = app.test_client()
    sign_in(client, "editor@example.org")
    return client, engine, ids


def row(engine, resource_id):
    with engine.connect() as conn:
        return conn.execute(select(resources).where(resources.c.id == resource_id)).one()


def actions(engine):
    with engine.connect() as conn:
        return list(conn.execute(select(audit_log.c.action).order_by(audit_log.c.id)).scalars())


def test_queue_shows_pending_newest_first_with_provenance_labels_and_merges(site):
    client, _, ids = site
    html = client.get("/editor/").get_data(as_text=True)
    leadership, kindness = html.index(">Compassionate leadership guide<"), html.index(">Kindness toolkit<")
    assert leadership < kindness  # same time found: the higher id first
    assert "Car park charges" not in html  # off-topic hidden by default
    assert "The kindness toolkit (NHSE)" in html and "Split" in html  # the merged duplicate
    assert "91%" in html and "‘kindness’ in the title" in html  # confidence and reasons
    assert "Kindness in Healthcare" in html or "pslhub" in html.lower()  # the source's name
    assert "3 pending resources" in html  # the count follows the filters: the off-topic one is hidden


@pytest.mark.parametrize(
    "query, present, absent",
    [
        ("theme=kindness", ["Kindness toolkit"], ["Compassionate leadership guide"]),
        ("audience=frontline-staff", ["Kindness toolkit"], ["Compassionate leadership guide"]),
        ("source=nhse-culture-inspiration", ["Kindness toolkit"], ["Compassionate leadership guide"]),
        ("off_topic=only", ["Car park charges"], ["Kindness toolkit"]),
        ("off_topic=include", ["Car park charges", "Kindness toolkit"], []),
        ("type=event", [], ["Kindness toolkit"]),
        ("theme=not-a-theme", ["Kindness toolkit", "Compassionate leadership guide"], []),
    ],
)
def test_filters(site, query, present, absent):
    client, _, _ = site
    html = client.get(f"/editor/?{query}").get_data(as_text=True)
    for title in present:
        assert f">{title}<" in html
    for title in absent:
        assert f">{title}<" not in html


def test_keyset_pages_do_not_overlap(engine):
    config = source("pslhub-good-practice")
    for batch in range(3):
        store(
            engine,
            config,
            [RawEntry(url=f"https://hub.example/{batch}-{i}", title=f"Resource {batch}-{i}") for i in range(20)],
            now=NOW + timedelta(minutes=batch),
        )
    seen, cursor = [], None
    with engine.connect() as conn:
        while True:
            page = queue_page(conn, QueueFilter(), cursor, size=25)
            seen += [card.id for card in page.cards]
            if not page.next_cursor:
                break
            cursor = page.next_cursor
    assert len(seen) == len(set(seen)) == 60
    with engine.connect() as conn:
        expected = list(
            conn.execute(
                select(resources.c.id).order_by(resources.c.created_at.desc(), resources.c.id.desc())
            ).scalars()
        )
    assert seen == expected


def test_pager_link_follows_on(site, engine):
    client, _, _ = site
    store(
        engine,
        source("pslhub-good-practice"),
        [RawEntry(url=f"https://hub.example/p{i}", title=f"Paged {i}") for i in range(30)],
        now=NOW + timedelta(hours=1),
    )
    html = client.get("/editor/").get_data(as_text=True)
    assert "Older resources" in html
    link = html.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    assert "Paged" in client.get(link).get_data(as_text=True) or "Kindness toolkit" in client.get(link).get_data(
        as_text=True
    )


def test_approve_then_undo(site):
    client, engine, ids = site
    rid = ids["Kindness toolkit"]
    reply = post(client, f"/editor/resources/{rid}/approve", {"next": "/editor/#r-5"})
    assert reply.status_code == 303 and reply.headers["Location"] == "/editor/#r-5"
    assert row(engine, rid).status == "approved" and row(engine, rid).decided_by is not None
    page = client.get("/editor/").get_data(as_text=True)
    assert "Approved “Kindness toolkit”" in page and "Undo: Approved" in page
    post(client, "/editor/undo")
    assert row(engine, rid).status == "pending"
    assert actions(engine)[-3:] == ["approve", "reopen", "undo"]
    assert (
        "There is nothing to undo" in client.get("/editor/").get_data(as_text=True)
        or post(client, "/editor/undo").status_code == 303
    )


def test_reject_with_and_without_a_reason(site):
    client, engine, ids = site
    post(client, f"/editor/resources/{ids['Car park charges']}/reject", {"reason": ""})
    assert row(engine, ids["Car park charges"]).status == "rejected"
    assert row(engine, ids["Car park charges"]).rejection_reason is None
    post(client, f"/editor/resources/{ids['Compassionate leadership guide']}/reject", {"reason": "  duplicate  "})
    assert row(engine, ids["Compassionate leadership guide"]).rejection_reason == "duplicate"
    reply = post(client, f"/editor/resources/{ids['Kindness toolkit']}/reject", {"reason": "x" * 501})
    assert row(engine, ids["Kindness toolkit"]).status == "pending"
    assert "Reason is too long: 501 characters; the limit is 500." in client.get(reply.headers["Location"]).get_data(
        as_text=True
    )


def test_feature_and_undo(site):
    client, engine, ids = site
    post(client, f"/editor/resources/{ids['Kindness toolkit']}/feature", {"featured": "1"})
    assert row(engine, ids["Kindness toolkit"]).featured
    post(client, "/editor/undo")
    assert not row(engine, ids["Kindness toolkit"]).featured


def test_bulk_approve_and_undo_all(site):
    client, engine, ids = site
    chosen = [ids["Kindness toolkit"], ids["Compassionate leadership guide"]]
    post(client, "/editor/bulk", {"ids": [str(i) for i in chosen], "action": "approve"})
    assert {row(engine, i).status for i in chosen} == {"approved"}
    assert "Approved 2 resources" in client.get("/editor/").get_data(as_text=True)
    post(client, "/editor/undo")
    assert {row(engine, i).status for i in chosen} == {"pending"}


def test_bulk_without_a_selection_explains(site):
    client, _, _ = site
    reply = post(client, "/editor/bulk", {"action": "reject"}, follow_redirects=True)
    assert "Select at least one resource first" in reply.get_data(as_text=True)


def test_edit_title_summary_and_labels_teaches_the_classifier(site):
    client, engine, ids = site
    rid = ids["Kindness toolkit"]
    reply = post(
        client,
        f"/editor/resources/{rid}/edit",
        {
            "title": "Kindness toolkit for wards",
            "summary": "Line one.\n\nLine <two>.",
            "theme": ["kindness", "teamwork"],
            "audience": [],
        },
        page=f"/editor/resources/{rid}",
    )
    assert reply.status_code == 303
    edited = row(engine, rid)
    assert edited.title == "Kindness toolkit for wards"
    assert edited.summary_html == "<p>Line one.</p><p>Line &lt;two&gt;.</p>"
    with engine.connect() as conn:
        corrections = set(conn.execute(select(label_corrections.c.label_id, label_corrections.c.action)).all())
        current = set(conn.execute(select(labels.c.label_id).where(labels.c.resource_id == rid)).scalars())
    assert corrections == {("teamwork", "add"), ("frontline-staff", "remove")}
    assert current == {"kindness", "teamwork"}
    post(client, "/editor/undo")
    with engine.connect() as conn:
        current = set(conn.execute(select(labels.c.label_id).where(labels.c.resource_id == rid)).scalars())
    assert row(engine, rid).title == "Kindness toolkit" and current == {"kindness", "frontline-staff"}


@pytest.mark.parametrize(
    "data, message",
    [
        ({"title": "x" * 301}, "Title is too long: 301 characters; the limit is 300."),
        ({"title": "   "}, "Title: this field is required."),
        ({"title": "Fine", "theme": ["made-up"]}, "Unknown theme label: made-up. Choose from the list."),
    ],
)
def test_edit_is_validated_with_clear_messages(site, data, message):
    client, engine, ids = site
    rid = ids["Kindness toolkit"]
    reply = post(client, f"/editor/resources/{rid}/edit", data, page=f"/editor/resources/{rid}")
    assert reply.status_code == 400
    assert message in reply.get_data(as_text=True)
    assert row(engine, rid).title == "Kindness toolkit"


def test_split_a_merge(site):
    client, engine, ids = site
    with engine.connect() as conn:
        merge_id = conn.execute(select(merges.c.id)).scalar_one()
    post(client, f"/editor/merges/{merge_id}/split")
    assert row(engine, ids["The kindness toolkit (NHSE)"]).status == "pending"
    assert "split" in actions(engine)
    again = post(client, f"/editor/merges/{merge_id}/split", follow_redirects=True)
    assert "already split" in again.get_data(as_text=True)


def test_proposed_title(site):
    client, engine, ids = site
    rid = ids["Kindness toolkit"]
    with engine.begin() as conn:
        conn.execute(resources.update().where(resources.c.id == rid).values(proposed_title="Kindness toolkit 2"))
    assert "A source now calls this" in client.get("/editor/").get_data(as_text=True)
    post(client, f"/editor/resources/{rid}/proposed-title", {"choice": "accept"})
    assert row(engine, rid).title == "Kindness toolkit 2" and row(engine, rid).proposed_title is None


def test_approving_twice_is_explained_not_crashed(site):
    client, engine, ids = site
    post(client, f"/editor/resources/{ids['Kindness toolkit']}/approve")
    reply = post(client, f"/editor/resources/{ids['Kindness toolkit']}/approve", follow_redirects=True)
    assert "Nothing was changed" in reply.get_data(as_text=True)
    with engine.connect() as conn:
        assert (
            conn.execute(
                select(func.count()).select_from(audit_log).where(audit_log.c.action == "approve")
            ).scalar_one()
            == 1
        )


def test_every_page_renders(site):
    client, _, ids = site
    for path in (
        "/editor/",
        "/editor/?status=approved",
        f"/editor/resources/{ids['Kindness toolkit']}",
        "/editor/issues/",
        "/editor/sources/",
        "/editor/audit/",
        "/editor/audit/merges",
        "/editor/account",
    ):
        assert client.get(path).status_code == 200, path
    assert client.get("/editor/resources/99999").status_code == 404


@pytest.mark.parametrize(
    "after, says",
    [
        ("2026-11-01T10:00:00_5", "no time zone"),  # a naive timestamp
        ("2026-11-01T10:00:00+00:00_99999999999999999999999", "out of range"),  # a huge id
        ("2026-11-01T10:00:00+00:00_-3", "out of range"),
        ("not a cursor", "is not"),
    ],
)
def test_a_bad_page_position_is_a_400_that_says_why(site, after, says):
    client = site[0]
    reply = client.get("/editor/", query_string={"after": after})
    assert reply.status_code == 400
    assert says in reply.get_data(as_text=True)
