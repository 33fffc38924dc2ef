"""The statements run for every message of a send, and the one value they give: the Target to send to."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from aggregator.db.schema import UTCDateTime
from aggregator.model import DeliveryStatus, SubscriberStatus


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
    unconfirmed: int = 0  # tries with no reply seen so far (the deliveries.unconfirmed column)


_STATUSES = {s.name.lower(): s.value for s in DeliveryStatus}  # the stored words, from the enum

# The statements run for every message go straight to the driver's cursor, written once per paramstyle:
# SQLAlchemy's execute path (compiled cache lookup, parameter and result processing) cost more than the
# queries themselves, about a fifth of a message's budget.
_CHECK_SQL = (
    "SELECT d.subscriber_id, s.email, s.status, s.audiences, s.themes, s.token_version, d.message_id, "
    "d.unconfirmed "
    "FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id "
    "WHERE d.id = {p} AND d.status = '{pending}' AND d.lease_owner = {p}"
)
_MARK_SENT_SQL = (
    "UPDATE deliveries SET status = '{sent}', sent_at = {p}, message_id = {p}, lease_until = NULL, "
    "attempts = attempts + 1, unconfirmed = unconfirmed - 1 "
    "WHERE id = {p} AND lease_owner = {p} AND status = '{pending}'"
)
# Written before a message goes out, so that a sender that dies sending it leaves the count behind.
_TAKE_SQL = (
    "UPDATE deliveries SET unconfirmed = unconfirmed + 1, message_id = {p} "
    "WHERE id = {p} AND lease_owner = {p} AND status = '{pending}'"
)
_MARK_SKIPPED_SQL = (
    "UPDATE deliveries SET status = '{skipped}', last_error = {p}, lease_until = NULL, "
    "attempts = attempts + 1 WHERE id = {p} AND lease_owner = {p} AND status = '{pending}'"
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
            sql.format(p=placeholder, **_STATUSES) for sql in (_CHECK_SQL, _MARK_SENT_SQL, _MARK_SKIPPED_SQL, _TAKE_SQL)
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
