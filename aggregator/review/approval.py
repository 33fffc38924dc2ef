"""Who may approve an issue for sending: an admin, or (when enabled) an editor who did not make the last change."""

from __future__ import annotations

from sqlalchemy import Connection, select

from aggregator.db.schema import audit_log, issues
from aggregator.errors import AggregatorError
from aggregator.model import IssueStatus


class IssueNotFound(AggregatorError):
    """The issue asked for does not exist."""


def last_editor(conn: Connection, issue_id: int) -> int | None:
    """The id of the user who last prepared or edited the issue, or None."""
    return conn.execute(
        select(audit_log.c.user_id)
        .where(
            audit_log.c.subject_type == "issue",
            audit_log.c.subject_id == str(issue_id),
            audit_log.c.action.in_(("issue-edit", "issue-prepare")),
        )
        .order_by(audit_log.c.id.desc())
        .limit(1)
    ).scalar()


def approval_refusal(
    conn: Connection, issue_id: int, *, user_id: int, is_admin: bool, second_editor_approval: bool
) -> str | None:
    """Why this user may not approve the issue for sending, or None when they may."""
    if is_admin:
        return None
    if not second_editor_approval:
        return "Only an admin can approve an issue for sending."
    if last_editor(conn, issue_id) == user_id:
        return "You made the last change to this issue, so another editor or an admin must approve it."
    return None


def require_draft(conn: Connection, issue_id: int) -> None:
    """Raise unless the issue exists and is still a draft (only drafts are edited)."""
    status = conn.execute(select(issues.c.status).where(issues.c.id == issue_id)).scalar_one_or_none()
    if status is None:
        raise IssueNotFound(f"no issue with id {issue_id}")
    if status != IssueStatus.DRAFT:
        raise AggregatorError("this issue is no longer a draft: put it back to draft to change it")
