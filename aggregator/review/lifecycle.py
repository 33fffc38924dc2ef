"""Status lifecycles, checked in one place: resource pending -> approved | rejected; issue draft -> approved -> sending -> sent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from aggregator.db.schema import audit_log, issue_items, issues, resources
from aggregator.errors import AggregatorError
from aggregator.model import IssueStatus, ResourceStatus

RESOURCE_TRANSITIONS: dict[str, frozenset[str]] = {
    ResourceStatus.PENDING: frozenset({ResourceStatus.APPROVED, ResourceStatus.REJECTED}),
    # an editor may change their mind until it is sent
    ResourceStatus.APPROVED: frozenset({ResourceStatus.REJECTED, ResourceStatus.PENDING}),
    ResourceStatus.REJECTED: frozenset({ResourceStatus.APPROVED, ResourceStatus.PENDING}),
    ResourceStatus.MERGED: frozenset(),  # only a split brings a merged resource back (aggregator.dedupe.merge)
}
ISSUE_TRANSITIONS: dict[str, frozenset[str]] = {
    IssueStatus.DRAFT: frozenset({IssueStatus.APPROVED}),
    # back to draft to change it; sending when its time comes
    IssueStatus.APPROVED: frozenset({IssueStatus.DRAFT, IssueStatus.SENDING}),
    IssueStatus.SENDING: frozenset({IssueStatus.SENT}),
    IssueStatus.SENT: frozenset(),
}


class TransitionError(AggregatorError):
    """A status change that the lifecycle does not allow (or that someone else made first)."""

    hint = "reload the page: the item may have been changed by someone else"


class EmptyIssueError(TransitionError):
    """Approving an issue with nothing in it would mail every subscriber an empty digest."""

    hint = "approve some resources and prepare the draft again (or add them to this issue) before approving it"


def issue_has_items(conn: Connection, issue_id: int) -> bool:
    """True when the issue carries at least one resource (removed ones do not count)."""
    return (
        conn.execute(
            select(issue_items.c.resource_id)
            .where(
                issue_items.c.issue_id == issue_id,
                issue_items.c.section != "removed",  # aggregator.digest.issue.REMOVED
            )
            .limit(1)
        ).first()
        is not None
    )


def check_transition(table: dict[str, frozenset[str]], old: str, new: str, what: str) -> None:
    if new not in table.get(old, frozenset()):
        raise TransitionError(f"{what} cannot go from {old} to {new}")


def record_audit(
    conn: Connection,
    *,
    user_id: int | None,
    action: str,
    subject_type: str,
    subject_id: Any,
    now: datetime,
    detail: dict | None = None,
) -> None:
    """One line of the audit log: who did what to which subject, when."""
    conn.execute(
        insert(audit_log).values(
            at=now,
            user_id=user_id,
            action=action,
            subject_type=subject_type,
            subject_id=str(subject_id),
            detail=detail or {},
        )
    )


def change_resource_status(
    conn: Connection, resource_id: int, new: str, *, user_id: int | None, now: datetime, reason: str | None = None
) -> str:
    """Approve, reject or reopen a resource; returns the old status. Compare-and-set, audited."""
    old = conn.execute(select(resources.c.status).where(resources.c.id == resource_id)).scalar_one_or_none()
    if old is None:
        raise TransitionError(f"no resource {resource_id}")
    check_transition(RESOURCE_TRANSITIONS, old, new, f"resource {resource_id}")
    values: dict[str, Any] = {
        "status": new,
        "decided_by": user_id,
        "decided_at": now,
        "modified_at": now,
        "rejection_reason": reason if new == ResourceStatus.REJECTED else None,
    }
    changed = conn.execute(
        update(resources).where(resources.c.id == resource_id, resources.c.status == old).values(**values)
    ).rowcount
    if changed != 1:
        raise TransitionError(f"resource {resource_id} changed meanwhile")
    record_audit(
        conn,
        user_id=user_id,
        action={ResourceStatus.APPROVED: "approve", ResourceStatus.REJECTED: "reject"}.get(new, "reopen"),
        subject_type="resource",
        subject_id=resource_id,
        now=now,
        detail={"from": old, "to": new, **({"reason": reason} if reason else {})},
    )
    return old


def change_issue_status(conn: Connection, issue_id: int, new: str, *, user_id: int | None, now: datetime) -> str:
    """Move an issue along its lifecycle; returns the old status. Compare-and-set, so two workers or two
    editors cannot both make the same change."""
    old = conn.execute(select(issues.c.status).where(issues.c.id == issue_id)).scalar_one_or_none()
    if old is None:
        raise TransitionError(f"no issue {issue_id}")
    check_transition(ISSUE_TRANSITIONS, old, new, f"issue {issue_id}")
    if new == IssueStatus.APPROVED and not issue_has_items(conn, issue_id):
        raise EmptyIssueError(f"issue {issue_id} has no resources and cannot be approved")
    values: dict[str, Any] = {"status": new, "updated_at": now}
    if new == IssueStatus.APPROVED:
        values.update(approved_at=now, approved_by=user_id)
    elif new == IssueStatus.DRAFT:
        values.update(approved_at=None, approved_by=None)
    elif new == IssueStatus.SENT:
        values["sent_at"] = now
    changed = conn.execute(
        update(issues).where(issues.c.id == issue_id, issues.c.status == old).values(**values)
    ).rowcount
    if changed != 1:
        raise TransitionError(f"issue {issue_id} changed meanwhile")
    record_audit(
        conn,
        user_id=user_id,
        action=f"issue-{new}",
        subject_type="issue",
        subject_id=issue_id,
        now=now,
        detail={"from": old, "to": new},
    )
    return old
