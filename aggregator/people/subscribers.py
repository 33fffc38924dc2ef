"""Subscribers and their consent: double opt-in, preferences, pause, unsubscribe (the person's own actions).

An admin's work (list, search, one person's record, export, erase, import) is in `subscriber_admin.py`, the
record and the ledger's writer in `subscriber_base.py`; both are re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, and_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from aggregator.db.schema import consent_events, subscribers
from aggregator.people.subscriber_admin import (
    BASIS_MAX,
    IMPORT_WORDING,
    erase_subscriber,
    export_subscriber,
    find_subscriber,
    import_csv,
    list_subscribers,
)
from aggregator.people.subscriber_base import (
    EMAIL_MAX,
    EmailInputError,
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
from aggregator.people.tokens import TokenData, TokenError

__all__ = [
    "BASIS_MAX",
    "EMAIL_MAX",
    "IMPORT_WORDING",
    "Change",
    "EmailInputError",
    "ImportReport",
    "InvalidRow",
    "StaleLinkError",
    "SubscribeOutcome",
    "Subscriber",
    "SubscriberError",
    "confirm",
    "erase_subscriber",
    "export_subscriber",
    "find_subscriber",
    "import_csv",
    "list_subscribers",
    "normalize_email",
    "pause",
    "resume",
    "subscribe",
    "subscriber_for_token",
    "unsubscribe",
    "update_preferences",
]

MAIL_INTERVAL = timedelta(minutes=10)  # at most one confirmation mail per address in this time ...
MAILS_PER_DAY = 3  # ... and this many in 24 hours, counted from the ledger (stored state, every worker sees it)

# Which statuses each status may move to; a change is one conditional UPDATE, so races change nothing twice.
SUBSCRIBER_TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"active", "unsubscribed"}),
    "active": frozenset({"paused", "unsubscribed", "bounced"}),
    "paused": frozenset({"active", "unsubscribed", "bounced"}),
    "unsubscribed": frozenset({"pending"}),  # subscribing again: a new double opt-in
    "bounced": frozenset({"pending", "unsubscribed"}),
}


class StaleLinkError(TokenError):
    """A correctly signed link that names nobody now: the subscriber was erased, or a newer link replaced it."""


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
