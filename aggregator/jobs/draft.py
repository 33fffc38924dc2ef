"""The month's draft prepared by the schedule on its day, recorded once, and the editors told by mail."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, String, cast, func, select

from aggregator.db.schema import audit_log, issue_items, issues
from aggregator.digest.issue import REMOVED, prepare_draft
from aggregator.errors import AggregatorError
from aggregator.review.lifecycle import record_audit
from aggregator.settings import Settings

DRAFT_ACTION = "draft-scheduled"  # audit_log action: the schedule prepared (and announced) a month's draft

logger = logging.getLogger(__name__)


class Notifier(Protocol):
    """Sends the editors' notification; the digest's Mailer adapts to it (TransportNotifier)."""

    def send(self, message: EmailMessage) -> None: ...


@dataclass(frozen=True, slots=True)
class DraftOutcome:
    month: str
    issue_id: int
    items: int
    notified: bool


def draft_month_due(engine: Engine, settings: Settings, now: datetime) -> str | None:
    """The month (YYYY-MM, in the schedule's time zone) whose draft the schedule should prepare now:
    from draft_day at draft_hour to the month's end, until the schedule has done it once."""
    schedule = settings.schedule
    local = now.astimezone(ZoneInfo(schedule.timezone))
    if (local.day, local.hour) < (schedule.draft_day, schedule.draft_hour):
        return None
    month = f"{local:%Y-%m}"
    done = (
        select(audit_log.c.id)
        .join(issues, audit_log.c.subject_id == cast(issues.c.id, String))
        .where(audit_log.c.action == DRAFT_ACTION, audit_log.c.subject_type == "issue", issues.c.month == month)
    )
    with engine.connect() as conn:
        return None if conn.execute(done.limit(1)).first() else month


def prepare_scheduled_draft(
    engine: Engine, settings: Settings, now: datetime, notifier: Notifier | None
) -> DraftOutcome | None:
    """Prepare the month's draft when it is due, record that in the audit log (in the same transaction,
    so it happens once), then tell the editors. None when nothing was due."""
    month = draft_month_due(engine, settings, now)
    if month is None:
        return None
    with engine.begin() as conn:
        issue_id = prepare_draft(conn, month, now)
        items = conn.execute(
            select(func.count())
            .select_from(issue_items)
            .where(issue_items.c.issue_id == issue_id, issue_items.c.section != REMOVED)
        ).scalar_one()
        record_audit(
            conn,
            user_id=None,
            action=DRAFT_ACTION,
            subject_type="issue",
            subject_id=issue_id,
            now=now,
            detail={"month": month, "items": items},
        )
    logger.info("draft prepared for %s", month, extra={"issue_id": issue_id, "count": items})
    notified = False
    if settings.schedule.editors_email and notifier is not None:
        try:
            notifier.send(draft_notice(settings, month, items, now))
            notified = True
        except (OSError, AggregatorError):  # the draft stands; the log says who to tell
            logger.exception("editors not notified of the %s draft", month, extra={"issue_id": issue_id})
    return DraftOutcome(month, issue_id, items, notified)


def draft_notice(settings: Settings, month: str, items: int, now: datetime) -> EmailMessage:
    """The editors' notification; every header is fixed text or comes from settings, never fetched text."""
    month_name = date.fromisoformat(month + "-01").strftime("%B %Y")
    message = EmailMessage()
    message["From"] = settings.mail.from_address
    message["To"] = settings.schedule.editors_email or ""
    message["Subject"] = f"Digest draft for {month_name} ready for review"
    message["Date"] = format_datetime(now.astimezone(UTC))
    message["Message-ID"] = make_msgid(idstring=f"draft-{month}")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(
        f"The draft of the {month_name} digest has been prepared with {items} approved resource"
        f"{'' if items == 1 else 's'}.\n\nReview, reorder and approve it in the web app:\n"
        f"{settings.base_url.rstrip('/')}/\n\n-- the aggregator's scheduler\n"
    )
    return message


class TransportNotifier:
    """Sends notifications through the digest's Mailer (mail.factory): SMTP when a host is configured, else
    .eml files in <outbox>/notifications/ (the embedded default)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, message: EmailMessage) -> None:
        from aggregator.digest.mail.factory import make_mailer

        settings = self.settings
        session = make_mailer(settings, "notifications").open()
        try:
            session.send(parseaddr(settings.mail.from_address)[1], parseaddr(message["To"])[1], bytes(message))
        finally:
            session.close()
