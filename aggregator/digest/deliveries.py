"""The deliveries table as the sending engine uses it: one row per (issue, subscriber), claimed under a lease.

Exactly-once as far as SMTP allows: a row is marked sent in its own transaction right after the
server's 250 for it, and only by the worker holding its lease. A worker only sends a message whose
lease it still holds with time to spare, so an expired lease cannot be reclaimed by another worker
while its message is on the wire. The one duplicate SMTP cannot rule out is a message whose 250
was lost, or whose worker died between the 250 and that commit: at most one message per worker.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, case, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from aggregator.db.schema import deliveries, issues, subscribers
from aggregator.digest.errors import SendStateError
from aggregator.digest.statements import SendStatements, Target, sending_connection  # noqa: F401 (re-exported)
from aggregator.model import DeliveryStatus, IssueStatus, SubscriberStatus
from aggregator.review.lifecycle import TransitionError, change_issue_status


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


def check_target(conn: Connection, delivery_id: int, owner: str, now: datetime) -> Target | None:
    """SendStatements.check on its own (the web app's tests, one-off checks)."""
    return SendStatements(conn, owner).check(delivery_id)


def mark_failed(
    conn: Connection, target: Target, owner: str, error: str, *, bounce: bool, hard_bounce_after: int
) -> None:
    """The message was refused for good; a refused address counts a bounce, and is marked bounced at the limit."""
    status = DeliveryStatus.BOUNCED if bounce else DeliveryStatus.FAILED
    _finish(conn, target.delivery_id, owner, status=status, now=None, error=error[:500], answered=True)
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
