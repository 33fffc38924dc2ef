"""The sending engine: leases deliveries in batches, sends each subscriber's message over reused, throttled
connections, records it after the server's 250, and marks the issue sent when nothing is pending."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine

from aggregator.config.taxonomy import Taxonomy, read_taxonomy
from aggregator.digest import deliveries as store
from aggregator.digest.compose import Copies
from aggregator.digest.dkim import load_signer
from aggregator.digest.errors import (
    AddressError,
    DeliveryFailure,
    SenderRefusedError,
    TransportError,
    UnconfirmedError,
)
from aggregator.digest.issue import load_issue
from aggregator.digest.mail.base import Mailer, SendPolicy, Session  # noqa: F401 (Session: re-exported)
from aggregator.digest.mail.factory import send_policy
from aggregator.digest.message import envelope_sender
from aggregator.digest.pacing import PacedConnection, Throttle
from aggregator.digest.senders import dead_local_senders, default_worker_id
from aggregator.digest.sendrun import SendOptions, SendReport, SendRun, utc_now  # noqa: F401 (re-exported)
from aggregator.digest.statements import SendStatements, Target, sending_connection
from aggregator.model import DeliveryStatus, IssueStatus
from aggregator.settings import Settings

logger = logging.getLogger(__name__)


def send_issue(
    engine: Engine,
    issue_id: int,
    transport: Mailer,
    settings: Settings,
    *,
    now: Callable[[], datetime] = utc_now,
    worker_id: str | None = None,
    taxonomy: Taxonomy | None = None,
    source_names: Mapping[str, str] | None = None,
    options: SendOptions = SendOptions(),
    progress: Callable[[int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    policy: SendPolicy | None = None,
) -> SendReport:
    """Send (or resume sending) an approved issue to every active subscriber once; see deliveries.py.

    `now` is the clock for leases and Date headers. Run it again after a crash or kill: it sends only
    what is still pending; a worker restarted under the same `worker_id` takes back its own leases at
    once, and so are those of a sender on this host whose process is gone (a kill, a crash); other leases
    are taken back when they expire. `policy` defaults to the one the settings give (mail.factory.send_policy).
    """
    worker_id = worker_id or default_worker_id()
    with engine.begin() as conn:
        status = store.start_sending(conn, issue_id, now())
        if status == IssueStatus.SENDING:
            store.release_leases(conn, issue_id, f"{worker_id}/")
            for sender in dead_local_senders(store.lease_owners(conn, issue_id, now())):
                logger.info(
                    "taking over the leases of %s, which no longer runs",
                    sender.rstrip("/"),
                    extra={"issue_id": issue_id},
                )
                store.release_leases(conn, issue_id, sender)
        content = load_issue(conn, issue_id, now(), source_names)
    if status == IssueStatus.SENT:
        return _report(engine, issue_id, Counter(), [], 0, finished=True)
    copies = Copies(
        content, settings, taxonomy or read_taxonomy(settings.taxonomy_file), signer=load_signer(settings.dkim)
    )
    policy = policy or send_policy(settings)
    run = SendRun(
        engine,
        issue_id,
        transport,
        settings,
        policy,
        copies,
        options,
        now,
        sleep,
        Throttle(policy.rate_per_second, clock, sleep),
        progress,
    )
    threads = [
        threading.Thread(target=_work, args=(run, f"{worker_id}/{n}"), name=f"send-{n}", daemon=True)
        for n in range(policy.sessions)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with engine.begin() as conn:
        finished = store.finish_if_done(conn, issue_id, now())
    return _report(engine, issue_id, run.counts, run.errors, copies.rendered, finished=finished)


def _report(
    engine: Engine, issue_id: int, counts: Counter, errors: list[str], copies: int, *, finished: bool
) -> SendReport:
    with engine.connect() as conn:
        pending = store.count_by_status(conn, issue_id).get(DeliveryStatus.PENDING, 0)
    return SendReport(
        issue_id=issue_id,
        sent=counts["sent"],
        skipped=counts["skipped"],
        failed=counts["failed"],
        bounced=counts["bounced"],
        retried=counts["retried"],
        pending=pending,
        finished=finished,
        errors=tuple(errors),
        copies=copies,
        parked=counts["parked"],
    )


def _work(run: SendRun, owner: str) -> None:
    """One connection's worker: lease a batch, send it message by message, until nothing is left.

    Its database connection is in autocommit: every statement it runs for a message is safe on its
    own (see statements.SendStatements), so a sent mark is committed the moment it is written."""
    connection = PacedConnection(run.mailer, run.policy, run.throttle, envelope_sender(run.settings))
    claimed: list[int] = []
    try:
        with run.engine.connect() as conn, sending_connection(conn):
            try:
                while not run.stop.is_set():
                    with conn.begin():
                        claimed = store.claim_batch(
                            conn, run.issue_id, owner, run.now(), run.options.lease, run.options.batch_size
                        )
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


def _send_batch(run: SendRun, conn: Connection, owner: str, claimed: list[int], connection: PacedConnection) -> None:
    statements = SendStatements(conn, owner, run.sqlite_writes if conn.dialect.name == "sqlite" else None)
    lease_until = run.now() + run.options.lease
    # a message is only sent with this much lease left, so nobody can reclaim it while it is on the wire
    margin = timedelta(
        seconds=run.policy.attempt_timeout * (run.policy.retries + 2)
        + run.options.backoff * 2 ** (run.policy.retries + 1)
    )
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
        message_id = _send_one(run, owner, target, connection, statements)
        if message_id is not None:
            # committed by the statement itself, nothing on the wire before it: the duplicate window is this message
            statements.mark_sent(delivery_id, message_id, run.now())
            run.count("sent")


def _send_one(
    run: SendRun, owner: str, target: Target, connection: PacedConnection, statements: SendStatements
) -> str | None:
    """Send one message, retrying a 4xx; its Message-ID once the server said 250, for the caller to record
    at once. A refusal is recorded here, and so is parking.

    Before each try that could reach the recipient the delivery's `unconfirmed` count goes up (with the
    Message-ID it keeps for every re-send); a reply, or a failure before the body went out, takes it
    back. What stays counted is a try whose fate nobody saw: the sender died during it (a message that
    crashes the sender), or the connection was lost after the body. At policy.park_after the
    delivery is parked, so such a message reaches its recipient at most that many times, one Message-ID."""
    policy = run.policy
    message_id = run.copies.message_id(target)
    unconfirmed, counted, data = target.unconfirmed, False, None
    last_loss = "the sender stopped while sending it"
    for attempt in range(policy.retries + 1):
        if not counted:
            if unconfirmed >= policy.park_after:
                _park(run, owner, target, unconfirmed, last_loss)
                return None
            if not statements.take(target.delivery_id, message_id):
                return None  # no longer ours (a lease taken over): whoever holds it now sends it
            unconfirmed, counted = unconfirmed + 1, True
        try:
            if data is None:
                data, _ = run.copies.message(target, run.now(), message_id)
            connection.send(target.email, data, _return_path(run, target))
        except AddressError as exc:
            _record_failure(run, owner, target, str(exc), bounce=False)
            run.count("failed")
            return None
        except DeliveryFailure as failure:
            if failure.is_temporary and attempt < policy.retries:
                run.count("retried")
                run.sleep(run.options.backoff * 2**attempt)
                continue
            _record_failure(run, owner, target, str(failure), bounce=failure.recipient_refused)
            run.count("bounced" if failure.recipient_refused else "failed")
            return None
        except UnconfirmedError as exc:
            connection.close()
            counted, last_loss = False, exc.message
            if attempt >= policy.retries:
                raise
            run.count("retried")
            run.sleep(run.options.backoff * 2**attempt)
            continue
        except TransportError:
            connection.close()
            if attempt >= policy.retries:
                with run.engine.begin() as conn:
                    store.settle(conn, target.delivery_id, owner)
                raise
            run.count("retried")
            run.sleep(run.options.backoff * 2**attempt)
            continue
        return message_id
    return None


def _park(run: SendRun, owner: str, target: Target, times: int, last: str) -> None:
    reason = (
        f"parked: its message went out {times} times with no reply seen (the sender died while sending "
        f"it, or the connection was lost after its body, so it may have been delivered); last: {last}"
    )
    logger.error(
        "delivery %s to subscriber %s %s",
        target.delivery_id,
        target.subscriber_id,
        reason,
        extra={"issue_id": run.issue_id},
    )
    with run.engine.begin() as conn:
        store.park(conn, target.delivery_id, owner, reason)
    run.count("parked")


def _return_path(run: SendRun, target: Target) -> str | None:
    """This delivery's VERP envelope sender: a bounce to it names the issue and the subscriber."""
    return run.copies.return_path(target.subscriber_id)


def _record_failure(run: SendRun, owner: str, target: Target, error: str, *, bounce: bool) -> None:
    # a transaction of its own (the worker's connection is in autocommit): the failure and the bounce count
    # are written together or not at all
    with run.engine.begin() as conn:
        store.mark_failed(conn, target, owner, error, bounce=bounce, hard_bounce_after=run.policy.hard_bounce_after)
