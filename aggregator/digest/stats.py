"""The figures editors look at: each sent issue's recipients, deliveries, failures, bounces and unsubscribes
within a week, subscribers month by month, and resources each source listed month by month."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, case, distinct, func, or_, select

from aggregator.db.schema import consent_events, deliveries, entries, issues, subscribers
from aggregator.model import DeliveryStatus, IssueStatus

WEEK = timedelta(days=7)
LEAVING = ("unsubscribe", "complaint")  # consent_events actions that end a subscription
BOUNCES = ("bounce",)  # hard bounces read back from the mailbox (aggregator.digest.mailin)


@dataclass(frozen=True, slots=True)
class IssueFigures:
    issue_id: int
    month: str
    status: str
    sent_at: datetime | None
    recipients: int
    delivered: int  # accepted by the mail server
    failed: int
    bounced: int  # refused when sent, or reported back by mail within a week
    unsubscribed: int  # recipients who left within a week of the send


@dataclass(frozen=True, slots=True)
class MonthSeries:
    """One value per month, oldest first (months as YYYY-MM)."""

    name: str
    months: tuple[str, ...]
    values: tuple[int, ...]


def issue_figures(conn: Connection, *, limit: int = 12) -> list[IssueFigures]:
    """The newest issues that went out (sending or sent), newest first."""
    rows = conn.execute(
        select(issues.c.id, issues.c.month, issues.c.status, issues.c.sent_at, issues.c.send_at)
        .where(issues.c.status.in_((IssueStatus.SENDING, IssueStatus.SENT)))
        .order_by(issues.c.month.desc())
        .limit(limit)
    ).all()
    return [_figures(conn, row) for row in rows]


def _figures(conn: Connection, row) -> IssueFigures:
    counts = dict(
        conn.execute(
            select(deliveries.c.status, func.count())
            .where(deliveries.c.issue_id == row.id)
            .group_by(deliveries.c.status)
        ).all()
    )
    start = row.send_at or row.sent_at
    later_bounces = left = 0
    if start is not None:
        later_bounces = _recipients_with(conn, row.id, BOUNCES, start, DeliveryStatus.SENT)
        left = _recipients_with(conn, row.id, LEAVING, start, None)
    return IssueFigures(
        row.id,
        row.month,
        row.status,
        row.sent_at,
        sum(counts.values()),
        counts.get(DeliveryStatus.SENT, 0),
        counts.get(DeliveryStatus.FAILED, 0) + counts.get(DeliveryStatus.PARKED, 0),
        counts.get(DeliveryStatus.BOUNCED, 0) + later_bounces,
        left,
    )


def _recipients_with(
    conn: Connection, issue_id: int, actions: tuple[str, ...], start: datetime, delivery_status: str | None
) -> int:
    """How many of the issue's recipients have a ledger entry among `actions` in the week after `start`."""
    query = (
        select(func.count(distinct(consent_events.c.subscriber_id)))
        .select_from(consent_events.join(deliveries, deliveries.c.subscriber_id == consent_events.c.subscriber_id))
        .where(
            deliveries.c.issue_id == issue_id,
            consent_events.c.action.in_(actions),
            consent_events.c.at >= start,
            consent_events.c.at < start + WEEK,
        )
    )
    if delivery_status is not None:
        query = query.where(deliveries.c.status == delivery_status)
    return conn.execute(query).scalar_one()


def month_bounds(now: datetime, zone: ZoneInfo, count: int) -> list[tuple[str, datetime, datetime]]:
    """The last `count` months up to `now`'s, oldest first, as (YYYY-MM, start, end) in `zone`."""
    local = now.astimezone(zone)
    year, month = local.year, local.month
    months = []
    for _ in range(count):
        start = datetime(year, month, 1, tzinfo=zone)
        end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=zone)
        months.append((f"{year:04d}-{month:02d}", start, end))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return months[::-1]


def subscribers_by_month(conn: Connection, now: datetime, zone: ZoneInfo, count: int = 12) -> MonthSeries:
    """Confirmed subscribers at the end of each month (bounced addresses still count: they carry no date)."""
    bounds = month_bounds(now, zone, count)
    columns = [
        func.sum(
            case(
                (
                    and_(
                        subscribers.c.confirmed_at < end,
                        or_(subscribers.c.unsubscribed_at.is_(None), subscribers.c.unsubscribed_at >= end),
                    ),
                    1,
                ),
                else_=0,
            )
        )
        for _, _, end in bounds
    ]
    row = conn.execute(select(*columns)).one()
    return MonthSeries("subscribers", tuple(m for m, _, _ in bounds), tuple(int(v or 0) for v in row))


def entries_by_source_month(conn: Connection, now: datetime, zone: ZoneInfo, count: int = 12) -> list[MonthSeries]:
    """How many entries each source listed for the first time in each month (one scan, grouped by source)."""
    bounds = month_bounds(now, zone, count)
    columns = [
        func.sum(case((and_(entries.c.first_seen_at >= start, entries.c.first_seen_at < end), 1), else_=0))
        for _, start, end in bounds
    ]
    rows = conn.execute(
        select(entries.c.source_id, *columns)
        .where(entries.c.first_seen_at >= bounds[0][1])
        .group_by(entries.c.source_id)
        .order_by(entries.c.source_id)
    ).all()
    months = tuple(m for m, _, _ in bounds)
    return [MonthSeries(row[0], months, tuple(int(v or 0) for v in row[1:])) for row in rows]
