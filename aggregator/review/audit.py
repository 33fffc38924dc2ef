"""The audit trail for people: pages of recorded actions (newest first) and of merges, read from the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from aggregator.db.schema import audit_log, merges, resources, users

PAGE = 50

# The words editors see for each recorded action.
ACTIONS = {
    "approve": "approved",
    "reject": "rejected",
    "reopen": "moved back to the queue",
    "edit": "edited",
    "feature": "featured",
    "unfeature": "stopped featuring",
    "split": "split a merge",
    "undo": "undid",
    "issue-prepare": "prepared the draft",
    "issue-edit": "changed the issue",
    "issue-approved": "approved for sending",
    "issue-draft": "put back to draft",
    "issue-sending": "started sending",
    "issue-sent": "finished sending",
    "issue-test": "sent a test of",
    "issue-send-now": "started sending now",
    "issue-pause": "paused the send of",
    "issue-resume": "resumed the send of",
    "source-disable": "turned off",
    "source-enable": "turned on",
    "source-fetch": "fetched",
    "source-add": "added the source",
    "source-check": "checked the route of",
    "suggest": "added by URL",
    "subscribers-export": "downloaded the subscribers",
    "subscribers-import": "imported subscribers",
    "subscriber-export": "downloaded the data of",
    "subscriber-erase": "erased a subscriber",
    "sign-in": "signed in",
    "sign-out": "signed out",
    "user-add": "added the account",
    "user-change": "changed the account",
}


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    at: datetime
    who: str
    action: str
    words: str
    subject_type: str
    subject_id: str
    subject_title: str
    detail: dict


def audit_page(conn: Connection, *, action: str = "", before: int | None = None) -> tuple[list[AuditRow], bool]:
    """One page of audit rows (optionally of one action, older than `before`) and whether more follow."""
    query = (
        select(audit_log, users.c.name, users.c.email)
        .outerjoin(users, users.c.id == audit_log.c.user_id)
        .order_by(audit_log.c.id.desc())
        .limit(PAGE + 1)
    )
    if action in ACTIONS:
        query = query.where(audit_log.c.action == action)
    if before:
        query = query.where(audit_log.c.id < before)
    rows = conn.execute(query).all()
    ids = {int(r.subject_id) for r in rows[:PAGE] if r.subject_type == "resource" and r.subject_id.isdigit()}
    titles = dict(conn.execute(select(resources.c.id, resources.c.title).where(resources.c.id.in_(ids))).all())
    entries = [
        AuditRow(
            r.id,
            r.at,
            (r.name or r.email) if r.user_id else "the pipeline",
            r.action,
            ACTIONS.get(r.action, r.action),
            r.subject_type,
            r.subject_id,
            titles.get(int(r.subject_id), "") if r.subject_id.isdigit() else "",
            r.detail or {},
        )
        for r in rows[:PAGE]
    ]
    return entries, len(rows) > PAGE


def merge_page(conn: Connection, *, before: int | None = None) -> tuple[list[Any], bool]:
    """One page of merges (newest first, older than `before`) with both titles, and whether more follow."""
    kept, absorbed = resources.alias("kept"), resources.alias("absorbed")
    query = (
        select(
            merges.c.id,
            merges.c.kept_id,
            merges.c.absorbed_id,
            merges.c.reason,
            merges.c.score,
            merges.c.created_at,
            merges.c.split_at,
            merges.c.split_by,
            kept.c.title.label("kept_title"),
            absorbed.c.title.label("absorbed_title"),
        )
        .join(kept, kept.c.id == merges.c.kept_id)
        .join(absorbed, absorbed.c.id == merges.c.absorbed_id)
        .order_by(merges.c.id.desc())
        .limit(PAGE + 1)
    )
    if before:
        query = query.where(merges.c.id < before)
    rows = conn.execute(query).all()
    return list(rows[:PAGE]), len(rows) > PAGE
