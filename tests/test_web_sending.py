"""Sending from the web app: send now (admins only, once on a double click, audited), the progress JSON, pause
and resume across the background sender, the sent state on the issue page, and the numbers page."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, insert, select

from aggregator.db.schema import audit_log, consent_events, deliveries, issues, subscribers
from aggregator.jobs.background import BackgroundSender
from aggregator.web.sending import EXTENSION
from tests.support.resources import NOW
from tests.test_web_composition import approve, make_site, post, prepare


def add_subscribers(engine, count: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(subscribers),
            [
                {
                    "email": f"r{n}@example.org",
                    "status": "active",
                    "audiences": [],
                    "themes": ["kindness"] if n else [],
                    "created_at": NOW - timedelta(days=40),
                    "confirmed_at": NOW - timedelta(days=40),
                    "origin": "form",
                }
                for n in range(count)
            ],
        )


def approved_issue(tmp_path, engine, database_url, people: int = 3):
    clients, _ = make_site(tmp_path, engine, database_url)
    add_subscribers(engine, people)
    issue_id = prepare(clients["ed"])
    assert approve(clients["admin"], issue_id).status_code == 303
    return clients, issue_id


def audits(engine, action: str) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).where(audit_log.c.action == action)).scalar_one()


def test_send_now_sends_once_and_the_issue_says_sent(tmp_path, engine, database_url):
    clients, issue_id = approved_issue(tmp_path, engine, database_url)
    admin, page = clients["admin"], f"/editor/issues/{issue_id}"
    assert "Send now" in admin.get(page).get_data(as_text=True)
    assert post(clients["ed"], f"{page}/send-now", page=page).status_code == 403  # editors cannot send
    first = post(admin, f"{page}/send-now", page=page)
    second = post(admin, f"{page}/send-now", page=page)  # the double click
    assert first.status_code == second.status_code == 303 and first.headers["Location"].endswith(f"{page}/sending")
    admin.application.extensions[EXTENSION].join(issue_id, timeout=30)
    progress = admin.get(f"{page}/sending.json").get_json()
    assert progress | {"errors": []} == {
        "status": "sent",
        "paused": False,
        "total": 3,
        "sent": 3,
        "pending": 0,
        "failed": 0,
        "bounced": 0,
        "skipped": 0,
        "running": False,
        "errors": [],
    }
    assert len(list((tmp_path / "outbox").rglob("*.eml"))) == 3
    assert audits(engine, "issue-send-now") == 1
    html = admin.get(page).get_data(as_text=True)
    assert "This issue is sent" in html and "Goes out on" not in html and "Sent on" in html
    assert "This issue is sent" in admin.get(f"{page}/sending").get_data(as_text=True)
    assert "sent " in admin.get("/editor/issues/").get_data(as_text=True)


def test_a_draft_and_an_empty_issue_are_not_sent(tmp_path, engine, database_url):
    clients, _ = make_site(tmp_path, engine, database_url)
    admin = clients["admin"]
    issue_id = prepare(clients["ed"])
    page = f"/editor/issues/{issue_id}"
    refused = post(admin, f"{page}/send-now", page=page, follow_redirects=True)
    assert "approve it for sending first" in refused.get_data(as_text=True)
    empty = prepare_month(clients["ed"], "2026-10")
    reply = approve(admin, empty)
    assert "has no resources" in admin.get(reply.headers["Location"]).get_data(as_text=True)
    with engine.connect() as conn:
        assert conn.execute(select(issues.c.status).where(issues.c.id == empty)).scalar_one() == "draft"


def prepare_month(client, month: str) -> int:
    reply = post(client, "/editor/issues/prepare", {"month": month}, page="/editor/issues/")
    return int(reply.headers["Location"].rstrip("/").rsplit("/", 1)[1])


class GatedMailer:
    """Sends nothing until `gate` opens; counts what it sent."""

    def __init__(self) -> None:
        self.gate, self.waiting, self.sent = threading.Event(), threading.Event(), []

    def open(self):
        return self

    def send(self, sender: str, recipient: str, data: bytes) -> None:
        self.waiting.set()
        assert self.gate.wait(30)
        self.sent.append(recipient)

    def close(self) -> None:
        pass


def test_pause_stops_the_send_and_resume_finishes_it(tmp_path, engine, database_url):
    clients, issue_id = approved_issue(tmp_path, engine, database_url, people=4)
    admin, page = clients["admin"], f"/editor/issues/{issue_id}"
    app = admin.application
    mailer = GatedMailer()
    context = app.extensions["aggregator"]
    app.extensions[EXTENSION] = BackgroundSender(
        context.engine, context.settings, taxonomy=context.taxonomy, source_names={}, make_mailer=lambda s, m: mailer
    )
    post(admin, f"{page}/send-now", page=page)
    assert mailer.waiting.wait(30)  # the first message is in hand
    assert post(clients["ed"], f"{page}/pause", page=page).status_code == 403
    post(admin, f"{page}/pause", page=f"{page}/sending")
    post(admin, f"{page}/pause", page=f"{page}/sending")  # twice: one audit line
    mailer.gate.set()
    app.extensions[EXTENSION].join(issue_id, timeout=30)
    paused = admin.get(f"{page}/sending.json").get_json()
    assert paused["status"] == "sending" and paused["paused"] and paused["sent"] == 1 and paused["pending"] == 3
    assert "Resume the send" in admin.get(f"{page}/sending").get_data(as_text=True)
    with engine.connect() as conn:
        held = conn.execute(select(func.count()).where(deliveries.c.lease_until.is_not(None))).scalar_one()
    assert held == 0  # the paused sender gave its leases back
    post(admin, f"{page}/resume", page=f"{page}/sending")
    app.extensions[EXTENSION].join(issue_id, timeout=30)
    done = admin.get(f"{page}/sending.json").get_json()
    assert (done["status"], done["sent"], done["pending"]) == ("sent", 4, 0)
    assert sorted(mailer.sent) == [f"r{n}@example.org" for n in range(4)]
    assert audits(engine, "issue-pause") == audits(engine, "issue-resume") == 1


def test_numbers_page_shows_each_issue_and_the_months(tmp_path, engine, database_url):
    clients, issue_id = approved_issue(tmp_path, engine, database_url)
    admin, page = clients["admin"], f"/editor/issues/{issue_id}"
    post(admin, f"{page}/send-now", page=page)
    admin.application.extensions[EXTENSION].join(issue_id, timeout=30)
    with engine.begin() as conn:
        sent_at = conn.execute(select(issues.c.send_at).where(issues.c.id == issue_id)).scalar_one()
        leaver = conn.execute(select(subscribers.c.id).where(subscribers.c.email == "r1@example.org")).scalar_one()
        conn.execute(
            insert(consent_events),
            [
                {
                    "subscriber_id": leaver,
                    "at": sent_at + timedelta(days=2),
                    "action": "unsubscribe",
                    "origin": "link",
                    "wording_version": "1",
                    "detail": {},
                },
                {
                    "subscriber_id": leaver,
                    "at": sent_at + timedelta(days=9),
                    "action": "bounce",
                    "origin": "link",
                    "wording_version": "1",
                    "detail": {},
                },  # after the week: not this issue's bounce
            ],
        )
    html = admin.get("/editor/numbers/").get_data(as_text=True)
    row = html.split('data-issue="2026-11"', 1)[1].split("</tr>", 1)[0]
    for figure, value in (("recipients", 3), ("delivered", 3), ("failed", 0), ("bounced", 0), ("unsubscribed", 1)):
        assert f'data-figure="{figure}">{value}<' in row, figure
    assert html.count("<svg") >= 3 and "https://" not in html.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert "Subscribers at the end of each month" in html and "New resources per source" in html


def test_a_paused_send_is_left_alone_by_the_pipeline_and_the_cli(tmp_path, engine, database_url, monkeypatch):
    from typer.testing import CliRunner

    from aggregator.cli import app as cli
    from aggregator.digest.sending import pause_send, start_send_now
    from aggregator.jobs.monthly import send_due_issues

    clients, issue_id = approved_issue(tmp_path, engine, database_url)
    settings = clients["admin"].application.extensions["aggregator"].settings
    with engine.begin() as conn:
        assert start_send_now(conn, issue_id, user_id=1, now=NOW)
        assert pause_send(conn, issue_id, user_id=1, now=NOW)
    assert send_due_issues(engine, settings, [], clock=lambda: NOW + timedelta(days=1)) == []
    for name, value in (("DATA_DIR", tmp_path), ("DATABASE_URL", database_url), ("SECRET_KEY", "k" * 40)):
        monkeypatch.setenv(f"AGGREGATOR_{name}", str(value))
    refused = CliRunner().invoke(cli, ["issue", "send", "--issue", str(issue_id)])
    assert refused.exit_code != 0 and "paused" in str(refused.exception)  # the CLI's main() prints it with its hint
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).where(deliveries.c.status == "sent")).scalar_one() == 0
