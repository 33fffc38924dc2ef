"""An issue sent to 5,000 subscribers by 3 queue workers gets the same mail as the in-process send; a worker
killed mid-send loses nothing and costs at most one duplicate per SMTP connection it had open."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from sqlalchemy import select

from aggregator.db.engine import create_db_engine, upgrade_database
from aggregator.db.schema import deliveries, issues
from aggregator.ingest.run import utcnow
from aggregator.jobs.queue.dispatch import InProcessDispatcher, plan_send
from aggregator.jobs.queue.jobs import WorkerContext
from tests.scale.conftest import ROOT, wait_for
from tests.scale.test_queue_fetch import worker_env
from tests.test_send_helpers import Sink, SinkHandler, add_subscribers, seed_issue, settings_for

SUBSCRIBERS = 5_000
KILL_SUBSCRIBERS = 2_000  # enough for every worker to be mid-batch when one dies
BATCH = 250
THREADS = 2  # send jobs a worker runs at once, each over one SMTP connection


def status(engine, issue_id: int) -> str:
    with engine.connect() as conn:
        return conn.execute(select(issues.c.status).where(issues.c.id == issue_id)).scalar_one()


def smtp_env(sink: Sink) -> dict[str, str]:
    return {
        "AGGREGATOR_SMTP__HOST": "127.0.0.1",
        "AGGREGATOR_SMTP__PORT": str(sink.port),
        "AGGREGATOR_SMTP__SECURITY": "none",
        "AGGREGATOR_SMTP__CONNECTIONS": "1",
        "AGGREGATOR_SMTP__RATE_PER_SECOND": "100000",
        "AGGREGATOR_SMTP__RETRIES": "2",
    }


def in_process_copies(tmp_path: Path) -> dict[str, int]:
    """The embedded default: the same send job run by InProcessDispatcher on SQLite, to its own sink."""
    url = f"sqlite:///{tmp_path / 'embedded.db'}"
    engine = create_db_engine(url)
    upgrade_database(engine)
    issue_id = seed_issue(engine)
    add_subscribers(engine, SUBSCRIBERS)
    with Sink() as sink:
        settings = settings_for(tmp_path / "embedded", **sink.smtp_settings(), connections=2).model_copy(
            update={"database_url": url}
        )
        context = WorkerContext.open(settings)
        try:
            InProcessDispatcher(context).send(plan_send(context.engine, issue_id, BATCH, utcnow()))
        finally:
            context.close()
    assert status(engine, issue_id) == "sent"
    engine.dispose()
    return dict(sink.handler.copies())


def enqueue_send(env: dict[str, str], issue_id: int, subscribers: int = SUBSCRIBERS) -> None:
    """Through the command an operator runs."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "aggregator",
            "enqueue",
            "send",
            "--issue",
            str(issue_id),
            "--batch",
            str(BATCH),
            "--allow-insecure-links",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"enqueued {subscribers // BATCH} send job(s)" in done.stdout, done.stdout


def test_three_workers_send_the_same_mail_as_the_in_process_run(
    engine, database_url, queue_settings, workers, tmp_path
):
    import os

    expected = in_process_copies(tmp_path)
    assert expected == {f"s{n}@example.org": 1 for n in range(SUBSCRIBERS)}
    issue_id = seed_issue(engine)
    add_subscribers(engine, SUBSCRIBERS)
    with Sink() as sink:
        env = {**worker_env(database_url, queue_settings, tmp_path), **smtp_env(sink)}
        workers.start(3, env, threads=THREADS)
        enqueue_send({**os.environ, **env}, issue_id)
        wait_for(lambda: status(engine, issue_id) == "sent", timeout=300, what="the issue to be sent")
    assert dict(sink.handler.copies()) == expected, workers.output()


def test_a_worker_killed_mid_send_loses_nothing_and_duplicates_at_most_one_per_connection(
    engine, database_url, queue_settings, workers, tmp_path
):
    import os

    issue_id = seed_issue(engine)
    add_subscribers(engine, KILL_SUBSCRIBERS)
    killed = threading.Event()

    def kill_worker_zero(received, count):
        if count == KILL_SUBSCRIBERS // 4 and not killed.is_set():
            workers.kill(0)  # from the sink's thread: worker 0 may be waiting for this very 250
            killed.set()

    with Sink(SinkHandler(on_message=kill_worker_zero)) as sink:
        env = {**worker_env(database_url, queue_settings, tmp_path), **smtp_env(sink)}
        workers.start(3, env, threads=THREADS)
        enqueue_send({**os.environ, **env}, issue_id, KILL_SUBSCRIBERS)
        wait_for(lambda: status(engine, issue_id) == "sent", timeout=300, what="the issue to be sent")
    assert killed.is_set()
    copies = sink.handler.copies()
    assert set(copies) == {f"s{n}@example.org" for n in range(KILL_SUBSCRIBERS)}  # nothing lost
    # the SMTP gap: a message accepted but not yet recorded, one per connection the killed worker had
    assert sum(copies.values()) - KILL_SUBSCRIBERS <= THREADS and max(copies.values()) <= 2
    with engine.connect() as conn:
        assert set(conn.execute(select(deliveries.c.status).where(deliveries.c.issue_id == issue_id)).scalars()) == {
            "sent"
        }
