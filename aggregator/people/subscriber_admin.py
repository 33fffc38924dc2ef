"""An admin's work on subscribers: find, list, one person's record, export, erase and CSV import (CLI and web)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from aggregator.config.taxonomy import Taxonomy
from aggregator.db.schema import audit_log, consent_events, deliveries, issues, subscribers
from aggregator.people.subscriber_base import (
    ImportReport,
    InvalidRow,
    Subscriber,
    SubscriberError,
    _ids,
    _new_version,
    _record,
    _subscriber,
    normalize_email,
)

BASIS_MAX = 500
IMPORT_WORDING = "not shown (import)"  # imported people never saw our form; their basis is in the detail
_LIST_SPLIT = re.compile(r"[;|,\s]+")


def find_subscriber(conn: Connection, email: str) -> Subscriber:
    row = conn.execute(select(subscribers).where(subscribers.c.email == normalize_email(email))).one_or_none()
    if row is None:
        raise SubscriberError(f"no subscriber with the address {email}")
    return _subscriber(row)


def list_subscribers(conn: Connection, status: str | None = None) -> list[Subscriber]:
    query = select(subscribers).order_by(subscribers.c.email)
    if status is not None:
        query = query.where(subscribers.c.status == status)
    return [_subscriber(row) for row in conn.execute(query)]


def export_subscriber(conn: Connection, email: str) -> dict[str, Any]:
    """Everything held about one subscriber, JSON-ready: the row, the whole consent ledger, the deliveries."""
    subscriber = find_subscriber(conn, email)
    ledger = conn.execute(
        select(consent_events)
        .where(consent_events.c.subscriber_id == subscriber.id)
        .order_by(consent_events.c.at, consent_events.c.id)
    ).mappings()
    sent = conn.execute(
        select(issues.c.month, deliveries.c.status, deliveries.c.sent_at, deliveries.c.message_id)
        .join(issues, issues.c.id == deliveries.c.issue_id)
        .where(deliveries.c.subscriber_id == subscriber.id)
        .order_by(issues.c.month)
    ).mappings()
    return {
        "subscriber": _jsonable({name: getattr(subscriber, name) for name in Subscriber.__slots__}),
        "consent_events": [_jsonable(dict(event)) for event in ledger],
        "deliveries": [_jsonable(dict(delivery)) for delivery in sent],
    }


def erase_subscriber(conn: Connection, email: str) -> int:
    """Delete the subscriber, their ledger, their deliveries and audit lines about them; returns the old id.
    Nothing identifying is kept, not even a tally (their signed links then name nobody: StaleLinkError)."""
    subscriber = find_subscriber(conn, email)
    conn.execute(delete(deliveries).where(deliveries.c.subscriber_id == subscriber.id))
    conn.execute(delete(consent_events).where(consent_events.c.subscriber_id == subscriber.id))
    conn.execute(
        delete(audit_log).where(audit_log.c.subject_type == "subscriber", audit_log.c.subject_id == str(subscriber.id))
    )
    conn.execute(delete(subscribers).where(subscribers.c.id == subscriber.id))
    return subscriber.id


def import_csv(
    conn: Connection, rows: Iterable[Mapping[str, str | None]], basis: str, now: datetime, *, taxonomy: Taxonomy
) -> ImportReport:
    """Add an existing list as active subscribers (origin import, `basis` in each ledger row's detail).
    Rows need `email`, optionally `audiences` and `themes` (ids separated by ';', '|', ',' or spaces).
    Invalid rows are reported, not imported; addresses already known are left untouched."""
    basis = _check_basis(basis)
    known = {"audiences": set(taxonomy.ids("audience")), "themes": set(taxonomy.ids("theme"))}
    imported, existing, invalid, seen = 0, 0, [], set()
    for line, row in enumerate(rows, start=2):
        try:
            email = normalize_email(row.get("email") or "")
            chosen = {field: _split_ids(row.get(field), known[field], field) for field in known}
        except SubscriberError as exc:
            invalid.append(InvalidRow(line, exc.message))
            continue
        if email in seen or conn.execute(select(subscribers.c.id).where(subscribers.c.email == email)).first():
            existing += 1
            seen.add(email)
            continue
        seen.add(email)
        subscriber_id = conn.execute(
            insert(subscribers)
            .values(
                email=email,
                status="active",
                created_at=now,
                origin="import",
                token_version=_new_version(),
                bounce_count=0,
                **chosen,
            )
            .returning(subscribers.c.id)
        ).scalar_one()
        _record(conn, subscriber_id, now, "import", "import", IMPORT_WORDING, {"basis": basis, **chosen})
        imported += 1
    return ImportReport(imported, existing, tuple(invalid))


def _split_ids(cell: str | None, known: set[str], field: str) -> list[str]:
    ids = [part for part in _LIST_SPLIT.split(cell or "") if part]
    unknown = sorted(set(ids) - known)
    if unknown:
        raise SubscriberError(f"unknown {field}: {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    return _ids(ids)


def _check_basis(basis: str) -> str:
    basis = basis.strip()
    if not basis or "\r" in basis or "\n" in basis or len(basis) > BASIS_MAX:
        raise SubscriberError(
            "the consent basis must be one line of 1 to 500 characters",
            hint='say why these people may be mailed, e.g. --basis "opted in on the old list, 2024"',
        )
    return basis


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value.isoformat() if isinstance(value, datetime) else list(value) if isinstance(value, tuple) else value
        for key, value in values.items()
    }
