"""The deliveries table as the sending engine uses it: one row per (issue, subscriber), claimed under a lease.

Exactly-once as far as SMTP allows: a row is marked sent in its own transaction right after the
server's 250 for it, and only by the worker holding its lease. A worker only sends a message whose
lease it still holds with time to spare, so an expired lease cannot be reclaimed by another worker
while its message is on the wire. The one duplicate SMTP cannot rule out is a message whose 250
was lost, or whose worker died between the 250 and that commit: at most one message per worker.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, case, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from aggregator.db.schema import UTCDateTime, deliveries, issues, subscribers
from aggregator.digest.errors import SendStateError
from aggregator.model import DeliveryStatus, IssueStatus, SubscriberStatus
from aggregator.review.lifecycle import TransitionError, change_issue_status


@dataclass(frozen=True, slots=True)
class Target:
    """A claimed delivery whose subscriber was active at the last check, with what their copy needs."""

    delivery_id: int
    subscriber_id: int
    email: str
    audiences: tuple[str, ...]
    themes: tuple[str, ...]
    token_version: int
    message_id: str | None = None  # kept from its first try: a re-send carries the same one
    unconfirmed: int = 0  # tries with no reply seen so far (see deliveries.unconfirmed)


def start_sending(conn: Connection, issue_id: int, now: datetime) -> str:
    """Move an approved issue to sending and create a pending delivery for every active subscriber, in one
    transaction; an issue already sending (resume, or a second worker) is left as it is. Returns the status."""
    status = conn.execute(select(issues.c.status).where(issues.c.id == issue_id)).scalar_one_or_none()
    if status is None:
        raise SendStateError(f"there is no issue {issue_id}")
    if status == IssueStatus.APPROVED:
        try:
            change_issue_status(conn, issue_id, IssueStatus.SENDING, user_id=None, now=now)
        except TransitionError:  # another worker started it first: its transaction made the rows
            return conn.execute(select(issues.c.status).where(issues.c.id == issue_id)).scalar_one()
        create_deliveries(conn, issue_id)
        return IssueStatus.SENDING
    if status not in (IssueStatus.SENDING, IssueStatus.SENT):
        raise SendStateError(f"issue {issue_id} is a {status}, not approved")
    return status


def create_deliveries(conn: Connection, issue_id: int) -> int:
    """A pending row for each active subscriber that has none for this issue (set-based; skips existing)."""
    chosen = select(literal(issue_id), subscribers.c.id, literal(DeliveryStatus.PENDING.value), literal(0)).where(
        subscribers.c.status == SubscriberStatus.ACTIVE
    )
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    statement = (
        dialect.insert(deliveries)
        .from_select(["issue_id", "subscriber_id", "status", "attempts"], chosen)
        .on_conflict_do_nothing(index_elements=["issue_id", "subscriber_id"])
    )
    return conn.execute(statement).rowcount


def release_leases(conn: Connection, issue_id: int, owner_prefix: str) -> int:
    """Free the pending rows leased by owners starting with `owner_prefix` (a worker restarted under its id)."""
    return conn.execute(
        update(deliveries)
        .where(
            deliveries.c.issue_id == issue_id,
            deliveries.c.status == DeliveryStatus.PENDING,
            deliveries.c.lease_owner.startswith(owner_prefix, autoescape=True),
        )
        .values(lease_owner=None, lease_until=None)
    ).rowcount


def claim_batch(conn: Connection, issue_id: int, owner: str, now: datetime, lease: timedelta, size: int) -> list[int]:
    """Lease up to `size` pending rows that nobody holds (or whose lease expired); their ids, in id order.

    One UPDATE whose WHERE is the compare-and-set: it is evaluated again under the row lock
    (PostgreSQL) or inside SQLite's single writer, so two workers never get the same row. On
    PostgreSQL, SKIP LOCKED lets a second worker pass rows the first is claiming instead of waiting.
    """
    free = and_(
        deliveries.c.issue_id == issue_id,
        deliveries.c.status == DeliveryStatus.PENDING,
        or_(deliveries.c.lease_until.is_(None), deliveries.c.lease_until < now),
    )
    candidates = select(deliveries.c.id).where(free).order_by(deliveries.c.id).limit(size)
    if conn.dialect.name == "postgresql":
        # A materialised CTE: as `id IN (subquery ... LIMIT)` PostgreSQL may run the subquery once per
        # row, which ignores the LIMIT (one claim leased every pending row) and grows with the square.
        chosen = candidates.with_for_update(skip_locked=True).cte("chosen").prefix_with("MATERIALIZED")
        statement = update(deliveries).where(deliveries.c.id == chosen.c.id, free)
    else:
        statement = update(deliveries).where(deliveries.c.id.in_(candidates.scalar_subquery()), free)
    rows = (
        conn.execute(statement.values(lease_owner=owner, lease_until=now + lease).returning(deliveries.c.id))
        .scalars()
        .all()
    )
    return sorted(rows)


def renew_leases(conn: Connection, ids: list[int], owner: str, until: datetime) -> set[int]:
    """Extend the lease of the rows in `ids` still held by `owner`; returns those ids."""
    if not ids:
        return set()
    return set(
        conn.execute(
            update(deliveries)
            .where(
                deliveries.c.id.in_(ids),
                deliveries.c.lease_owner == owner,
                deliveries.c.status == DeliveryStatus.PENDING,
            )
            .values(lease_until=until)
            .returning(deliveries.c.id)
        ).scalars()
    )


# The statements run for every message go straight to the driver's cursor, written once per paramstyle:
# SQLAlchemy's execute path (compiled cache lookup, parameter and result processing) cost more than the
# queries themselves, about a fifth of a message's budget.
_CHECK_SQL = (
    "SELECT d.subscriber_id, s.email, s.status, s.audiences, s.themes, s.token_version, d.message_id, "
    "d.unconfirmed "
    "FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id "
    "WHERE d.id = {p} AND d.status = 'pending' AND d.lease_owner = {p}"
)
_MARK_SENT_SQL = (
    "UPDATE deliveries SET status = 'sent', sent_at = {p}, message_id = {p}, lease_until = NULL, "
    "attempts = attempts + 1, unconfirmed = unconfirmed - 1 "
    "WHERE id = {p} AND lease_owner = {p} AND status = 'pending'"
)
# Written before a message goes out, so that a sender that dies sending it leaves the count behind.
_TAKE_SQL = (
    "UPDATE deliveries SET unconfirmed = unconfirmed + 1, message_id = {p} "
    "WHERE id = {p} AND lease_owner = {p} AND status = 'pending'"
)
_MARK_SKIPPED_SQL = (
    "UPDATE deliveries SET status = 'skipped', last_error = {p}, lease_until = NULL, "
    "attempts = attempts + 1 WHERE id = {p} AND lease_owner = {p} AND status = 'pending'"
)


# A checkpoint every 10,000 WAL pages (40 MB) instead of SQLite's 1,000 while a worker sends: each sent mark
# writes about three pages, mostly the same ones as the marks before it, and a checkpoint (two fsyncs)
# every few hundred messages cost the send path more than its statements.
_SEND_WAL_AUTOCHECKPOINT = 10_000


@contextmanager
def sending_connection(conn: Connection) -> Iterator[None]:
    """Set up a worker's connection for SendStatements: autocommit, and on SQLite fewer WAL checkpoints
    (undone on the way out: the connection goes back to the pool)."""
    conn.execution_options(isolation_level="AUTOCOMMIT")
    if conn.dialect.name != "sqlite":
        yield
        return
    cursor = conn.connection.cursor()
    cursor.execute("PRAGMA wal_autocheckpoint")
    before = cursor.fetchone()[0]
    cursor.execute(f"PRAGMA wal_autocheckpoint={_SEND_WAL_AUTOCHECKPOINT}")
    try:
        yield
    finally:
        cursor.execute(f"PRAGMA wal_autocheckpoint={int(before)}")


class SendStatements:
    """The per-message check and sent mark of one worker, on its connection's DBAPI cursor.

    Each is one statement, and its WHERE holds the lease, so it is safe on its own: the sending engine
    runs them on an AUTOCOMMIT connection, where the sent mark is committed by the statement itself.
    On SQLite that keeps the write lock for one call into the library, never across a wait for the GIL
    (holding it there made the other connection's writer sleep in the busy handler); on PostgreSQL it
    saves the COMMIT round trip. Inside a transaction they are part of it (`check_target`).

    `write_lock` (SQLite) serialises the sent marks of the process's workers in Python: two writers that
    meet in SQLite make one sleep in the busy handler, at least a millisecond, a dozen messages' time."""

    def __init__(self, conn: Connection, owner: str, write_lock: threading.Lock | None = None) -> None:
        self._owner, self._write_lock = owner, write_lock or nullcontext()
        self._cursor = conn.connection.cursor()
        self._dialect = conn.dialect
        placeholder = "?" if self._dialect.paramstyle == "qmark" else "%s"
        self._check_sql, self._mark_sql, self._skip_sql, self._take_sql = (
            sql.format(p=placeholder) for sql in (_CHECK_SQL, _MARK_SENT_SQL, _MARK_SKIPPED_SQL, _TAKE_SQL)
        )
        self._time = UTCDateTime().process_bind_param  # the stored form of a datetime (text on SQLite)

    def check(self, delivery_id: int) -> Target | None:
        """Right before sending: the delivery if it is still ours and pending and its subscriber still active.
        A subscriber who left meanwhile gets nothing: the row is marked skipped."""
        self._cursor.execute(self._check_sql, (delivery_id, self._owner))
        row = self._cursor.fetchone()
        if row is None:
            return None
        subscriber_id, email, status, audiences, themes, token_version, message_id, unconfirmed = row
        if status != SubscriberStatus.ACTIVE:
            self._cursor.execute(self._skip_sql, (f"subscriber {status}", delivery_id, self._owner))
            return None
        return Target(
            delivery_id,
            subscriber_id,
            email,
            _json_tuple(audiences),
            _json_tuple(themes),
            token_version,
            message_id,
            unconfirmed,
        )

    def take(self, delivery_id: int, message_id: str) -> bool:
        """Right before a message goes out: count it unconfirmed until its reply, and keep its Message-ID."""
        with self._write_lock:
            self._cursor.execute(self._take_sql, (message_id, delivery_id, self._owner))
            return self._cursor.rowcount == 1

    def mark_sent(self, delivery_id: int, message_id: str, now: datetime) -> bool:
        """Record the server's 250 for a delivery this worker still holds."""
        with self._write_lock:
            self._cursor.execute(self._mark_sql, (self._time(now, self._dialect), message_id, delivery_id, self._owner))
            return self._cursor.rowcount == 1


def _json_tuple(value: str | list | None) -> tuple[str, ...]:
    """A JSON list column as the driver returns it: text on SQLite, already decoded by psycopg."""
    if isinstance(value, str):
        value = json.loads(value)
    return tuple(value or ())


def check_target(conn: Connection, delivery_id: int, owner: str, now: datetime) -> Target | None:
    """SendStatements.check on its own (the web app's tests, one-off checks)."""
    return SendStatements(conn, owner).check(delivery_id)


def mark_failed(
    conn: Connection, target: Target, owner: str, error: str, *, bounce: bool, hard_bounce_after: int
) -> None:
    """The message was refused for good; a refused address counts a bounce, and is marked bounced at the limit."""
    _finish(conn, target.delivery_id, owner, status=DeliveryStatus.FAILED, now=None, error=error[:500], answered=True)
    if bounce:
        count = subscribers.c.bounce_count + 1
        conn.execute(
            update(subscribers)
            .where(subscribers.c.id == target.subscriber_id)
            .values(
                bounce_count=count,
                status=case(
                    (
                        and_(count >= hard_bounce_after, subscribers.c.status == SubscriberStatus.ACTIVE),
                        SubscriberStatus.BOUNCED.value,
                    ),
                    else_=subscribers.c.status,
                ),
            )
        )


def settle(conn: Connection, delivery_id: int, owner: str) -> None:
    """A try that ended with a reply (or before its body went out) leaves the delivery pending: not unconfirmed."""
    conn.execute(
        update(deliveries)
        .where(
            deliveries.c.id == delivery_id,
            deliveries.c.lease_owner == owner,
            deliveries.c.status == DeliveryStatus.PENDING,
            deliveries.c.unconfirmed > 0,
        )
        .values(unconfirmed=deliveries.c.unconfirmed - 1)
    )


def park(conn: Connection, delivery_id: int, owner: str, reason: str) -> bool:
    """Set a delivery aside for good (an operator can look at it); the send goes on without it."""
    return (
        conn.execute(
            update(deliveries)
            .where(
                deliveries.c.id == delivery_id,
                deliveries.c.lease_owner == owner,
                deliveries.c.status == DeliveryStatus.PENDING,
            )
            .values(status=DeliveryStatus.PARKED, last_error=reason[:500], lease_until=None)
        ).rowcount
        == 1
    )


def lease_owners(conn: Connection, issue_id: int, now: datetime) -> set[str]:
    """Who holds an unexpired lease on this issue's pending rows."""
    return set(
        conn.execute(
            select(deliveries.c.lease_owner)
            .distinct()
            .where(
                deliveries.c.issue_id == issue_id,
                deliveries.c.status == DeliveryStatus.PENDING,
                deliveries.c.lease_owner.is_not(None),
                deliveries.c.lease_until >= now,
            )
        ).scalars()
    )


def release(conn: Connection, ids: list[int], owner: str) -> None:
    """Give back the rows of `ids` this worker holds and has not finished (it stops early)."""
    if ids:
        conn.execute(
            update(deliveries)
            .where(
                deliveries.c.id.in_(ids),
                deliveries.c.lease_owner == owner,
                deliveries.c.status == DeliveryStatus.PENDING,
            )
            .values(lease_owner=None, lease_until=None)
        )


def count_by_status(conn: Connection, issue_id: int) -> dict[str, int]:
    return dict(
        conn.execute(
            select(deliveries.c.status, func.count())
            .where(deliveries.c.issue_id == issue_id)
            .group_by(deliveries.c.status)
        ).all()
    )


def finish_if_done(conn: Connection, issue_id: int, now: datetime) -> bool:
    """Mark the issue sent when no delivery is pending; True when it is (now or already) sent."""
    status = conn.execute(select(issues.c.status).where(issues.c.id == issue_id)).scalar_one()
    if status == IssueStatus.SENT:
        return True
    pending = conn.execute(
        select(func.count()).where(deliveries.c.issue_id == issue_id, deliveries.c.status == DeliveryStatus.PENDING)
    ).scalar_one()
    if status != IssueStatus.SENDING or pending:
        return False
    try:
        change_issue_status(conn, issue_id, IssueStatus.SENT, user_id=None, now=now)
    except TransitionError:  # another worker finished it at the same moment
        pass
    return True


def _finish(
    conn: Connection,
    delivery_id: int,
    owner: str,
    *,
    status: str,
    now: datetime | None,
    error: str | None = None,
    answered: bool = False,
) -> bool:
    values = (
        {"unconfirmed": case((deliveries.c.unconfirmed > 0, deliveries.c.unconfirmed - 1), else_=0)} if answered else {}
    )
    return (
        conn.execute(
            update(deliveries)
            .where(
                deliveries.c.id == delivery_id,
                deliveries.c.lease_owner == owner,
                deliveries.c.status == DeliveryStatus.PENDING,
            )
            .values(
                status=status,
                sent_at=now,
                last_error=error,
                lease_until=None,
                attempts=deliveries.c.attempts + 1,
                **values,
            )
        ).rowcount
        == 1
    )
