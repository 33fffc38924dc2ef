"""Editors' actions on resources that can be undone: each returns the steps that reverse it, and `undo` applies them.

The steps of a user's last action are kept in their session (small: ids and old statuses); an edit's
previous text lives in its audit-log row, which the step names. The audit log records the action and
its undoing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from aggregator.classify.label import correct_label
from aggregator.db.schema import audit_log, labels, resources
from aggregator.review.lifecycle import TransitionError, change_resource_status, record_audit

Step = list[Any]  # JSON-able: ["status", id, old, old_reason] | ["feature", id, old] | ["edit", audit_id]


def set_status(
    conn: Connection, resource_id: int, new: str, *, user_id: int, now: datetime, reason: str | None = None
) -> Step:
    old_reason = conn.execute(
        select(resources.c.rejection_reason).where(resources.c.id == resource_id)
    ).scalar_one_or_none()
    old = change_resource_status(conn, resource_id, new, user_id=user_id, now=now, reason=reason or None)
    return ["status", resource_id, old, old_reason]


def set_featured(conn: Connection, resource_id: int, featured: bool, *, user_id: int, now: datetime) -> Step:
    old = conn.execute(select(resources.c.featured).where(resources.c.id == resource_id)).scalar_one_or_none()
    if old is None:
        raise TransitionError(f"no resource {resource_id}")
    conn.execute(update(resources).where(resources.c.id == resource_id).values(featured=featured, modified_at=now))
    record_audit(
        conn,
        user_id=user_id,
        action="feature" if featured else "unfeature",
        subject_type="resource",
        subject_id=resource_id,
        now=now,
    )
    return ["feature", resource_id, bool(old)]


@dataclass(frozen=True, slots=True)
class ResourceEdit:
    """What an editor changes; None leaves a field as it is."""

    title: str | None = None
    summary: str | None = None  # plain text
    labels: Mapping[str, frozenset[str]] | None = None  # kind -> wanted label ids (kinds absent: unchanged)
    clear_proposed_title: bool = False


def edit_resource(
    conn: Connection, resource_id: int, edit: ResourceEdit, *, user_id: int, editor: str, now: datetime
) -> Step | None:
    """Change the title, the summary (its HTML becomes escaped paragraphs) and the labels; label changes go
    through `correct_label`, so the classifier learns them. None when nothing changed."""
    row = conn.execute(
        select(resources.c.title, resources.c.summary, resources.c.summary_html, resources.c.proposed_title).where(
            resources.c.id == resource_id
        )
    ).one_or_none()
    if row is None:
        raise TransitionError(f"no resource {resource_id}")
    values: dict[str, Any] = {}
    if edit.title is not None and edit.title != row.title:
        values["title"] = edit.title
    if edit.summary is not None and edit.summary != row.summary:
        values.update(summary=edit.summary, summary_html=text_to_html(edit.summary))
    if edit.clear_proposed_title and row.proposed_title is not None:
        values["proposed_title"] = None
    changes: list[list[Any]] = []
    if edit.labels is not None:
        current = {
            (lab.kind, lab.label_id)
            for lab in conn.execute(select(labels.c.kind, labels.c.label_id).where(labels.c.resource_id == resource_id))
        }
        wanted = {(kind, label_id) for kind, ids in edit.labels.items() for label_id in ids}
        changes = [[kind, label_id, True] for kind, label_id in sorted(wanted - current)]
        changes += [[kind, label_id, False] for kind, label_id in sorted(current - wanted) if kind in edit.labels]
    if not values and not changes:
        return None
    if values:
        conn.execute(update(resources).where(resources.c.id == resource_id).values(**values, modified_at=now))
    for kind, label_id, add in changes:
        correct_label(conn, resource_id, kind, label_id, add=add, editor=editor, now=now)
    before = {key: getattr(row, key) for key in values}
    audit_id = conn.execute(
        insert(audit_log)
        .values(
            at=now,
            user_id=user_id,
            action="edit",
            subject_type="resource",
            subject_id=str(resource_id),
            detail={"before": before, "after": values, "labels": changes},
        )
        .returning(audit_log.c.id)
    ).scalar_one()
    return ["edit", audit_id]


def text_to_html(text: str) -> str:
    """Plain text as HTML paragraphs, escaped (a summary an editor typed)."""
    from html import escape

    paragraphs = [p.strip() for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "".join(f"<p>{escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)


def undo(conn: Connection, steps: Sequence[Step], *, user_id: int, editor: str, now: datetime, label: str) -> None:
    """Reverse `steps` (last first), all or nothing; TransitionError when someone changed a resource since."""
    for step in reversed(steps):
        kind = step[0]
        if kind == "status":
            _, resource_id, old, old_reason = step
            change_resource_status(conn, resource_id, old, user_id=user_id, now=now, reason=old_reason)
        elif kind == "feature":
            _, resource_id, old = step
            set_featured(conn, resource_id, old, user_id=user_id, now=now)
        elif kind == "edit":
            _undo_edit(conn, step[1], editor=editor, now=now)
        else:
            raise TransitionError(f"unknown undo step {kind!r}")
    record_audit(
        conn,
        user_id=user_id,
        action="undo",
        subject_type="resource",
        subject_id=",".join(str(s[1]) for s in steps if s[0] != "edit") or _edit_subjects(conn, steps),
        now=now,
        detail={"undone": label},
    )


def _edit_subjects(conn: Connection, steps: Sequence[Step]) -> str:
    ids = [s[1] for s in steps if s[0] == "edit"]
    return ",".join(conn.execute(select(audit_log.c.subject_id).where(audit_log.c.id.in_(ids))).scalars())


def _undo_edit(conn: Connection, audit_id: int, *, editor: str, now: datetime) -> None:
    row = conn.execute(select(audit_log.c.subject_id, audit_log.c.detail).where(audit_log.c.id == audit_id)).one()
    resource_id, detail = int(row.subject_id), row.detail
    current = conn.execute(
        select(resources.c.title, resources.c.summary, resources.c.proposed_title).where(resources.c.id == resource_id)
    ).one()
    for key, value in detail.get("after", {}).items():
        if key in ("title", "summary", "proposed_title") and getattr(current, key) != value:
            raise TransitionError(f"resource {resource_id} was edited again meanwhile")
    if detail.get("before"):
        conn.execute(update(resources).where(resources.c.id == resource_id).values(**detail["before"], modified_at=now))
    for kind, label_id, added in reversed(detail.get("labels", [])):
        correct_label(conn, resource_id, kind, label_id, add=not added, editor=editor, now=now)
