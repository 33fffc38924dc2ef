"""Exactly once: a dropped connection, a sender killed with SIGKILL, two workers at once, an unsubscribe mid-send."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import UTC
from pathlib import Path

from sqlalchemy import select, update

from aggregator.db.schema import deliveries, issues, subscribers
from aggregator.digest.mail.smtp import SMTPTransport
from aggregator.digest.send import SendOptions, send_issue
from tests.test_send_helpers import SECRET, TAXONOMY_FILE, Sink, SinkHandler, add_subscribers, seed_issue, settings_for

ROOT = Path(__file__).resolve().parents[1]
NO_WAIT = SendOptions(backoff=0.0)


def _issue_status(engine, issue_id: int) -> str:
    with engine.connect() as conn:
        return conn.execute(select(issues.c.status).where(issues.c.id == issue_id)).scalar_one()


def test_dropped_connection_stops_the_run_and_a_resume_sends_only_the_rest(engine, tmp_path):
    issue_id = seed_issue(engine)
    add_subscribers(engine, 20)
    handler = SinkHandler(drop_after=7)
    with Sink(handler) as sink:
        settings = settings_for(tmp_path, **sink.smtp_settings())
        first = send_issue(engine, issue_id, SMTPTransport(settings.smtp), settings, options=NO_WAIT, worker_id="a")
        assert (first.sent, first.finished, first.pending) == (7, False, 13)
        assert first.errors and _issue_status(engine, issue_id) == "sending"
        handler.dropping, handler.drop_after = False, None
        second = send_issue(engine, issue_id, SMTPTransport(settings.smtp), settings, options=NO_WAIT, worker_id="b")
    assert (second.sent, second.finished) == (13, True)
    assert handler.copies() == {f"s{n}@example.org": 1 for n in range(20)}
    assert _issue_status(engine, issue_id) == "sent"


def test_sender_killed_mid_send_resumes_with_at_most_one_duplicate(engine, database_url, tmp_path):
    issue_id = seed_issue(engine)
    add_subscribers(engine, 30)
    process: list[subprocess.Popen] = []
    killed = threading.Event()

    def kill_at_twelve(received, count):
        # message 12 is stored but its 250 never reaches the sender: the one window SMTP leaves open
        if count == 12 and process:
            os.kill(process[0].pid, signal.SIGKILL)
            killed.set()

    handler = SinkHandler(on_message=kill_at_twelve)
    with Sink(handler) as sink:
        env = {
            **os.environ,
            "AGGREGATOR_DATABASE_URL": database_url,
            "AGGREGATOR_SECRET_KEY": SECRET,
            "AGGREGATOR_DATA_DIR": str(tmp_path / "var"),
            "AGGREGATOR_TAXONOMY_FILE": str(TAXONOMY_FILE),
            "AGGREGATOR_SOURCES_FILE": str(tmp_path / "none.yaml"),
            "AGGREGATOR_SMTP__HOST": "127.0.0.1",
            "AGGREGATOR_SMTP__PORT": str(sink.port),
            "AGGREGATOR_SMTP__SECURITY": "none",
            "AGGREGATOR_SMTP__CONNECTIONS": "1",
            "AGGREGATOR_SMTP__RATE_PER_SECOND": "100000",
        }
        process.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "aggregator",
                    "issue",
                    "send",
                    "--issue",
                    str(issue_id),
                    "--worker-id",
                    "w1",
                    "--allow-insecure-links",
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        )
        process[0].wait(timeout=120)
        assert killed.is_set() and process[0].returncode == -signal.SIGKILL, process[0].stderr.read().decode()
        assert _issue_status(engine, issue_id) == "sending"
        settings = settings_for(tmp_path, **sink.smtp_settings())
        resumed = send_issue(
            engine, issue_id, SMTPTransport(settings.smtp), settings, options=NO_WAIT, worker_id="w1"
        )  # the same name takes back its leases at once
    copies = handler.copies()
    assert set(copies) == {f"s{n}@example.org" for n in range(30)}
    assert sum(copies.values()) - 30 <= 1 and max(copies.values()) <= 2
    assert resumed.finished and _issue_status(engine, issue_id) == "sent"


def test_killed_worker_leases_are_taken_by_another_worker_once_expired(engine, tmp_path):
    issue_id = seed_issue(engine)
    add_subscribers(engine, 6)
    from datetime import datetime, timedelta

    from aggregator.digest import deliveries as store

    now = datetime.now(UTC)
    with engine.begin() as conn:  # a worker that started, leased everything, and died
        store.start_sending(conn, issue_id, now)
        assert len(store.claim_batch(conn, issue_id, "dead/0", now, timedelta(minutes=10), 100)) == 6
    with Sink() as sink:
        settings = settings_for(tmp_path, **sink.smtp_settings())
        early = send_issue(engine, issue_id, SMTPTransport(settings.smtp), settings, options=NO_WAIT, worker_id="x")
        assert (early.sent, early.pending) == (0, 6)
        later = send_issue(
            engine,
            issue_id,
            SMTPTransport(settings.smtp),
            settings,
            options=NO_WAIT,
            worker_id="x",
            now=lambda: datetime.now(UTC) + timedelta(minutes=11),
        )
    assert (later.sent, later.finished) == (6, True)


def test_two_workers_started_at_once_never_send_the_same_message(engine, tmp_path):
    issue_id = seed_issue(engine)
    add_subscribers(engine, 60)
    reports = {}
    with Sink() as sink:
        settings = settings_for(tmp_path, **sink.smtp_settings(), connections=2)
        barrier = threading.Barrier(2)

        def worker(name: str) -> None:
            barrier.wait()
            reports[name] = send_issue(
                engine,
                issue_id,
                SMTPTransport(settings.smtp),
                settings,
                worker_id=name,
                options=SendOptions(batch_size=5, backoff=0.0),
            )

        threads = [threading.Thread(target=worker, args=(n,)) for n in ("one", "two")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    assert sink.handler.copies() == {f"s{n}@example.org": 1 for n in range(60)}
    assert reports["one"].sent + reports["two"].sent == 60
    assert _issue_status(engine, issue_id) == "sent"


def test_a_subscriber_who_unsubscribes_mid_send_gets_nothing(engine, tmp_path):
    issue_id = seed_issue(engine)
    ids = add_subscribers(engine, 10)

    def unsubscribe_last(received, count):
        if count == 3:
            with engine.begin() as conn:
                conn.execute(update(subscribers).where(subscribers.c.id == ids[-1]).values(status="unsubscribed"))

    with Sink(SinkHandler(on_message=unsubscribe_last)) as sink:
        settings = settings_for(tmp_path, **sink.smtp_settings())
        report = send_issue(engine, issue_id, SMTPTransport(settings.smtp), settings, options=NO_WAIT)
    assert "s9@example.org" not in sink.handler.copies()
    assert (report.sent, report.skipped, report.finished) == (9, 1, True)
    with engine.connect() as conn:
        assert (
            conn.execute(select(deliveries.c.status).where(deliveries.c.subscriber_id == ids[-1])).scalar_one()
            == "skipped"
        )
