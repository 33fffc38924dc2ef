"""Composing by hand and by eye: the whole order saved after a drag and drop, sections moved, and the intro in
Markdown (cleaned by the nh3 rules) previewed, then sent as HTML in the HTML part and as text in the text part."""

from __future__ import annotations

import email
import json
from email import policy

import pytest

from aggregator.digest.issue import EVENTS
from aggregator.text.markdown import markdown_blocks, markdown_to_html, markdown_to_paragraphs
from tests.e2e.support import post
from tests.test_web_composition import make_site, order, prepare

FETCH = {"X-Requested-With": "fetch"}
INTRO = (
    "Welcome to **this** month.\n\n"
    "Read [the kindness guide](https://guide.example/kind) first.\n\n"
    "- one thing\n- another\n\n"
    "<script>alert(1)</script> [bad](javascript:alert(1))"
)


@pytest.fixture
def site(tmp_path, engine, database_url):
    clients, ids = make_site(tmp_path, engine, database_url)
    return clients["ed"], engine, ids, tmp_path


def test_the_whole_order_after_a_drop_is_saved(site):
    client, engine, ids, _ = site
    issue_id = prepare(client)
    page = f"/editor/issues/{issue_id}"
    before = order(engine, issue_id)
    items = [rid for rid, section in before]
    layout = [["kindness", list(reversed(items))]]  # all into one section, reversed
    reply = post(client, f"{page}/order", {"layout": json.dumps(layout)}, page=page, headers=FETCH)
    assert reply.status_code == 200 and reply.get_json() == {"ok": True, "message": "Order saved."}
    assert order(engine, issue_id) == [(rid, "kindness") for rid in reversed(items)]
    # an order that leaves one out, names an unknown section or cannot be read changes nothing
    for bad in (json.dumps([["kindness", items[:-1]]]), json.dumps([["nope", items]]), "not json"):
        refused = post(client, f"{page}/order", {"layout": bad}, page=page, headers=FETCH)
        assert refused.status_code in (400, 409) and refused.get_json()["ok"] is False
        assert "Nothing was changed" in refused.get_json()["message"]
    assert order(engine, issue_id) == [(rid, "kindness") for rid in reversed(items)]


def test_sections_move_but_events_stay_last(site):
    client, engine, ids, _ = site
    issue_id = prepare(client)
    page = f"/editor/issues/{issue_id}"
    items = [rid for rid, _ in order(engine, issue_id)]
    layout = [["kindness", items[:1]], ["teamwork", items[1:2]], [EVENTS, items[2:]]]
    post(client, f"{page}/order", {"layout": json.dumps(layout)}, page=page, headers=FETCH)
    post(client, f"{page}/sections/teamwork/move", {"direction": "up"}, page=page)
    assert [s for _, s in order(engine, issue_id)] == ["teamwork", "kindness", EVENTS]
    post(client, f"{page}/sections/kindness/move", {"direction": "down"}, page=page)  # the events stay last
    assert [s for _, s in order(engine, issue_id)] == ["teamwork", "kindness", EVENTS]
    html = client.get(page).get_data(as_text=True)
    assert html.index('data-section="teamwork"') < html.index('data-section="kindness"')
    assert "Sortable.min.js" in html and 'data-compose="' in html


def test_markdown_is_cleaned_by_the_project_rules():
    html = markdown_to_html(INTRO)
    assert "<strong>this</strong>" in html and '<a href="https://guide.example/kind"' in html and "<li>" in html
    assert "<script" not in html and "javascript:" not in html.replace("[bad](javascript:alert(1))", "")
    assert 'href="javascript' not in html
    assert len(markdown_blocks(INTRO)) == 4
    assert markdown_to_paragraphs(INTRO)[:4] == [
        "Welcome to this month.",
        "Read the kindness guide (https://guide.example/kind) first.",
        "- one thing",
        "- another",
    ]


def test_intro_preview_and_the_mail_parts(site):
    client, _, _, tmp_path = site
    issue_id = prepare(client)
    page = f"/editor/issues/{issue_id}"
    preview = post(client, f"{page}/intro/preview", {"intro": INTRO}, page=page, headers=FETCH).get_json()
    assert "<strong>this</strong>" in preview["html"] and "<script" not in preview["html"]
    post(client, f"{page}/intro", {"intro": INTRO}, page=page)
    assert "<strong>this</strong>" in client.get(page).get_data(as_text=True)  # the saved intro, rendered
    post(client, f"{page}/test", {"email": "me@example.org"}, page=page)
    (path,) = (tmp_path / "outbox").rglob("*.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert '<p class="intro"' in html and "<strong>this</strong>" in html and "<script" not in html
    assert 'href="https://guide.example/kind"' in html
    assert "Welcome to this month." in text and "the kindness guide (https://guide.example/kind)" in text
    assert "**" not in text and "- one thing" in text


def test_the_archive_shows_the_intro_as_readers_saw_it():
    from aggregator.publish.archive import intro_blocks, paragraphs

    blocks = intro_blocks(INTRO)
    assert str(blocks[0]) == "<p>Welcome to <strong>this</strong> month.</p>"
    assert all("<script" not in str(b) for b in blocks)
    assert paragraphs(INTRO)[1] == "Read the kindness guide (https://guide.example/kind) first."  # the feed's summary
