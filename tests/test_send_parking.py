"""A message that kills the sender is parked after a few tries, one Message-ID per delivery across re-sends,
a message whose fate is unknown is re-sent a bounded number of times, and a plain resume after a kill
takes over the dead sender's leases at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from sqlalchemy import select

from aggregator.db.schema import deliveries, issues, subscribers
from aggregator.digest.mail.smtp import SMTPTransport
from aggregator.digest.send import SendOptions, send_issue
from tests.test_send_helpers import (
    SECRET,
    TAXONOMY_FILE,
    Received,
    Sink,
    SinkHandler,
    add_subscribers,
    seed_issue,
    settings_for,
)

ROOT = Path(__file__).resolve().parents[1]
NO_WAIT = SendOptions(backoff=0.0)


class KillingSink(SinkHandler):
    """Kills the current sender process when it names `poison` as a recipient, or once its `kill_at`-th
    message is stored (its 250 never reaches the sender)."""

    def __init__(self, poison: str | None = None, kill_at: tuple[int, ...] = ()) -> None:
        super().__init__(on_message=self._after_message)
        self.poison, self.kill_at, self.process = poison, kill_at, None
        self.kills = 0

    def _kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.kills += 1

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == self.poison:
            self._kill()
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)

    def _after_message(self, received, count: int) -> None:
        if count in self.kill_at:
            self._kill()


def _run_cli(
    handler: KillingSink, sink: Sink, database_url: str, tmp_path: Path, issue_id: int, *extra: str
) -> subprocess.Popen:
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
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aggregator",
            "issue",
            "send",
            "--issue",
            str(issue_id),
            "--allow-insecure-links",
            *extra,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    handler.process = process
    process.wait(timeout=120)
    return process


def _rows(engine, issue_id: int) -> dict[str, tuple]:
    with engine.connect() as conn:
        return {
            r.email: (r.status, r.message_id, r.last_error, r.unconfirmed)
            for r in conn.execute(
                select(
                    subscribers.c.email,
                    deliveries.c.status,
                    deliveries.c.message_id,
                    deliveries.c.last_error,
                    deliveries.c.unconfirmed,
                )
                .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
                .where(deliveries.c.issue_id == issue_id)
            )
        }


def _message_ids(handler: SinkHandler) -> dict[str, list[str]]:
    ids: dict[str, list[str]] = defaultdict(list)
    for received in handler.messages:
        ids[received.rcpt_tos[0]].append(received.message["Message-ID"])
    return ids


def _issue_status(engine, issue_id: int) -> str:
    with engine.connect() as conn:
        return conn.execute(select(issues.c.status).where(issues.c.id == issue_id)).scalar_one()


def test_a_delivery_that_kills_the_sender_three_times_is_parked_and_the_send_goes_on(engine, database_url, tmp_path):
    issue_id = seed_issue(engine)
    add_subscribers(engine, 12)
    handler = KillingSink(poison="s4@example.org")
    with Sink(handler) as sink:
        for run in range(3):
            process = _run_cli(handler, sink, database_url, tmp_path, issue_id, "--worker-id", "w1")
            assert process.returncode == -signal.SIGKILL, (run, process.stderr.read().decode())
        last = _run_cli(handler, sink, database_url, tmp_path, issue_id, "--worker-id", "w1")
    assert last.returncode == 0, last.stderr.read().decode()
    assert handler.kills == 3
    rows = _rows(engine, issue_id)
    status, _, reason, unconfirmed = rows["s4@example.org"]
    assert status == "parked" and unconfirmed == 3
    assert "3 times" in reason and "parked" in reason
    copies = handler.copies()
    assert "s4@example.org" not in copies
    assert copies == {f"s{n}@example.org": 1 for n in range(12) if n != 4}
    assert _issue_status(engine, issue_id) == "sent"


class DropAfterBody(SinkHandler):
    """Stores every message to `address`, then closes the connection instead of answering 250."""

    def __init__(self, address: str) -> None:
        super().__init__()
        self.address = address

    async def handle_DATA(self, server, session, envelope):
        if self.address in envelope.rcpt_tos:
            with self.lock:
                self.messages.append(
                    Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or envelope.content)
                )
            server.transport.close()
            return "421 closing"
        return await super().handle_DATA(server, session, envelope)


def test_a_message_whose_reply_is_lost_is_resent_with_its_message_id_at_most_park_after_times(engine, tmp_path):
    issue_id = seed_issue(engine)
    add_subscribers(engine, 10)
    handler = DropAfterBody("s2@example.org")
    with Sink(handler) as sink:
        settings = settings_for(tmp_path, **sink.smtp_settings(), park_after=2, retries=3)
        first = send_issue(engine, issue_id, SMTPTransport(settings.smtp), settings, options=NO_WAIT, worker_id="a")
        again = send_issue(engine, issue_id, SMTPTransport(settings.smtp), settings, options=NO_WAIT, worker_id="b")
    ids = _message_ids(handler)
    assert len(ids["s2@example.org"]) == 2 and len(set(ids["s2@example.org"])) == 1
    assert {to: len(v) for to, v in ids.items() if to != "s2@example.org"} == {
        f"s{n}@example.org": 1 for n in range(10) if n != 2
    }
    status, message_id, reason, _ = _rows(engine, issue_id)["s2@example.org"]
    assert status == "parked" and message_id == ids["s2@example.org"][0]
    assert "may have been delivered" in reason
    assert first.finished and again.finished and first.sent == 9


def test_a_plain_resume_after_a_kill_takes_over_at_once_and_resends_with_the_same_message_id(
    engine, database_url, tmp_path
):
    issue_id = seed_issue(engine)
    add_subscribers(engine, 30)
    handler = KillingSink(kill_at=(12,))  # message 12 is stored but its 250 never reaches the sender
    with Sink(handler) as sink:
        killed = _run_cli(handler, sink, database_url, tmp_path, issue_id)  # the default worker id: host:pid
        assert killed.returncode == -signal.SIGKILL, killed.stderr.read().decode()
        resumed = _run_cli(handler, sink, database_url, tmp_path, issue_id)  # a new pid, same host
    assert resumed.returncode == 0, resumed.stderr.read().decode()
    ids = _message_ids(handler)
    assert set(ids) == {f"s{n}@example.org" for n in range(30)}  # nothing missing: no wait for the lease
    duplicates = {to: v for to, v in ids.items() if len(v) > 1}
    assert len(duplicates) <= 1 and all(len(v) == 2 and len(set(v)) == 1 for v in duplicates.values())
    assert _issue_status(engine, issue_id) == "sent"
    rows = _rows(engine, issue_id)
    assert all(rows[to][1] == v[0] for to, v in ids.items())  # the recorded Message-ID is the one sent


def test_three_kills_in_one_send_lose_nothing_and_duplicate_at_most_one_message_each(engine, database_url, tmp_path):
    issue_id = seed_issue(engine)
    add_subscribers(engine, 40)
    handler = KillingSink(kill_at=(5, 17, 30))  # counts of stored messages, duplicates included
    runs = []
    with Sink(handler) as sink:
        while not runs or runs[-1] != 0:
            runs.append(_run_cli(handler, sink, database_url, tmp_path, issue_id).returncode)
            assert len(runs) <= 4, runs
    assert runs == [-signal.SIGKILL] * 3 + [0]
    ids = _message_ids(handler)
    assert set(ids) == {f"s{n}@example.org" for n in range(40)}  # 0 missing
    duplicates = {to: v for to, v in ids.items() if len(v) > 1}
    assert len(duplicates) <= 3 and all(len(v) == 2 and len(set(v)) == 1 for v in duplicates.values())
    assert _issue_status(engine, issue_id) == "sent"


def test_only_senders_of_this_host_whose_process_is_gone_lose_their_leases():
    import socket

    from aggregator.digest.senders import dead_local_senders

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # reaped: its pid is free
    host = socket.gethostname()
    owners = {
        f"{host}:{os.getpid()}/0",
        f"{host}:{gone.pid}/0",
        f"{host}:{gone.pid}/1",
        f"elsewhere:{gone.pid}/0",
        "w1/0",
        f"{host}:notapid/0",
    }
    assert dead_local_senders(owners) == {f"{host}:{gone.pid}/"}
