"""The editors' controls over a send: start it now, pause and resume it, and its progress from the deliveries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select, update

from aggregator.db.schema import issues
from aggregator.digest.deliveries import count_by_status, start_sending
from aggregator.digest.errors import SendStateError
from aggregator.model import DeliveryStatus, IssueStatus
from aggregator.review.lifecycle import record_audit


@dataclass(frozen=True, slots=True)
class SendProgress:
    """Where an issue's send is, counted from its deliveries (one per subscriber)."""

    issue_id: int
    month: str
    status: str
    paused: bool
    send_at: datetime | None
    sent_at: datetime | None
    total: int
    sent: int
    pending: int
    failed: int  # refused for good, or parked after unconfirmed tries
    bounced: int
    skipped: int  # left before their message went

    @property
    def is_sent(self) -> bool:
        return self.status == IssueStatus.SENT

    @property
    def done(self) -> int:
        return self.total - self.pending

    def as_dict(self) -> dict[str, object]:
        return {
            "status": self.status,
            "paused": self.paused,
            "total": self.total,
            "sent": self.sent,
            "pending": self.pending,
            "failed": self.failed,
            "bounced": self.bounced,
            "skipped": self.skipped,
        }


def send_progress(conn: Connection, issue_id: int) -> SendProgress:
    """The issue's send as it stands; SendStateError when there is no such issue."""
    row = conn.execute(
        select(issues.c.month, issues.c.status, issues.c.paused_at, issues.c.send_at, issues.c.sent_at).where(
            issues.c.id == issue_id
        )
    ).one_or_none()
    if row is None:
        raise SendStateError(f"there is no issue {issue_id}")
    counts = count_by_status(conn, issue_id)
    return SendProgress(
        issue_id,
        row.month,
        row.status,
        row.paused_at is not None,
        row.send_at,
        row.sent_at,
        sum(counts.values()),
        counts.get(DeliveryStatus.SENT, 0),
        counts.get(DeliveryStatus.PENDING, 0),
        counts.get(DeliveryStatus.FAILED, 0) + counts.get(DeliveryStatus.PARKED, 0),
        counts.get(DeliveryStatus.BOUNCED, 0),
        counts.get(DeliveryStatus.SKIPPED, 0),
    )


def start_send_now(conn: Connection, issue_id: int, *, user_id: int, now: datetime) -> bool:
    """Move an approved issue to sending now, with a pending delivery per active subscriber; audited.

    Idempotent: an issue already sending or sent is left as it is and False is returned, so a second
    click (or a second editor) starts nothing more. A draft is refused: it must be approved first."""
    status = conn.execute(select(issues.c.status).where(issues.c.id == issue_id)).scalar_one_or_none()
    if status is None:
        raise SendStateError(f"there is no issue {issue_id}")
    if status == IssueStatus.DRAFT:
        raise SendStateError("this issue is a draft", hint="approve it for sending first")
    if status != IssueStatus.APPROVED:
        return False
    if start_sending(conn, issue_id, now) != IssueStatus.SENDING:
        return False
    conn.execute(update(issues).where(issues.c.id == issue_id).values(send_at=now, paused_at=None))
    record_audit(conn, user_id=user_id, action="issue-send-now", subject_type="issue", subject_id=issue_id, now=now)
    return True


def pause_send(conn: Connection, issue_id: int, *, user_id: int, now: datetime) -> bool:
    """Pause a send: its senders stop after the message in hand and none takes it up until it is resumed.
    True when this paused it (False: already paused); SendStateError unless it is sending."""
    _require_sending(conn, issue_id)
    changed = conn.execute(
        update(issues).where(issues.c.id == issue_id, issues.c.paused_at.is_(None)).values(paused_at=now)
    ).rowcount
    if changed:
        record_audit(conn, user_id=user_id, action="issue-pause", subject_type="issue", subject_id=issue_id, now=now)
    return bool(changed)


def resume_send(conn: Connection, issue_id: int, *, user_id: int, now: datetime) -> bool:
    """Lift a pause (the caller starts a sender again); True when it was paused."""
    _require_sending(conn, issue_id)
    changed = conn.execute(
        update(issues).where(issues.c.id == issue_id, issues.c.paused_at.is_not(None)).values(paused_at=None)
    ).rowcount
    if changed:
        record_audit(conn, user_id=user_id, action="issue-resume", subject_type="issue", subject_id=issue_id, now=now)
    return bool(changed)


def is_paused(conn: Connection, issue_id: int) -> bool:
    """True while an editor has paused the issue's send."""
    return conn.execute(select(issues.c.paused_at).where(issues.c.id == issue_id)).scalar_one_or_none() is not None


def _require_sending(conn: Connection, issue_id: int) -> None:
    status = conn.execute(select(issues.c.status).where(issues.c.id == issue_id)).scalar_one_or_none()
    if status is None:
        raise SendStateError(f"there is no issue {issue_id}")
    if status != IssueStatus.SENDING:
        raise SendStateError(f"this issue is {status}, not sending", hint="only a send under way can be paused")
