"""What comes back by mail: unsubscribe requests, DSN bounces (flufl.bounce) and ARF complaints, read into one
value and applied to the subscriber it names, each recorded in the consent ledger, once per message."""

from __future__ import annotations

import email
import email.policy
import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from email.utils import getaddresses

from flufl.bounce import all_failures
from sqlalchemy import Connection, func, insert, select, update

from aggregator.db.schema import consent_events, subscribers
from aggregator.digest.addresses import MailToken, find_token
from aggregator.digest.mail.factory import send_policy
from aggregator.model import SubscriberStatus
from aggregator.settings import Settings

logger = logging.getLogger(__name__)
ORIGIN = "mail-in"
# Where the address a mail was sent to shows up once it has been delivered into a mailbox.
_DELIVERED_TO = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "X-Delivered-To")
SOFT_BOUNCE_LIMIT = 3  # soft bounces (for different messages) after which an address counts one hard bounce


@dataclass(frozen=True, slots=True)
class MailIn:
    """One incoming mail as the aggregator understands it."""

    kind: str  # unsubscribe | hard-bounce | soft-bounce | complaint | unknown
    message_id: str
    token: MailToken | None = None  # the signed address it came to (or names), when it has one
    addresses: tuple[str, ...] = ()  # failed or complained-about recipient addresses
    detail: str = ""


@dataclass(frozen=True, slots=True)
class MailOutcome:
    message_id: str
    kind: str
    subscriber_ids: tuple[int, ...] = ()
    changed: bool = False  # False: nothing to do, or done already (the same message read twice)
    note: str = ""


@dataclass(frozen=True, slots=True)
class MailInReport:
    outcomes: tuple[MailOutcome, ...] = field(default_factory=tuple)

    def count(self, kind: str) -> int:
        return sum(o.kind == kind for o in self.outcomes)


def read_mail(raw: bytes, settings: Settings, secret: str) -> MailIn:
    """What `raw` is (pure): a complaint (ARF), a bounce (DSN and the other formats flufl.bounce reads), an
    unsubscribe request to a subscriber's signed address, or unknown."""
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    message_id = (message.get("Message-ID") or "").strip() or "sha256:" + hashlib.sha256(raw).hexdigest()
    bases = tuple(b for b in (settings.mail.bounce_address, settings.mail.unsubscribe_mailto) if b)
    token = find_token(_delivered_to(message), secret, bases)
    if _report_type(message) == "feedback-report":
        original = _original(message)
        token = token or (find_token(_list_unsubscribe(original), secret, bases) if original else None)
        recipients = tuple(a for _, a in getaddresses(original.get_all("To", []) if original else []) if a)
        return MailIn("complaint", message_id, token, recipients, "ARF feedback report")
    temporary, permanent = all_failures(message)
    if permanent or temporary or _report_type(message) == "delivery-status":
        failed = tuple(sorted(_text(a) for a in (permanent or temporary)))
        return MailIn(
            "hard-bounce" if permanent or not temporary else "soft-bounce",
            message_id,
            token if token and token.kind == "bounce" else None,
            failed,
            "permanent failure" if permanent else "temporary failure",
        )
    if token is not None and token.kind == "unsubscribe":
        return MailIn("unsubscribe", message_id, token, (), "mail to the List-Unsubscribe address")
    return MailIn("unknown", message_id, token, (), "neither a bounce, a complaint nor a signed request")


def apply_mail(conn: Connection, mail: MailIn, now: datetime, settings: Settings) -> MailOutcome:
    """Act on one mail: unsubscribe, count a bounce (suppressing at the configured count) or unsubscribe a
    complainer at once; a message already applied (by Message-ID in the ledger) changes nothing."""
    if mail.kind == "unknown":
        return MailOutcome(mail.message_id, mail.kind, note=mail.detail)
    ids = _subscriber_ids(conn, mail)
    if not ids:
        return MailOutcome(mail.message_id, mail.kind, note="names no subscriber of ours")
    changed = False
    for subscriber_id in ids:
        if _already_applied(conn, subscriber_id, mail.message_id):
            continue
        changed |= _apply_one(conn, subscriber_id, mail, now, settings)
    return MailOutcome(mail.message_id, mail.kind, ids, changed)


def _apply_one(conn: Connection, subscriber_id: int, mail: MailIn, now: datetime, settings: Settings) -> bool:
    status = conn.execute(select(subscribers.c.status).where(subscribers.c.id == subscriber_id)).scalar_one()
    detail = {"message_id": mail.message_id, "reason": mail.detail, "from": status}
    if mail.kind in ("unsubscribe", "complaint"):
        if status == SubscriberStatus.UNSUBSCRIBED:
            return False
        conn.execute(
            update(subscribers)
            .where(subscribers.c.id == subscriber_id)
            .values(status=SubscriberStatus.UNSUBSCRIBED, unsubscribed_at=now)
        )
        _record(
            conn, subscriber_id, now, "unsubscribe" if mail.kind == "unsubscribe" else "complaint", detail, settings
        )
        return True
    if mail.kind == "soft-bounce":
        _record(conn, subscriber_id, now, "soft-bounce", detail, settings)
        softs = conn.execute(
            select(func.count()).where(
                consent_events.c.subscriber_id == subscriber_id, consent_events.c.action == "soft-bounce"
            )
        ).scalar_one()
        if softs % SOFT_BOUNCE_LIMIT:  # backing off: a full mailbox often clears; only a run of them counts
            return True
    else:
        _record(conn, subscriber_id, now, "bounce", detail, settings)
    count = subscribers.c.bounce_count + 1
    conn.execute(update(subscribers).where(subscribers.c.id == subscriber_id).values(bounce_count=count))
    conn.execute(
        update(subscribers)
        .where(
            subscribers.c.id == subscriber_id,
            subscribers.c.status == SubscriberStatus.ACTIVE,
            subscribers.c.bounce_count >= send_policy(settings).hard_bounce_after,
        )
        .values(status=SubscriberStatus.BOUNCED)
    )
    return True


def _subscriber_ids(conn: Connection, mail: MailIn) -> tuple[int, ...]:
    if mail.token is not None:
        query = select(subscribers.c.id).where(subscribers.c.id == mail.token.subscriber_id)
        if mail.token.kind == "unsubscribe":  # a raised token version retires the old address
            query = query.where(subscribers.c.token_version == mail.token.token_version)
        return tuple(conn.execute(query).scalars())
    if mail.kind == "unsubscribe" or not mail.addresses:
        return ()
    # no signed address: the failed (or complained-about) recipients, if they are ours
    emails = [a.strip().lower() for a in mail.addresses]
    return tuple(
        conn.execute(
            select(subscribers.c.id).where(subscribers.c.email.in_(emails)).order_by(subscribers.c.id)
        ).scalars()
    )


def _already_applied(conn: Connection, subscriber_id: int, message_id: str) -> bool:
    rows = conn.execute(
        select(consent_events.c.detail).where(
            consent_events.c.subscriber_id == subscriber_id, consent_events.c.origin == ORIGIN
        )
    )
    return any((detail or {}).get("message_id") == message_id for (detail,) in rows)


def _record(conn: Connection, subscriber_id: int, now: datetime, action: str, detail: dict, settings: Settings) -> None:
    conn.execute(
        insert(consent_events).values(
            subscriber_id=subscriber_id,
            at=now,
            action=action,
            origin=ORIGIN,
            wording_version=settings.mail.wording_version,
            detail=detail,
        )
    )
    logger.info("mail-in %s", action, extra={"subscriber_id": subscriber_id, "message_id": detail["message_id"]})


def _report_type(message: Message) -> str:
    if message.get_content_type() != "multipart/report":
        return ""
    return str(message.get_param("report-type") or "").lower()


def _original(message: Message) -> Message | None:
    """The reported message inside an ARF report (message/rfc822, or only its headers)."""
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822" and part.is_multipart():
            return part.get_payload(0)
        if kind in ("text/rfc822-headers", "message/rfc822-headers"):
            return email.message_from_bytes(part.get_payload(decode=True) or b"", policy=email.policy.compat32)
    return None


def _delivered_to(message: Message) -> list[str]:
    return [str(v) for name in _DELIVERED_TO for v in message.get_all(name, [])]


def _list_unsubscribe(message: Message) -> list[str]:
    values = " ".join(str(v) for v in message.get_all("List-Unsubscribe", []))
    return [v.split(":", 1)[1].split("?", 1)[0] for v in _angled(values) if v.lower().startswith("mailto:")]


def _angled(text: str) -> Iterable[str]:
    for chunk in text.split("<")[1:]:
        yield chunk.split(">", 1)[0].strip()


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
