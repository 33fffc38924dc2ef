"""The editors' work on a month's issue: listing issues, preparing a draft, ordering its items, approving and reopening it."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from aggregator.db.schema import deliveries, issue_items, issues, subscribers
from aggregator.digest.errors import SendStateError
from aggregator.digest.issue import EVENTS, REMOVED, prepare_draft
from aggregator.errors import AggregatorError
from aggregator.model import DeliveryStatus, IssueStatus
from aggregator.review.lifecycle import change_issue_status, record_audit


@dataclass(frozen=True, slots=True)
class PreparedDraft:
    """What preparing a month's draft did."""

    issue_id: int
    added: int
    status: str


def list_issues(conn: Connection, *, limit: int = 60) -> list[Any]:
    """The newest issues (by month), each with its count of items still in it."""
    counts = (
        select(issue_items.c.issue_id, func.count().label("n"))
        .where(issue_items.c.section != REMOVED)
        .group_by(issue_items.c.issue_id)
        .subquery()
    )
    return list(
        conn.execute(
            select(issues, func.coalesce(counts.c.n, 0).label("count"))
            .outerjoin(counts, counts.c.issue_id == issues.c.id)
            .order_by(issues.c.month.desc())
            .limit(limit)
        ).all()
    )


def find_issue(conn: Connection, issue_id: int) -> Any | None:
    """The issue's row, or None when there is no such issue."""
    return conn.execute(select(issues).where(issues.c.id == issue_id)).one_or_none()


def prepare_issue(conn: Connection, month: str, *, user_id: int, now: datetime) -> PreparedDraft:
    """Add the month's newly approved resources to its draft (made if missing); audited when it is a draft."""
    before = conn.execute(
        select(func.count()).select_from(issue_items).join(issues).where(issues.c.month == month)
    ).scalar_one()
    issue_id = prepare_draft(conn, month, now)
    after = conn.execute(
        select(func.count()).select_from(issue_items).where(issue_items.c.issue_id == issue_id)
    ).scalar_one()
    status = conn.execute(select(issues.c.status).where(issues.c.id == issue_id)).scalar_one()
    if status == IssueStatus.DRAFT:
        record_audit(
            conn,
            user_id=user_id,
            action="issue-prepare",
            subject_type="issue",
            subject_id=issue_id,
            now=now,
            detail={"month": month, "added": after - before},
        )
    return PreparedDraft(issue_id, after - before, status)


def target_position(
    conn: Connection, issue_id: int, resource_id: int, direction: str | None, wanted: int | None
) -> int | None:
    """The whole-issue position (what move_item takes) that puts the item one up, one down, or at
    `wanted` (1-based) within its own section; None when it stays; KeyError when it is not in the issue."""
    rows = conn.execute(
        select(issue_items.c.resource_id, issue_items.c.section)
        .where(issue_items.c.issue_id == issue_id)
        .order_by(issue_items.c.position)
    ).all()
    order = [r.resource_id for r in rows]
    section = dict((r.resource_id, r.section) for r in rows).get(resource_id)
    if section is None:
        raise KeyError(resource_id)
    mates = [r.resource_id for r in rows if r.section == section]
    here = mates.index(resource_id)
    target = here - 1 if direction == "up" else here + 1 if direction == "down" else (wanted or 1) - 1
    target = max(0, min(target, len(mates) - 1))
    if target == here:
        return None
    return order.index(mates[target]) + 1


def approve_issue(conn: Connection, issue_id: int, *, user_id: int | None, now: datetime, send_at: datetime) -> None:
    """Approve the issue for sending at `send_at` (the lifecycle refuses an empty or non-draft issue)."""
    change_issue_status(conn, issue_id, IssueStatus.APPROVED, user_id=user_id, now=now)
    conn.execute(issues.update().where(issues.c.id == issue_id).values(send_at=send_at))


def reopen_issue(conn: Connection, issue_id: int, *, user_id: int, now: datetime) -> None:
    """Put an approved issue back to draft; it will not be sent until approved again."""
    change_issue_status(conn, issue_id, IssueStatus.DRAFT, user_id=user_id, now=now)
    conn.execute(issues.update().where(issues.c.id == issue_id).values(send_at=None))


def choose_issue(conn: Connection, issue_id: int | None = None, month: str | None = None) -> int:
    """The id of the issue asked for by id, else by month (YYYY-MM), else the newest; SendStateError if none."""
    query = select(issues.c.id)
    if issue_id is not None:
        query = query.where(issues.c.id == issue_id)
    elif month is not None:
        query = query.where(issues.c.month == month)
    else:
        query = query.order_by(issues.c.month.desc()).limit(1)
    found = conn.execute(query).scalar_one_or_none()
    if found is None:
        raise SendStateError("no such issue", hint="prepare the month's draft with `make run`, or check --month")
    return found


def messages_to_send(conn: Connection, issue_id: int, status: str) -> int:
    """How many messages a send of this issue will make: its pending deliveries once sending, else the active
    subscribers."""
    if status == IssueStatus.SENDING:
        query = select(func.count()).where(
            deliveries.c.issue_id == issue_id, deliveries.c.status == DeliveryStatus.PENDING
        )
    else:
        query = select(func.count()).where(subscribers.c.status == "active")
    return conn.execute(query).scalar_one()


class LayoutError(AggregatorError):
    """An order for the issue's items that does not match what is in it (someone changed it meanwhile)."""

    hint = "reload the page to see the issue as it is now, then try again"


def _items(conn: Connection, issue_id: int) -> list[Any]:
    return conn.execute(
        select(issue_items.c.resource_id, issue_items.c.section)
        .where(issue_items.c.issue_id == issue_id)
        .order_by(issue_items.c.position)
    ).all()


def issue_layout(conn: Connection, issue_id: int) -> list[tuple[str, list[int]]]:
    """The issue's sections in the order readers see them (the events last), each with its items in order."""
    grouped: dict[str, list[int]] = {}
    for row in _items(conn, issue_id):
        if row.section != REMOVED:
            grouped.setdefault(row.section, []).append(row.resource_id)
    return sorted(grouped.items(), key=lambda pair: pair[0] == EVENTS)  # dicts keep first-seen order


def reorder_issue(
    conn: Connection, issue_id: int, layout: Sequence[tuple[str, Sequence[int]]], *, sections: Collection[str]
) -> None:
    """Put the issue's items in `layout`'s order: sections in the order given, each with its items in order
    (an item may change section). Every item in the issue must appear once; LayoutError otherwise."""
    rows = _items(conn, issue_id)
    present = sorted(r.resource_id for r in rows if r.section != REMOVED)
    wanted = [rid for _, ids in layout for rid in ids]
    if sorted(wanted) != present:
        raise LayoutError(f"the order sent does not list the {len(present)} resources in issue {issue_id} once each")
    unknown = sorted({section for section, _ in layout} - set(sections))
    if unknown:
        raise LayoutError(f"unknown section {', '.join(unknown)}")
    placed = [(section, rid) for section, ids in layout for rid in ids]
    placed += [(REMOVED, r.resource_id) for r in rows if r.section == REMOVED]  # hidden; kept after the rest
    for position, (section, rid) in enumerate(placed, start=1):
        conn.execute(
            update(issue_items)
            .where(issue_items.c.issue_id == issue_id, issue_items.c.resource_id == rid)
            .values(position=position, section=section)
        )


def move_section(conn: Connection, issue_id: int, section: str, direction: str) -> bool:
    """Move a section one place up or down among the others (the events stay last); False when it cannot go
    further; LayoutError when the issue has no such section."""
    layout = issue_layout(conn, issue_id)
    names = [name for name, _ in layout]
    if section not in names or section == EVENTS:
        raise LayoutError(f"issue {issue_id} has no movable section {section!r}")
    here = names.index(section)
    there = here - 1 if direction == "up" else here + 1
    if not 0 <= there < len(names) or names[there] == EVENTS:
        return False
    layout[here], layout[there] = layout[there], layout[here]
    reorder_issue(conn, issue_id, layout, sections=names)
    return True
