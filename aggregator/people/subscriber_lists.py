"""Subscribers for an admin's screen: search and filter, one person's record, CSV in (with a dry run) and out."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, String, cast, func, or_, select

from aggregator.config.taxonomy import Taxonomy
from aggregator.db.schema import consent_events, deliveries, issues, subscribers
from aggregator.errors import ConfigError
from aggregator.people.subscriber_admin import find_subscriber, import_csv
from aggregator.people.subscriber_base import ImportReport, Subscriber, _subscriber

PAGE = 50
STATUSES = ("pending", "active", "paused", "unsubscribed", "bounced")
CSV_COLUMNS = ("email", "status", "audiences", "themes", "origin", "created_at", "confirmed_at", "unsubscribed_at")


@dataclass(frozen=True, slots=True)
class SubscriberPage:
    rows: tuple[Subscriber, ...]
    total: int  # matching the filters, over every page
    counts: Mapping[str, int]  # every subscriber by status (the filter's figures)


@dataclass(frozen=True, slots=True)
class LedgerRow:
    at: datetime
    action: str
    origin: str
    wording_version: str
    detail: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    month: str
    status: str
    sent_at: datetime | None
    attempts: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class SubscriberRecord:
    subscriber: Subscriber
    ledger: tuple[LedgerRow, ...]
    deliveries: tuple[DeliveryRow, ...]


def search_subscribers(
    conn: Connection,
    *,
    query: str = "",
    status: str = "",
    preference: str = "",
    offset: int = 0,
    limit: int = PAGE,
) -> SubscriberPage:
    """Subscribers whose address contains `query`, of one status, choosing one audience or theme id
    (`preference`; "everything" means those who left both empty), by address."""
    where = []
    if query.strip():
        where.append(subscribers.c.email.contains(query.strip().lower(), autoescape=True))
    if status:
        where.append(subscribers.c.status == status)
    if preference == "everything":
        where.append(cast(subscribers.c.audiences, String) == "[]")
        where.append(cast(subscribers.c.themes, String) == "[]")
    elif preference:
        quoted = f'%"{preference}"%'  # an id inside the JSON list; ids are slugs, so no quote or wildcard in them
        where.append(
            or_(cast(subscribers.c.audiences, String).like(quoted), cast(subscribers.c.themes, String).like(quoted))
        )
    total = conn.execute(select(func.count()).select_from(subscribers).where(*where)).scalar_one()
    rows = conn.execute(
        select(subscribers).where(*where).order_by(subscribers.c.email).offset(max(offset, 0)).limit(limit)
    )
    counts = dict(conn.execute(select(subscribers.c.status, func.count()).group_by(subscribers.c.status)).all())
    return SubscriberPage(tuple(_subscriber(row) for row in rows), total, counts)


def find_subscriber_by_id(conn: Connection, subscriber_id: int) -> Subscriber | None:
    row = conn.execute(select(subscribers).where(subscribers.c.id == subscriber_id)).one_or_none()
    return _subscriber(row) if row is not None else None


def subscriber_record(conn: Connection, subscriber_id: int) -> SubscriberRecord | None:
    """One person: their row, the whole consent ledger (oldest first) and every delivery, or None."""
    subscriber = find_subscriber_by_id(conn, subscriber_id)
    if subscriber is None:
        return None
    ledger = conn.execute(
        select(consent_events)
        .where(consent_events.c.subscriber_id == subscriber_id)
        .order_by(consent_events.c.at, consent_events.c.id)
    )
    sent = conn.execute(
        select(
            issues.c.month, deliveries.c.status, deliveries.c.sent_at, deliveries.c.attempts, deliveries.c.last_error
        )
        .join(issues, issues.c.id == deliveries.c.issue_id)
        .where(deliveries.c.subscriber_id == subscriber_id)
        .order_by(issues.c.month.desc())
    )
    return SubscriberRecord(
        subscriber,
        tuple(LedgerRow(r.at, r.action, r.origin, r.wording_version, dict(r.detail or {})) for r in ledger),
        tuple(DeliveryRow(r.month, r.status, r.sent_at, r.attempts, r.last_error) for r in sent),
    )


def email_of(conn: Connection, subscriber_id: int) -> str | None:
    found = find_subscriber_by_id(conn, subscriber_id)
    return found.email if found else None


def import_rows(
    engine: Engine,
    rows: Iterable[Mapping[str, str | None]],
    basis: str,
    now: datetime,
    *,
    taxonomy: Taxonomy,
    dry_run: bool,
) -> ImportReport:
    """`import_csv` in its own transaction; a dry run reports the same figures and then rolls everything back."""
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            report = import_csv(conn, rows, basis, now, taxonomy=taxonomy)
        except BaseException:
            transaction.rollback()
            raise
        if dry_run:
            transaction.rollback()
        else:
            transaction.commit()
    return report


def parse_csv_rows(text: str, name: str = "the file") -> list[dict[str, str | None]]:
    """The rows of CSV text keyed by lower-case header names; ConfigError when there is no `email` column."""
    try:
        reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
        header = [(field or "").strip().lower() for field in reader.fieldnames or ()]
        if "email" not in header:
            raise ConfigError(
                "the first row must be a header with an `email` column", path=name, line=1, hint="e.g. `email,themes`"
            )
        reader.fieldnames = header
        return [{key: value for key, value in row.items() if isinstance(key, str)} for row in reader]
    except csv.Error as exc:
        raise ConfigError(f"not a readable CSV file: {exc}", path=name) from None


def export_csv(conn: Connection, *, status: str = "") -> str:
    """Every subscriber (optionally of one status) as CSV, preferences as ';'-separated ids; cells that a
    spreadsheet would run as a formula are prefixed with an apostrophe."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    query = select(subscribers).order_by(subscribers.c.email)
    if status:
        query = query.where(subscribers.c.status == status)
    for row in conn.execute(query):
        person = _subscriber(row)
        writer.writerow(
            [
                _cell(person.email),
                person.status,
                ";".join(person.audiences),
                ";".join(person.themes),
                person.origin,
                *(value.isoformat() if value else "" for value in (person.created_at, person.confirmed_at)),
                person.unsubscribed_at.isoformat() if person.unsubscribed_at else "",
            ]
        )
    return out.getvalue()


def _cell(value: str) -> str:
    # OWASP "CSV injection": a leading = + - @ tab or CR makes spreadsheets evaluate the cell
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


__all__ = ["STATUSES", "SubscriberRecord", "find_subscriber", "search_subscribers", "subscriber_record"]
