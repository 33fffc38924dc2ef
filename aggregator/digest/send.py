"""The sending engine: leases deliveries in batches, sends each subscriber's message over reused, throttled
connections, records it after the server's 250, and marks the issue sent when nothing is pending."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Protocol

from sqlalchemy import Connection, Engine

from aggregator.digest import deliveries as store
from aggregator.digest.compose import Copies
from aggregator.digest.deliveries import Target
from aggregator.digest.errors import AddressError, DeliveryFailure, SenderRefusedError, TransportError
from aggregator.digest.message import envelope_sender, load_signer
from aggregator.issues import load_issue
from aggregator.settings import Settings
from aggregator.taxonomy import Taxonomy, load_taxonomy

logger = logging.getLogger(__name__)


class Session(Protocol):
    """One open way out (an SMTP connection, the outbox folder)."""

    def send(self, sender: str, recipient: str, data: bytes) -> None:
        """Return after the server accepted (250); raise DeliveryFailure or TransportError."""

    def close(self) -> None: ...


class Mailer(Protocol):
    def open(self) -> Session: ...


@dataclass(frozen=True, slots=True)
class SendOptions:
    batch_size: int = 200  # deliveries leased at once by each connection's worker
    lease: timedelta = timedelta(minutes=10)
    backoff: float = 2.0  # seconds before the first retry of a 4xx; doubled for each next one


@dataclass(frozen=True, slots=True)
class SendReport:
    issue_id: int
    sent: int
    skipped: int  # subscribers who left before their message went
    failed: int
    bounced: int  # refused addresses (5xx to RCPT)
    retried: int
    pending: int  # left for a resume (a stopped connection, another worker's leases)
    finished: bool  # the issue is marked sent
    errors: tuple[str, ...] = ()
    copies: int = 0  # distinct copies rendered


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class _Run:
    """What the worker threads share."""

    engine: Engine
    issue_id: int
    mailer: Mailer
    settings: Settings
    copies: Copies
    options: SendOptions
    now: Callable[[], datetime]
    sleep: Callable[[float], None]
    throttle: _Throttle
    progress: Callable[[int], None] | None
    counts: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)
    sqlite_writes: threading.Lock = field(default_factory=threading.Lock)  # see deliveries.SendStatements

    def count(self, key: str) -> None:
        with self.lock:
            self.counts[key] += 1
        if key == "sent" and self.progress is not None:
            self.progress(1)


class _Throttle:
    """Spaces messages 1/rate seconds apart across all connections."""

    def __init__(self, rate: float, clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
        self._interval, self._clock, self._sleep = 1.0 / rate, clock, sleep
        self._next = clock()
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self._interval
        if slot > now:
            self._sleep(slot - now)


def send_issue(engine: Engine, issue_id: int, transport: Mailer, settings: Settings, *,
               now: Callable[[], datetime] = utc_now, worker_id: str | None = None,
               taxonomy: Taxonomy | None = None, source_names: Mapping[str, str] | None = None,
               options: SendOptions = SendOptions(), progress: Callable[[int], None] | None = None,
               sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
               ) -> SendReport:
    """Send (or resume sending) an approved issue to every active subscriber once; see deliveries.py.

    `now` is the clock for leases and Date headers. Run it again after a crash or kill: it sends only
    what is still pending; a worker restarted under the same `worker_id` takes back its own leases at
    once, other leases are taken back when they expire.
    """
    worker_id = worker_id or default_worker_id()
    with engine.begin() as conn:
        status = store.start_sending(conn, issue_id, now())
        if status == "sending":
            store.release_leases(conn, issue_id, f"{worker_id}/")
        content = load_issue(conn, issue_id, now(), source_names)
    if status == "sent":
        return _report(engine, issue_id, Counter(), [], 0, finished=True)
    copies = Copies(content, settings, taxonomy or load_taxonomy(settings.taxonomy_file),
                    signer=load_signer(settings.dkim))
    run = _Run(engine, issue_id, transport, settings, copies, options, now, sleep,
               _Throttle(settings.smtp.rate_per_second, clock, sleep), progress)
    threads = [threading.Thread(target=_work, args=(run, f"{worker_id}/{n}"), name=f"send-{n}", daemon=True)
               for n in range(settings.smtp.connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with engine.begin() as conn:
        finished = store.finish_if_done(conn, issue_id, now())
    return _report(engine, issue_id, run.counts, run.errors, copies.rendered, finished=finished)


def _report(engine: Engine, issue_id: int, counts: Counter, errors: list[str], copies: int, *,
            finished: bool) -> SendReport:
    with engine.connect() as conn:
        pending = store.count_by_status(conn, issue_id).get("pending", 0)
    return SendReport(issue_id=issue_id, sent=counts["sent"], skipped=counts["skipped"], failed=counts["failed"],
                      bounced=counts["bounced"], retried=counts["retried"], pending=pending, finished=finished,
                      errors=tuple(errors), copies=copies)


def _work(run: _Run, owner: str) -> None:
    """One connection's worker: lease a batch, send it message by message, until nothing is left.

    Its database connection is in autocommit: every statement it runs for a message is safe on its
    own (see deliveries.SendStatements), so a sent mark is committed the moment it is written."""
    connection = _Connection(run)
    claimed: list[int] = []
    try:
        with run.engine.connect() as conn, store.sending_connection(conn):
            try:
                while not run.stop.is_set():
                    with conn.begin():
                        claimed = store.claim_batch(conn, run.issue_id, owner, run.now(), run.options.lease,
                                                    run.options.batch_size)
                    if not claimed:
                        return
                    _send_batch(run, conn, owner, claimed, connection)
            except (TransportError, SenderRefusedError) as exc:
                logger.error("sending stopped: %s", exc, extra={"issue_id": run.issue_id})
                with run.lock:
                    run.errors.append(str(exc))
                if isinstance(exc, SenderRefusedError):
                    run.stop.set()
            finally:
                with conn.begin():  # leave the rest to a resume at once, not after the lease
                    store.release(conn, claimed, owner)
    finally:
        connection.close()


def _send_batch(run: _Run, conn: Connection, owner: str, claimed: list[int], connection: _Connection) -> None:
    statements = store.SendStatements(conn, owner, run.sqlite_writes if conn.dialect.name == "sqlite" else None)
    lease_until = run.now() + run.options.lease
    # a message is only sent with this much lease left, so nobody can reclaim it while it is on the wire
    margin = timedelta(seconds=run.settings.smtp.timeout * (run.settings.smtp.retries + 2)
                       + run.options.backoff * 2 ** (run.settings.smtp.retries + 1))
    for index, delivery_id in enumerate(claimed):
        if run.stop.is_set():
            return
        if run.now() + margin > lease_until:
            lease_until = run.now() + max(run.options.lease, 2 * margin)
            with conn.begin():
                store.renew_leases(conn, claimed[index:], owner, lease_until)
        target = statements.check(delivery_id)
        if target is None:
            run.count("skipped")
            continue
        message_id = _send_one(run, owner, target, connection)
        if message_id is not None:
            # committed by the statement itself, nothing on the wire before it: the duplicate window is this message
            statements.mark_sent(delivery_id, message_id, run.now())
            run.count("sent")


def _send_one(run: _Run, owner: str, target: Target, connection: _Connection) -> str | None:
    """Send one message, retrying a 4xx; its Message-ID once the server said 250, for the caller to record
    at once. A refusal is recorded here."""
    smtp = run.settings.smtp
    try:
        data, message_id = run.copies.message(target, run.now())
    except AddressError as exc:
        _record_failure(run, owner, target, str(exc), bounce=False)
        run.count("failed")
        return None
    for attempt in range(smtp.retries + 1):
        try:
            connection.send(target.email, data, _return_path(run, target))
        except DeliveryFailure as failure:
            if failure.is_temporary and attempt < smtp.retries:
                run.count("retried")
                run.sleep(run.options.backoff * 2 ** attempt)
                continue
            _record_failure(run, owner, target, str(failure), bounce=failure.recipient_refused)
            run.count("bounced" if failure.recipient_refused else "failed")
            return None
        except TransportError:
            connection.close()
            if attempt >= smtp.retries:
                raise
            run.count("retried")
            run.sleep(run.options.backoff * 2 ** attempt)
            continue
        return message_id
    return None


def _return_path(run: _Run, target: Target) -> str | None:
    """This delivery's VERP envelope sender: a bounce to it names the issue and the subscriber."""
    return run.copies.return_path(target.subscriber_id)


def _record_failure(run: _Run, owner: str, target: Target, error: str, *, bounce: bool) -> None:
    # a transaction of its own (the worker's connection is in autocommit): the failure and the bounce count
    # are written together or not at all
    with run.engine.begin() as conn:
        store.mark_failed(conn, target, owner, error, bounce=bounce,
                          hard_bounce_after=run.settings.smtp.hard_bounce_after)


class _Connection:
    """A session reopened when it broke or after messages_per_connection messages, paced by the throttle."""

    def __init__(self, run: _Run) -> None:
        self._run = run
        self._session: Session | None = None
        self._used = 0
        self._sender = envelope_sender(run.settings)

    def send(self, recipient: str, data: bytes, sender: str | None = None) -> None:
        if self._session is not None and self._used >= self._run.settings.smtp.messages_per_connection:
            self.close()
        if self._session is None:
            self._session = self._run.mailer.open()
            self._used = 0
        self._run.throttle.wait()
        self._used += 1
        self._session.send(sender or self._sender, recipient, data)

    def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            try:
                session.close()
            except (TransportError, OSError):
                pass
