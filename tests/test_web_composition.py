"""Composing the month's issue on the web: draft, reorder, sections, intro, preview, test send, approval rules."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from aggregator.db.schema import issue_items, issues
from aggregator.digest.issue import EVENTS
from aggregator.web import create_app
from tests.e2e.support import add_account, fast_passwords, post, seed_resources, sign_in, web_settings

MONTH = "2026-11"


def make_site(tmp_path, engine, database_url, **web):
    passwords = fast_passwords()
    ids = seed_resources(engine)
    for email, role in (("admin@example.org", "admin"), ("ed@example.org", "editor"), ("flo@example.org", "editor")):
        add_account(engine, email, role, passwords)
    app = create_app(web_settings(tmp_path, database_url, **web), engine, passwords=passwords)
    clients = {}
    for email in ("admin@example.org", "ed@example.org", "flo@example.org"):
        clients[email.split("@")[0]] = client = app.test_client()
        sign_in(client, email)
    for title in ("Kindness toolkit", "Compassionate leadership guide", "<img src=x onerror=alert(1)>"):
        post(clients["ed"], f"/editor/resources/{ids[title]}/approve")
    return clients, ids


@pytest.fixture
def site(tmp_path, engine, database_url):
    clients, ids = make_site(tmp_path, engine, database_url)
    return clients, engine, ids


def prepare(client) -> int:
    reply = post(client, "/editor/issues/prepare", {"month": MONTH}, page="/editor/issues/")
    assert reply.status_code == 303
    return int(reply.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def order(engine, issue_id):
    with engine.connect() as conn:
        return [
            (r.resource_id, r.section)
            for r in conn.execute(
                select(issue_items).where(issue_items.c.issue_id == issue_id).order_by(issue_items.c.position)
            )
        ]


def test_prepare_shows_sections(site):
    clients, engine, ids = site
    issue_id = prepare(clients["ed"])
    html = clients["ed"].get(f"/editor/issues/{issue_id}").get_data(as_text=True)
    assert "Kindness toolkit" in html and "Compassionate leadership" in html and "Other resources" in html
    assert "&lt;img src=x" in html and "<img src=x" not in html
    bad = post(
        clients["ed"], "/editor/issues/prepare", {"month": "2026-13"}, page="/editor/issues/", follow_redirects=True
    )
    assert "write it as YYYY-MM" in bad.get_data(as_text=True)


def test_reorder_move_section_remove_and_intro(site):
    clients, engine, ids = site
    ed = clients["ed"]
    issue_id = prepare(ed)
    page = f"/editor/issues/{issue_id}"
    guide, xss = ids["Compassionate leadership guide"], ids["<img src=x onerror=alert(1)>"]
    post(ed, f"{page}/items/{guide}/move", {"section": "kindness"}, page=page)
    assert dict(order(engine, issue_id))[guide] == "kindness"
    kindness = [rid for rid, section in order(engine, issue_id) if section == "kindness"]
    first, second = kindness
    post(ed, f"{page}/items/{second}/move", {"direction": "up"}, page=page)
    assert [rid for rid, s in order(engine, issue_id) if s == "kindness"] == [second, first]
    post(ed, f"{page}/items/{second}/move", {"position": "2"}, page=page)
    assert [rid for rid, s in order(engine, issue_id) if s == "kindness"] == [first, second]
    bad = post(ed, f"{page}/items/{second}/move", {"position": "zero"}, page=page, follow_redirects=True)
    assert "Position must be a whole number" in bad.get_data(as_text=True)
    post(ed, f"{page}/items/{xss}/remove", page=page)
    assert dict(order(engine, issue_id))[xss] == "removed"
    post(ed, f"{page}/intro", {"intro": "Hello readers.\n\nA kind month."}, page=page)
    with engine.connect() as conn:
        assert (
            conn.execute(select(issues.c.intro).where(issues.c.id == issue_id)).scalar_one()
            == "Hello readers.\n\nA kind month."
        )
    html = ed.get(page).get_data(as_text=True)
    assert "Hello readers." in html and EVENTS not in [s for _, s in order(engine, issue_id)]


def test_intro_sent_with_crlf_keeps_its_paragraphs(site):
    # issue 15: browsers submit textareas with CRLF; the form boundary makes them \n
    clients, engine, ids = site
    issue_id = prepare(clients["ed"])
    page = f"/editor/issues/{issue_id}"
    post(clients["ed"], f"{page}/intro", {"intro": "Hi friends!\r\n\r\nI am writing from the ward.\r\n"}, page=page)
    with engine.connect() as conn:
        assert (
            conn.execute(select(issues.c.intro).where(issues.c.id == issue_id)).scalar_one()
            == "Hi friends!\n\nI am writing from the ward."
        )
    html = clients["ed"].get(f"{page}/preview.html").get_data(as_text=True)
    assert '<p class="intro"' in html and "Hi friends!</p>" in html


def test_preview_html_and_text_as_a_reader(site):
    clients, engine, ids = site
    issue_id = prepare(clients["ed"])
    page = clients["ed"].get(f"/editor/issues/{issue_id}/preview?theme=compassionate-leadership")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "someone who chose Compassionate and inclusive leadership" in html
    assert "Compassionate leadership guide" in html.split("As plain text")[1]
    assert "Kindness toolkit" not in html.split("As plain text")[1]
    frame = clients["ed"].get(f"/editor/issues/{issue_id}/preview.html")
    assert frame.status_code == 200 and "Kindness toolkit" in frame.get_data(as_text=True)
    assert "sandbox" in frame.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in frame.headers["Content-Security-Policy"]


def test_send_test_writes_to_the_outbox(site, tmp_path):
    clients, _, _ = site
    issue_id = prepare(clients["ed"])
    reply = post(
        clients["ed"],
        f"/editor/issues/{issue_id}/test",
        {"email": "me@example.org"},
        page=f"/editor/issues/{issue_id}",
        follow_redirects=True,
    )
    assert "A test copy was sent to me@example.org" in reply.get_data(as_text=True)
    assert list((tmp_path / "outbox").rglob("*.eml"))
    bad = post(
        clients["ed"],
        f"/editor/issues/{issue_id}/test",
        {"email": "not an address"},
        page=f"/editor/issues/{issue_id}",
        follow_redirects=True,
    )
    assert "write it as name@example.org" in bad.get_data(as_text=True)


def test_the_approve_panel_says_how_many_people_it_will_mail(site):
    from sqlalchemy import insert

    from aggregator.db.schema import subscribers
    from tests.support.resources import NOW

    clients, engine, _ = site
    with engine.begin() as conn:
        conn.execute(
            insert(subscribers),
            [
                {
                    "email": f"r{n}@example.org",
                    "status": "active",
                    "audiences": [],
                    "themes": ["kindness"] if n else [],
                    "created_at": NOW,
                    "origin": "form",
                }
                for n in range(3)
            ],
        )
    issue_id = prepare(clients["ed"])
    html = clients["admin"].get(f"/editor/issues/{issue_id}").get_data(as_text=True)
    assert "Approving mails <strong>3 subscribers</strong>" in html
    assert "Kindness: 2" in html and "Everything: 1" in html


def test_every_site_link_in_a_test_copy_answers_before_sending(site, tmp_path):
    # issue 15: a test copy's archive, unsubscribe and preference links answered 404/400 until the send
    import email
    import email.policy
    import re

    clients, engine, _ = site
    issue_id = prepare(clients["ed"])
    post(
        clients["ed"], f"/editor/issues/{issue_id}/test", {"email": "me@example.org"}, page=f"/editor/issues/{issue_id}"
    )
    (path,) = (tmp_path / "outbox").rglob("*.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    base = "http://127.0.0.1:8000"
    text = message.get_body(("plain",)).get_content()
    links = sorted(set(re.findall(re.escape(base) + r"/\S+", text)))
    assert any("/archive/preview/" in u for u in links) and any("/preview/" in u for u in links)
    anonymous = clients["ed"].application.test_client()
    for url in links:
        assert anonymous.get(url[len(base) :]).status_code == 200, url
    page = anonymous.get(next(u for u in links if "/archive/preview/" in u)[len(base) :])
    assert "Kindness toolkit" in page.get_data(as_text=True) and page.headers["X-Robots-Tag"] == "noindex"
    assert anonymous.get("/archive/preview/forged-token").status_code == 404


def approve(client, issue_id, when="2099-01-01T09:00"):
    return post(client, f"/editor/issues/{issue_id}/approve", {"send_at": when}, page=f"/editor/issues/{issue_id}")


def status(engine, issue_id):
    with engine.connect() as conn:
        return conn.execute(
            select(issues.c.status, issues.c.send_at, issues.c.approved_by).where(issues.c.id == issue_id)
        ).one()


def test_only_an_admin_approves_by_default(site):
    clients, engine, _ = site
    issue_id = prepare(clients["ed"])
    assert "Only an admin can approve" in clients["flo"].get(f"/editor/issues/{issue_id}").get_data(as_text=True)
    assert approve(clients["flo"], issue_id).status_code == 403
    assert status(engine, issue_id).status == "draft"
    past = approve(clients["admin"], issue_id, "2001-01-01T09:00")
    assert "this time has passed" in clients["admin"].get(past.headers["Location"]).get_data(as_text=True)
    approve(clients["admin"], issue_id)
    row = status(engine, issue_id)
    assert row.status == "approved" and row.send_at.year == 2099 and row.send_at.hour == 9  # London, winter: UTC
    locked = post(
        clients["ed"],
        f"/editor/issues/{issue_id}/intro",
        {"intro": "late"},
        page=f"/editor/issues/{issue_id}",
        follow_redirects=True,
    )
    assert "no longer a draft" in locked.get_data(as_text=True)
    post(clients["admin"], f"/editor/issues/{issue_id}/reopen", page=f"/editor/issues/{issue_id}")
    assert status(engine, issue_id).status == "draft"


def test_second_editor_approval(tmp_path, engine, database_url):
    clients, _ = make_site(tmp_path, engine, database_url, second_editor_approval=True)
    issue_id = prepare(clients["ed"])
    post(clients["ed"], f"/editor/issues/{issue_id}/intro", {"intro": "Hi"}, page=f"/editor/issues/{issue_id}")
    refused = approve(clients["ed"], issue_id)
    assert refused.status_code == 403 and "another editor" in refused.get_data(as_text=True)
    assert status(engine, issue_id).status == "draft"
    assert approve(clients["flo"], issue_id).status_code == 303
    assert status(engine, issue_id).status == "approved"
