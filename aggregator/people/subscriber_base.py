"""The subscriber record, its errors, the address check and the one writer of the consent ledger."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Connection, insert

from aggregator.db.schema import consent_events
from aggregator.errors import AggregatorError

EMAIL_MAX = 254  # RFC 5321 4.5.3.1.3: the longest path a server must accept, brackets excluded


class SubscriberError(AggregatorError):
    """A subscriber operation that cannot be done as asked."""

    hint = "check the address with `aggregator subscribers list`"


class EmailInputError(SubscriberError):
    """An email address that cannot be accepted; the message is written for the person who typed it."""

    hint = "type the address as name@example.org"


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


def _new_version(old: int | None = None) -> int:
    # Random, not 1, 2, 3: SQLite may give an erased subscriber's id to the next one, and their old links
    # must not work for the newcomer.
    while (version := secrets.randbelow(2**31 - 2) + 1) == old:
        pass
    return version


def _ids(values: Iterable[str]) -> list[str]:
    return sorted(set(values))


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
