"""Subscribers and their consent: double opt-in, preferences, pause, unsubscribe, the ledger, export, erase and import."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Connection, and_, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from aggregator.config.taxonomy import Taxonomy
from aggregator.db.schema import audit_log, consent_events, deliveries, issues, subscribers
from aggregator.errors import AggregatorError
from aggregator.people.tokens import TokenData, TokenError

EMAIL_MAX = 254  # RFC 5321 4.5.3.1.3: the longest path a server must accept, brackets excluded
BASIS_MAX = 500
MAIL_INTERVAL = timedelta(minutes=10)  # at most one confirmation mail per address in this time ...
MAILS_PER_DAY = 3  # ... and this many in 24 hours, counted from the ledger (stored state, every worker sees it)
IMPORT_WORDING = "not shown (import)"  # imported people never saw our form; their basis is in the detail
_LIST_SPLIT = re.compile(r"[;|,\s]+")

# Which statuses each status may move to; a change is one conditional UPDATE, so races change nothing twice.
SUBSCRIBER_TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"active", "unsubscribed"}),
    "active": frozenset({"paused", "unsubscribed", "bounced"}),
    "paused": frozenset({"active", "unsubscribed", "bounced"}),
    "unsubscribed": frozenset({"pending"}),  # subscribing again: a new double opt-in
    "bounced": frozenset({"pending", "unsubscribed"}),
}


class SubscriberError(AggregatorError):
    """A subscriber operation that cannot be done as asked."""

    hint = "check the address with `aggregator subscribers list`"


class EmailInputError(SubscriberError):
    """An email address that cannot be accepted; the message is written for the person who typed it."""

    hint = "type the address as name@example.org"


class StaleLinkError(TokenError):
    """A correctly signed link that names nobody now: the subscriber was erased, or a newer link replaced it."""


@dataclass(frozen=True, slots=True)
class Subscriber:
    id: int
    email: str
    status: str  # pending | active | paused | unsubscribed | bounced
    audiences: tuple[str, ...]
    themes: tuple[str, ...]
    origin: str  # form | import
    token_version: int
    created_at: datetime
    confirmed_at: datetime | None
    unsubscribed_at: datetime | None
    bounce_count: int


@dataclass(frozen=True, slots=True)
class SubscribeOutcome:
    """What a subscribe request did. The public reply is the same whatever `result` is."""

    result: Literal["new", "resend", "active", "throttled"]
    subscriber_id: int | None
    token_version: int

    @property
    def should_mail(self) -> bool:
        """True when a confirmation mail is due now (a new or repeated request within the mail limits)."""
        return self.result in ("new", "resend")


@dataclass(frozen=True, slots=True)
class Change:
    """A subscriber after an action, and whether the action changed anything (and wrote a ledger row)."""

    subscriber: Subscriber
    changed: bool


@dataclass(frozen=True, slots=True)
class InvalidRow:
    line: int  # in the CSV file, the header being line 1
    reason: str


@dataclass(frozen=True, slots=True)
class ImportReport:
    imported: int
    existing: int  # already subscribed (or earlier in the same file): left untouched
    invalid: tuple[InvalidRow, ...]


def normalize_email(text: str) -> str:
    """The address as stored (validated, lower-case); EmailInputError with a plain-words message otherwise."""
    if "\r" in text or "\n" in text:
        raise EmailInputError("An email address is a single line: remove the line break.")
    text = text.strip(" \t")
    if not text:
        raise EmailInputError("Enter your email address.")
    if len(text) > EMAIL_MAX:
        raise EmailInputError(f"That is too long for an email address: the limit is {EMAIL_MAX} characters.")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise EmailInputError("The email address contains a control character: type it again.")
    try:
        # no DNS lookups; SMTPUTF8 off because the digest's headers are plain ASCII
        valid = validate_email(text, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise EmailInputError(f"Check the email address: {exc}") from None
    return valid.normalized.lower()


def subscribe(
    conn: Connection,
    email: str,
    audiences: Iterable[str],
    themes: Iterable[str],
    now: datetime,
    *,
    wording_version: str,
    origin: str = "form",
) -> SubscribeOutcome:
    """Record an opt-in request. A new or lapsed address becomes pending (old links stop working); a pending
    one gets its confirmation again, within MAIL_INTERVAL/MAILS_PER_DAY; active and paused are left alone."""
    email = normalize_email(email)
    chosen = {"audiences": _ids(audiences), "themes": _ids(themes)}
    row = conn.execute(select(subscribers).where(subscribers.c.email == email).with_for_update()).one_or_none()
    if row is None:
        version = _new_version()
        dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
        subscriber_id = conn.execute(
            dialect.insert(subscribers)
            .values(
                email=email,
                status="pending",
                created_at=now,
                origin=origin,
                token_version=version,
                bounce_count=0,
                **chosen,
            )
            .on_conflict_do_nothing(index_elements=["email"])
            .returning(subscribers.c.id)
        ).scalar()
        if subscriber_id is None:  # a concurrent request for the same address got there first: it mails
            return SubscribeOutcome("throttled", None, 0)
        _record(conn, subscriber_id, now, "opt-in", origin, wording_version, chosen)
        return SubscribeOutcome("new", subscriber_id, version)
    if row.status in ("active", "paused"):
        return SubscribeOutcome("active", row.id, row.token_version)
    if not _may_mail(conn, row.id, now):
        return SubscribeOutcome("throttled", row.id, row.token_version)
    values: dict[str, Any] = dict(chosen)
    if row.status != "pending":
        values.update(status="pending", origin=origin, token_version=_new_version(row.token_version))
    conn.execute(update(subscribers).where(subscribers.c.id == row.id).values(**values))
    _record(conn, row.id, now, "opt-in", origin, wording_version, {**chosen, "previous_status": row.status})
    return SubscribeOutcome("resend", row.id, values.get("token_version", row.token_version))


def subscriber_for_token(conn: Connection, token: TokenData) -> Subscriber:
    """The subscriber a link names, if it is still theirs; StaleLinkError when erased or revoked."""
    row = conn.execute(select(subscribers).where(subscribers.c.id == token.subscriber_id)).one_or_none()
    if row is None or row.token_version != token.token_version:
        raise StaleLinkError("this link is not valid any more")
    return _subscriber(row)


def confirm(conn: Connection, token: TokenData, now: datetime, *, wording_version: str) -> Change:
    """pending -> active, once; a second use, or a link from before a new subscription, changes nothing."""
    return _move(
        conn,
        token,
        "active",
        "confirm",
        "link",
        wording_version,
        now,
        only_from=("pending",),
        extra={"confirmed_at": now, "unsubscribed_at": None, "bounce_count": 0},
    )


def pause(conn: Connection, token: TokenData, now: datetime, *, wording_version: str) -> Change:
    return _move(conn, token, "paused", "pause", "link", wording_version, now)


def resume(conn: Connection, token: TokenData, now: datetime, *, wording_version: str) -> Change:
    return _move(conn, token, "active", "resume", "link", wording_version, now, only_from=("paused",))


def unsubscribe(
    conn: Connection, token: TokenData, now: datetime, *, wording_version: str, origin: str = "link"
) -> Change:
    """Takes effect at once (the sender checks the status before each message); idempotent: a repeat
    changes nothing and writes no second ledger row."""
    return _move(
        conn, token, "unsubscribed", "unsubscribe", origin, wording_version, now, extra={"unsubscribed_at": now}
    )


def update_preferences(
    conn: Connection,
    token: TokenData,
    audiences: Iterable[str],
    themes: Iterable[str],
    now: datetime,
    *,
    wording_version: str,
) -> Change:
    """New audiences and themes (empty: everything) for a subscriber who has not left; a no-op writes nothing."""
    subscriber = subscriber_for_token(conn, token)
    chosen = {"audiences": _ids(audiences), "themes": _ids(themes)}
    if subscriber.status in ("unsubscribed", "bounced"):
        raise SubscriberError("an unsubscribed address has no preferences", hint="subscribe again first")
    if (list(subscriber.audiences), list(subscriber.themes)) == (chosen["audiences"], chosen["themes"]):
        return Change(subscriber, False)
    done = conn.execute(
        update(subscribers)
        .where(
            subscribers.c.id == token.subscriber_id,
            subscribers.c.token_version == token.token_version,
        )
        .values(**chosen)
    ).rowcount
    if not done:
        raise StaleLinkError("this link is not valid any more")
    _record(
        conn,
        subscriber.id,
        now,
        "preferences",
        "link",
        wording_version,
        {**chosen, "before": {"audiences": list(subscriber.audiences), "themes": list(subscriber.themes)}},
    )
    return Change(subscriber_for_token(conn, token), True)


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


def _move(
    conn: Connection,
    token: TokenData,
    new: str,
    action: str,
    origin: str,
    wording_version: str,
    now: datetime,
    *,
    extra: Mapping[str, Any] | None = None,
    only_from: tuple[str, ...] | None = None,
) -> Change:
    """One status change as a compare-and-set on (id, token_version, allowed old status), with its ledger row."""
    subscriber = subscriber_for_token(conn, token)
    allowed = only_from or tuple(old for old, targets in SUBSCRIBER_TRANSITIONS.items() if new in targets)
    if subscriber.status not in allowed:
        return Change(subscriber, False)
    done = conn.execute(
        update(subscribers)
        .where(
            and_(
                subscribers.c.id == token.subscriber_id,
                subscribers.c.token_version == token.token_version,
                subscribers.c.status == subscriber.status,
            )
        )
        .values(status=new, **(extra or {}))
    ).rowcount
    if not done:  # changed by someone else meanwhile: report what is there now
        return Change(subscriber_for_token(conn, token), False)
    _record(conn, subscriber.id, now, action, origin, wording_version, {"from": subscriber.status})
    return Change(subscriber_for_token(conn, token), True)


def _record(
    conn: Connection,
    subscriber_id: int,
    now: datetime,
    action: str,
    origin: str,
    wording_version: str,
    detail: Mapping[str, Any],
) -> None:
    conn.execute(
        insert(consent_events).values(
            subscriber_id=subscriber_id,
            at=now,
            action=action,
            origin=origin,
            wording_version=wording_version,
            detail=dict(detail),
        )
    )


def _may_mail(conn: Connection, subscriber_id: int, now: datetime) -> bool:
    recent = (
        conn.execute(
            select(consent_events.c.at).where(
                consent_events.c.subscriber_id == subscriber_id,
                consent_events.c.action == "opt-in",
                consent_events.c.at > now - timedelta(days=1),
            )
        )
        .scalars()
        .all()
    )
    return len(recent) < MAILS_PER_DAY and all(at <= now - MAIL_INTERVAL for at in recent)


def _new_version(old: int | None = None) -> int:
    # Random, not 1, 2, 3: SQLite may give an erased subscriber's id to the next one, and their old links
    # must not work for the newcomer.
    while (version := secrets.randbelow(2**31 - 2) + 1) == old:
        pass
    return version


def _ids(values: Iterable[str]) -> list[str]:
    return sorted(set(values))


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


def _subscriber(row: Any) -> Subscriber:
    return Subscriber(
        row.id,
        row.email,
        row.status,
        tuple(row.audiences or ()),
        tuple(row.themes or ()),
        row.origin,
        row.token_version,
        row.created_at,
        row.confirmed_at,
        row.unsubscribed_at,
        row.bounce_count,
    )


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value.isoformat() if isinstance(value, datetime) else list(value) if isinstance(value, tuple) else value
        for key, value in values.items()
    }
