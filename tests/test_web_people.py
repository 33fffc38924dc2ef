"""The subscribers page (search, record, import with a dry run, export, erase), the page per source, suggesting a
resource (public form with honeypot and rate limit, the editors' add by URL, the SSRF guard) and the public 404."""

from __future__ import annotations

import csv
import io
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import insert, select, update

from aggregator.config.taxonomy import load_taxonomy
from aggregator.db.schema import audit_log, consent_events, deliveries, entries, fetch_runs, issues, resources
from aggregator.db.schema import sources as source_rows
from aggregator.ingest.fetch import Fetcher, guarded_transport
from aggregator.jobs.demo import FixtureSites, RewritingTransport, demo_settings, sites_root
from aggregator.people.subscribers import import_csv, subscribe
from aggregator.review.source_history import FetchRun, sparkline
from aggregator.web import create_app
from tests.e2e.support import ROOT, add_account, fast_passwords, post, seed_resources, sign_in, token, web_settings
from tests.support.resources import NOW

SEMINARS = "https://yqsr.org/seminar-series/"


@pytest.fixture
def site(tmp_path, engine, database_url):
    passwords = fast_passwords()
    seed_resources(engine)
    add_account(engine, "admin@example.org", "admin", passwords, name="Ada")
    add_account(engine, "ed@example.org", "editor", passwords, name="Ed")
    sites = FixtureSites(sites_root()).start()
    settings = demo_settings(web_settings(tmp_path, database_url), sites_root())
    app = create_app(
        settings,
        engine,
        passwords=passwords,
        clock=lambda: NOW,
        fetcher_factory=lambda s: Fetcher(s, transport=RewritingTransport(guarded_transport(s), sites.origin)),
    )
    yield app, engine
    sites.stop()


def signed_in(app, email="admin@example.org"):
    client = app.test_client()
    sign_in(client, email)
    return client


def add_people(engine):
    taxonomy = load_taxonomy(ROOT / "taxonomy.yaml")
    with engine.begin() as conn:
        import_csv(
            conn,
            [
                {"email": "nurse@example.org", "themes": "kindness"},
                {"email": "lead@example.org", "audiences": "leaders"},
                {"email": "all@example.org"},
            ],
            "old list, 2024",
            NOW,
            taxonomy=taxonomy,
        )
        subscribe(conn, "new@example.org", [], ["teamwork"], NOW, wording_version="2026-11")
        issue_id = conn.execute(
            insert(issues).values(month="2026-11", status="sent", created_at=NOW, updated_at=NOW).returning(issues.c.id)
        ).scalar_one()
        nurse = conn.execute(select(consent_events.c.subscriber_id).limit(1)).scalar_one()
        conn.execute(insert(deliveries).values(issue_id=issue_id, subscriber_id=nurse, status="sent", sent_at=NOW))
    return nurse


def audit_actions(engine):
    with engine.connect() as conn:
        return [r.action for r in conn.execute(select(audit_log.c.action).order_by(audit_log.c.id))]


# --- subscribers ---------------------------------------------------------------------------------


def test_subscribers_page_searches_and_filters(site):
    app, engine = site
    add_people(engine)
    client = signed_in(app)
    page = client.get("/editor/subscribers/").get_data(as_text=True)
    assert "4 subscribers match" in page and "3 active" in page and "1 pending" in page
    found = client.get("/editor/subscribers/?q=NURSE").get_data(as_text=True)
    assert "nurse@example.org" in found and "lead@example.org" not in found
    pending = client.get("/editor/subscribers/?status=pending").get_data(as_text=True)
    assert "new@example.org" in pending and "nurse@example.org" not in pending
    leaders = client.get("/editor/subscribers/?preference=leaders").get_data(as_text=True)
    assert "lead@example.org" in leaders and "nurse@example.org" not in leaders
    everything = client.get("/editor/subscribers/?preference=everything").get_data(as_text=True)
    assert "all@example.org" in everything and "lead@example.org" not in everything
    like = client.get("/editor/subscribers/?q=%25").get_data(as_text=True)  # a LIKE wildcard is a plain character
    assert "0 subscribers match" in like


def test_editors_cannot_see_subscribers(site):
    app, engine = site
    add_people(engine)
    client = signed_in(app, "ed@example.org")
    assert client.get("/editor/subscribers/").status_code == 403
    assert client.get("/editor/subscribers/export.csv").status_code == 403
    assert "Subscribers</a>" not in client.get("/editor/sources/").get_data(as_text=True)
    assert app.test_client().get("/editor/subscribers/").status_code == 302  # signed out: to the sign-in page


def test_one_persons_record_shows_ledger_and_deliveries(site):
    app, engine = site
    nurse = add_people(engine)
    page = signed_in(app).get(f"/editor/subscribers/{nurse}").get_data(as_text=True)
    assert "Consent record" in page and "import" in page and "old list, 2024" in page
    assert "2026-11" in page and "Erase this subscriber" in page
    data = signed_in(app).get(f"/editor/subscribers/{nurse}/export.json").get_json()
    assert data["subscriber"]["email"] == "nurse@example.org" and len(data["deliveries"]) == 1


def test_import_dry_run_writes_nothing_then_import_writes_the_cli_ledger(site):
    app, engine = site
    client = signed_in(app)
    body = "email,themes\nfirst@example.org,kindness\nbad-address,\nsecond@example.org,no-such-theme\n"

    def send(action):
        html = client.get("/editor/subscribers/import").get_data(as_text=True)
        return client.post(
            "/editor/subscribers/import",
            data={
                "csrf_token": token(html),
                "basis": "signed up at the 2025 conference",
                "action": action,
                "file": (io.BytesIO(body.encode()), "list.csv"),
            },
            content_type="multipart/form-data",
        )

    check = send("check").get_data(as_text=True)
    assert "Would import 1" in check and "Line 3" in check and "Line 4" in check
    with engine.connect() as conn:
        assert conn.execute(select(consent_events)).first() is None
    done = send("import").get_data(as_text=True)
    assert "Imported 1" in done
    with engine.connect() as conn:
        event = conn.execute(select(consent_events)).one()
    assert (event.action, event.origin, event.detail["basis"]) == (
        "import",
        "import",
        "signed up at the 2025 conference",
    )
    assert audit_actions(engine)[-1] == "subscribers-import"


def test_import_refuses_a_file_without_an_email_column(site):
    app, _ = site
    client = signed_in(app)
    html = client.get("/editor/subscribers/import").get_data(as_text=True)
    reply = client.post(
        "/editor/subscribers/import",
        data={"csrf_token": token(html), "basis": "x", "action": "import", "file": (io.BytesIO(b"name\nA\n"), "a.csv")},
        content_type="multipart/form-data",
    )
    assert reply.status_code == 400 and "email" in reply.get_data(as_text=True)


def test_import_needs_the_csrf_token(site):
    app, _ = site
    reply = signed_in(app).post(
        "/editor/subscribers/import",
        data={"basis": "x", "action": "import", "file": (io.BytesIO(b"email\na@example.org\n"), "a.csv")},
        content_type="multipart/form-data",
    )
    assert reply.status_code == 403


def test_export_is_csv_with_formulas_defused_and_audited(site):
    app, engine = site
    add_people(engine)
    with engine.begin() as conn:
        subscribe(conn, "=cmd@example.org", [], [], NOW, wording_version="2026-11")
    reply = signed_in(app).get("/editor/subscribers/export.csv?status=active")
    assert reply.mimetype == "text/csv" and "attachment" in reply.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(reply.get_data(as_text=True))))
    assert [r["email"] for r in rows] == ["all@example.org", "lead@example.org", "nurse@example.org"]
    everyone = signed_in(app).get("/editor/subscribers/export.csv").get_data(as_text=True)
    assert "'=cmd@example.org" in everyone
    assert audit_actions(engine).count("subscribers-export") == 2


def test_erase_needs_the_address_typed_and_keeps_nothing_identifying(site):
    app, engine = site
    nurse = add_people(engine)
    client = signed_in(app)
    page = f"/editor/subscribers/{nurse}"
    refused = post(client, f"{page}/erase", {"confirm_email": "someone@example.org"}, page=page, follow_redirects=True)
    assert "Nothing was erased" in refused.get_data(as_text=True)
    done = post(client, f"{page}/erase", {"confirm_email": "Nurse@Example.org"}, page=page, follow_redirects=True)
    assert "were erased" in done.get_data(as_text=True)
    assert client.get(page).status_code == 404
    with engine.connect() as conn:
        line = conn.execute(select(audit_log).where(audit_log.c.action == "subscriber-erase")).one()
        assert conn.execute(select(deliveries)).first() is None
    assert line.subject_id == "erased" and "nurse" not in str(line.detail)


# --- the page per source -------------------------------------------------------------------------


def test_sparkline_uses_runs_that_read_the_source():
    def run(seen, outcome="new-data"):
        return FetchRun(NOW, outcome, 200, seen, 0, 0, 1.0, "")

    line = sparkline([run(8), run(0, "failed"), run(0, "not-modified"), run(4), run(6)])  # newest first
    assert line is not None and (line.low, line.high, line.count) == (4, 8, 4)
    assert sparkline([run(0, "not-modified"), run(5)]).count == 2  # unchanged: the same size again
    xs_ys = [tuple(map(float, p.split(","))) for p in line.points.split()]
    assert xs_ys[0][0] < xs_ys[-1][0] and xs_ys[-1][1] < xs_ys[0][1]  # the newest (8) is right and highest
    assert sparkline([run(3)]) is None


def test_source_page_shows_history_sparkline_drift_and_backoff(site):
    app, engine = site
    source_id = "pslhub-good-practice"
    with engine.begin() as conn:
        for n, (outcome, seen, error) in enumerate(
            [("new-data", 8, None), ("new-data", 7, None), ("failed", 0, "layout drift: no entries (up to 8)")]
        ):
            start = NOW - timedelta(days=3 - n)
            conn.execute(
                insert(fetch_runs).values(
                    source_id=source_id,
                    started_at=start,
                    finished_at=start + timedelta(seconds=2.5),
                    outcome=outcome,
                    http_status=200,
                    seen=seen,
                    new=seen,
                    error=error,
                )
            )
        conn.execute(
            update(source_rows)
            .where(source_rows.c.id == source_id)
            .values(
                drift_alarm=True,
                best_count=8,
                consecutive_failures=1,
                paused_until=NOW + timedelta(hours=2),
                pause_reason="backing off after 1 failure in a row (last: drift)",
            )
        )
    page = signed_in(app, "ed@example.org").get(f"/editor/sources/{source_id}").get_data(as_text=True)
    assert "<svg" in page and "<polyline" in page and "from 7 to 8" in page
    assert "layout seems to have changed" in page and "backing off after 1 failure" in page
    assert "2.5 s" in page and "looks different" in page
    assert "Fetch now" not in page  # editors see the page, admins act on it
    assert signed_in(app).get("/editor/sources/no-such-source").status_code == 404
    listing = signed_in(app).get("/editor/sources/").get_data(as_text=True)
    assert f'href="/editor/sources/{source_id}"' in listing


def test_fetch_now_and_check_come_back_to_the_source_page(site):
    app, engine = site
    client = signed_in(app)
    page = "/editor/sources/yqsr-previous-seminars"
    if client.get(page).status_code == 404:
        pytest.skip("sources.yaml has no yqsr-previous-seminars")
    fetched = post(client, f"{page}/fetch", {"next": page}, page=page)
    assert fetched.status_code == 303 and fetched.headers["Location"].endswith(page)
    checked = post(client, f"{page}/doctor", {"next": "//evil.example/"}, page=page)
    assert checked.headers["Location"].endswith("/editor/sources/")  # only a path on this site
    after = client.get(page).get_data(as_text=True)
    assert "new-data" in after or "not-modified" in after
    assert audit_actions(engine)[-2:] == ["source-fetch", "source-check"]


# --- suggest a resource --------------------------------------------------------------------------


def suggest(client, url, ip="192.0.2.7", **fields):
    html = client.get("/suggest").get_data(as_text=True)
    return client.post(
        "/suggest",
        data={"csrf_token": token(html), "url": url, **fields},
        environ_base={"REMOTE_ADDR": ip},
    )


def stored_suggestions(engine):
    with engine.connect() as conn:
        return conn.execute(
            select(resources.c.id, resources.c.title, resources.c.status, entries.c.extra)
            .join(entries, entries.c.resource_id == resources.c.id)
            .where(entries.c.source_id == "suggested")
        ).all()


def test_a_reader_suggests_a_page_and_it_waits_labelled_in_the_queue(site):
    app, engine = site
    client = app.test_client()
    assert 'name="website"' in client.get("/suggest").get_data(as_text=True)
    reply = suggest(client, SEMINARS, note="Lovely seminars")
    assert reply.status_code == 200 and "Thank you" in reply.get_data(as_text=True)
    (row,) = stored_suggestions(engine)
    assert (
        row.status == "pending" and row.title and row.extra == {"suggested_by": "a reader", "note": "Lovely seminars"}
    )
    with engine.connect() as conn:
        classified = conn.execute(select(resources.c.classified_at).where(resources.c.id == row.id)).scalar_one()
        assert classified is not None
    editor = signed_in(app, "ed@example.org")
    card = editor.get(f"/editor/resources/{row.id}").get_data(as_text=True)
    assert "Suggested by a reader: <q>Lovely seminars</q>" in card
    # the queue card says who and why, like its own page; the queue's source filter finds suggestions
    queue = editor.get("/editor/?off_topic=include&source=suggested").get_data(as_text=True)
    assert f'id="r-{row.id}"' in queue and queue.count('<li class="card"') == 1
    assert "Suggested by a reader: <q>Lovely seminars</q>" in queue
    # the default queue (probably off-topic pages hidden) still shows it: a person judged it on topic
    with engine.begin() as conn:
        why = "not about health and care: relevance model p(off-topic)=0.91"
        conn.execute(update(resources).where(resources.c.id == row.id).values(off_topic=True, relevance=why))
    assert f'id="r-{row.id}"' in editor.get("/editor/").get_data(as_text=True)
    # and the card says why the classifier thought it off-topic
    page = editor.get(f"/editor/resources/{row.id}").get_data(as_text=True)
    assert 'probably off-topic</span> <span class="relevance">(relevance model p(off-topic)=0.91)</span>' in page
    suggest(client, SEMINARS)  # the same page again: nothing new
    assert len(stored_suggestions(engine)) == 1


def test_a_suggestion_note_is_shown_as_text(site):
    app, engine = site
    suggest(app.test_client(), SEMINARS, note='<img src=x onerror="alert(1)"> worth a look')
    queue = signed_in(app, "ed@example.org").get("/editor/?off_topic=include").get_data(as_text=True)
    assert "<q>&lt;img src=x onerror=&#34;alert(1)&#34;&gt; worth a look</q>" in queue


def test_the_honeypot_is_thanked_and_ignored(site):
    app, engine = site
    reply = suggest(app.test_client(), SEMINARS, website="http://spam.example")
    assert "Thank you" in reply.get_data(as_text=True) and stored_suggestions(engine) == []


def test_suggestions_are_rate_limited_per_address(site):
    app, _ = site
    client = app.test_client()
    codes = [suggest(client, "not a url", ip="192.0.2.9").status_code for _ in range(6)]
    assert codes == [400] * 5 + [429]
    assert suggest(client, "not a url", ip="192.0.2.10").status_code == 400  # another address is not held up


def test_suggest_needs_the_csrf_token(site):
    app, engine = site
    assert app.test_client().post("/suggest", data={"url": SEMINARS}).status_code == 403
    assert stored_suggestions(engine) == []


def test_private_addresses_are_never_fetched(tmp_path, engine, database_url):
    """With the real guarded fetcher (no fixture server allowance), a loopback page is refused before any request."""
    hits = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<title>secret</title>")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        app = create_app(web_settings(tmp_path, database_url), engine, passwords=fast_passwords())
        for url in (f"http://127.0.0.1:{server.server_port}/", f"http://localhost:{server.server_port}/admin"):
            reply = suggest(app.test_client(), url, ip=f"192.0.2.{len(hits) + 20}")
            text = reply.get_data(as_text=True)
            assert reply.status_code == 400 and "could not be read" in text
            assert "127.0.0.1" not in text.split("<form")[0]  # the public is not told what the guard found
    finally:
        server.shutdown()
    assert hits == [] and stored_suggestions(engine) == []


def test_an_editor_adds_by_url_audited_and_sees_the_resource(site):
    app, engine = site
    client = signed_in(app, "ed@example.org")
    reply = post(client, "/editor/suggest", {"url": SEMINARS}, page="/editor/suggest", follow_redirects=True)
    page = reply.get_data(as_text=True)
    assert "to the review queue as suggested" in page
    (row,) = stored_suggestions(engine)
    assert row.extra["suggested_by"] == "Ed"
    assert "Suggested by Ed</span>" in client.get("/editor/?view=list&off_topic=include").get_data(
        as_text=True
    )  # the compact row too
    assert audit_actions(engine)[-1] == "suggest"
    again = post(client, "/editor/suggest", {"url": SEMINARS}, page="/editor/suggest", follow_redirects=True)
    assert "already here" in again.get_data(as_text=True)
    assert app.test_client().get("/editor/suggest").status_code == 302
    unreadable = post(client, "/editor/suggest", {"url": "https://yqsr.org/no-such-page"}, page="/editor/suggest")
    assert unreadable.status_code == 400 and "404" in unreadable.get_data(as_text=True)  # editors see why


# --- smaller -------------------------------------------------------------------------------------


def test_the_public_404_page_speaks_to_the_public(site):
    app, _ = site
    page = app.test_client().get("/no/such/page").get_data(as_text=True)
    assert "review queue" not in page and "Go to the home page" in page
    signed = signed_in(app).get("/no/such/page").get_data(as_text=True)
    assert "Go to the review queue" in signed
