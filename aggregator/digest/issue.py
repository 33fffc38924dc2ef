"""A month's digest ("issue"): preparing the draft from approved resources, reading it back, personalising it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection, func, insert, select, update

from aggregator.db.schema import entries, issue_items, issues, labels, resources
from aggregator.ingest.event_text import series_occurrence
from aggregator.ingest.events import is_upcoming
from aggregator.model import IssueStatus, ResourceStatus

EVENTS = "events"  # the section of upcoming events
OTHER = "other"  # resources with no theme label
REMOVED = "removed"  # taken out by editors: hidden, and not added to this draft again


@dataclass(frozen=True, slots=True)
class EventInfo:
    start: datetime
    end: datetime | None
    location: str | None
    online: bool | None
    registration_url: str | None
    upcoming: bool  # starts after the time the issue is loaded for (its send time)
    recurrence: str | None = None  # a monthly series' rule (aggregator.ingest.event_text); start is its next occurrence


@dataclass(frozen=True, slots=True)
class IssueItem:
    """One resource as the digest shows it (fetched text: escape it wherever it is rendered)."""

    resource_id: int
    section: str  # a theme id, EVENTS or OTHER
    position: int
    title: str
    url: str
    summary: str
    type: str
    published: datetime | None
    image_url: str | None
    event: EventInfo | None
    also_listed_on: tuple[str, ...]  # names of the other partners listing it
    themes: tuple[str, ...]
    audiences: tuple[str, ...]
    featured: bool


@dataclass(frozen=True, slots=True)
class IssueContent:
    id: int
    month: str  # YYYY-MM
    status: str
    intro: str
    items: tuple[IssueItem, ...]  # in section order, then position

    def sections(self) -> list[tuple[str, tuple[IssueItem, ...]]]:
        """(section, items) in the order editors arranged them; events last."""
        grouped: dict[str, list[IssueItem]] = defaultdict(list)
        for item in self.items:
            grouped[item.section].append(item)
        order = sorted(grouped, key=lambda s: (s == EVENTS, min(i.position for i in grouped[s])))
        return [(name, tuple(grouped[name])) for name in order]


def prepare_draft(conn: Connection, month: str, now: datetime) -> int:
    """Create the month's draft, or add to it the approved resources not yet in any issue.

    Each resource goes under its most confident theme; upcoming events go under EVENTS. An issue that
    is no longer a draft is left as it is. Returns the issue's id.
    """
    issue = conn.execute(select(issues.c.id, issues.c.status).where(issues.c.month == month)).one_or_none()
    if issue is None:
        issue_id = conn.execute(
            insert(issues)
            .values(month=month, status=IssueStatus.DRAFT, intro="", created_at=now, updated_at=now)
            .returning(issues.c.id)
        ).scalar_one()
    elif issue.status != IssueStatus.DRAFT:
        return issue.id
    else:
        issue_id = issue.id
    # Not again what is in this draft (removed ones included), nor what another issue already carries.
    other_issues = select(issues.c.id).where(issues.c.id != issue_id)
    already = select(issue_items.c.resource_id).where(
        (issue_items.c.issue_id == issue_id)
        | (issue_items.c.issue_id.in_(other_issues) & (issue_items.c.section != REMOVED))
    )
    candidates = conn.execute(
        select(resources.c.id, resources.c.type, resources.c.event_start, resources.c.event_end)
        .where(
            resources.c.status == ResourceStatus.APPROVED,
            resources.c.off_topic.is_(False),
            resources.c.id.not_in(already),
        )
        .order_by(resources.c.featured.desc(), resources.c.published_at.desc().nulls_last(), resources.c.id)
    ).all()
    top_theme = _top_themes(conn, [c.id for c in candidates])
    next_position = (
        conn.execute(select(func.max(issue_items.c.position)).where(issue_items.c.issue_id == issue_id)).scalar() or 0
    ) + 1
    series = _recurrences(conn, [c.id for c in candidates])
    rows = []
    for offset, row in enumerate(candidates):
        start, end = _next_time(row.event_start, row.event_end, series.get(row.id), now)
        is_event = start is not None and is_upcoming(start, end, now)
        rows.append(
            {
                "issue_id": issue_id,
                "resource_id": row.id,
                "position": next_position + offset,
                "section": EVENTS if is_event else top_theme.get(row.id, OTHER),
            }
        )
    if rows:
        conn.execute(insert(issue_items), rows)
        conn.execute(update(issues).where(issues.c.id == issue_id).values(updated_at=now))
    return issue_id


def _recurrences(conn: Connection, resource_ids: Sequence[int]) -> dict[int, str]:
    """The series rule one of each resource's entries carries (extra["recurrence"]), by resource id."""
    found: dict[int, str] = {}
    for row in conn.execute(
        select(entries.c.resource_id, entries.c.extra)
        .where(entries.c.resource_id.in_(resource_ids))
        .order_by(entries.c.id)
    ):
        rule = (row.extra or {}).get("recurrence")
        if isinstance(rule, str) and rule:
            found.setdefault(row.resource_id, rule)
    return found


def _next_time(
    start: datetime | None, end: datetime | None, rule: str | None, now: datetime
) -> tuple[datetime | None, datetime | None]:
    """A series' next occurrence after `now` (else the stored start and end)."""
    if rule and (occurrence := series_occurrence(rule, now)):
        return occurrence
    return start, end


def _event_info(row, rule: str | None, now: datetime) -> EventInfo | None:
    if row.event_start is None:
        return None
    start, end = _next_time(row.event_start, row.event_end, rule, now)
    assert start is not None
    return EventInfo(
        start, end, row.event_location, row.event_online, row.registration_url, is_upcoming(start, end, now), rule
    )


def _top_themes(conn: Connection, resource_ids: Sequence[int]) -> dict[int, str]:
    best: dict[int, tuple[float, str]] = {}
    for row in conn.execute(
        select(labels.c.resource_id, labels.c.label_id, labels.c.confidence, labels.c.origin).where(
            labels.c.kind == "theme", labels.c.resource_id.in_(resource_ids)
        )
    ):
        score = 2.0 if row.origin == "editor" else row.confidence  # an editor's label wins
        if row.resource_id not in best or score > best[row.resource_id][0]:
            best[row.resource_id] = (score, row.label_id)
    return {rid: label for rid, (_, label) in best.items()}


def load_issue(
    conn: Connection, issue_id: int, now: datetime, source_names: Mapping[str, str] | None = None
) -> IssueContent:
    """The issue with its items as the digest and the composition screen show them."""
    issue = conn.execute(select(issues).where(issues.c.id == issue_id)).one()
    rows = conn.execute(
        select(issue_items.c.section, issue_items.c.position, resources)
        .join(resources, resources.c.id == issue_items.c.resource_id)
        .where(issue_items.c.issue_id == issue_id, issue_items.c.section != REMOVED)
        .order_by(issue_items.c.position)
    ).all()
    ids = [r.id for r in rows]
    listed_on: dict[int, list[str]] = defaultdict(list)
    for e in conn.execute(
        select(entries.c.resource_id, entries.c.source_id).where(entries.c.resource_id.in_(ids)).order_by(entries.c.id)
    ):
        name = (source_names or {}).get(e.source_id)  # never a source id: an unknown source is not named
        if name and name not in listed_on[e.resource_id]:
            listed_on[e.resource_id].append(name)
    series = _recurrences(conn, ids)
    by_kind: dict[tuple[int, str], list[str]] = defaultdict(list)
    for lab in conn.execute(
        select(labels.c.resource_id, labels.c.kind, labels.c.label_id)
        .where(labels.c.resource_id.in_(ids))
        .order_by(labels.c.confidence.desc())
    ):
        by_kind[(lab.resource_id, lab.kind)].append(lab.label_id)
    items = tuple(
        IssueItem(
            resource_id=r.id,
            section=r.section,
            position=r.position,
            title=r.title,
            url=r.url,
            summary=r.summary,
            type=r.type,
            published=r.published_at,
            image_url=r.image_url,
            event=_event_info(r, series.get(r.id), now),
            also_listed_on=tuple(listed_on[r.id][1:]),
            themes=tuple(by_kind[(r.id, "theme")]),
            audiences=tuple(by_kind[(r.id, "audience")]),
            featured=r.featured,
        )
        for r in rows
    )
    return IssueContent(issue.id, issue.month, issue.status, issue.intro, items)


def personalise(content: IssueContent, audiences: Sequence[str], themes: Sequence[str]) -> IssueContent:
    """A subscriber's copy: only resources matching their audiences and themes (none chosen: everything),
    resources matching more of their choices first within each section; events always kept when they match."""
    if not audiences and not themes:
        return content
    wanted_a, wanted_t = set(audiences), set(themes)

    def matches(item: IssueItem) -> bool:
        return (not wanted_a or not item.audiences or bool(wanted_a & set(item.audiences))) and (
            not wanted_t or bool(wanted_t & set(item.themes))
        )

    def strength(item: IssueItem) -> int:
        return len(wanted_a & set(item.audiences)) + len(wanted_t & set(item.themes))

    kept = [i for i in content.items if matches(i)]
    ordered: list[IssueItem] = []
    for section in dict.fromkeys(i.section for i in kept):
        ordered.extend(sorted((i for i in kept if i.section == section), key=lambda i: (-strength(i), i.position)))
    return replace(content, items=tuple(ordered))


def move_item(
    conn: Connection, issue_id: int, resource_id: int, *, position: int | None = None, section: str | None = None
) -> None:
    """Place an item at `position` (1-based, in the whole issue) and/or in another section."""
    current = list(
        conn.execute(
            select(issue_items.c.resource_id).where(issue_items.c.issue_id == issue_id).order_by(issue_items.c.position)
        ).scalars()
    )
    if resource_id not in current:
        raise KeyError(resource_id)
    if position is not None:
        current.remove(resource_id)
        current.insert(max(0, min(position - 1, len(current))), resource_id)
        for index, rid in enumerate(current, start=1):
            conn.execute(
                update(issue_items)
                .where(issue_items.c.issue_id == issue_id, issue_items.c.resource_id == rid)
                .values(position=index)
            )
    if section is not None:
        conn.execute(
            update(issue_items)
            .where(issue_items.c.issue_id == issue_id, issue_items.c.resource_id == resource_id)
            .values(section=section)
        )


def remove_item(conn: Connection, issue_id: int, resource_id: int) -> None:
    """Take a resource out of the issue: it stays approved, is not put back into this draft, and can go
    into a later month's."""
    conn.execute(
        update(issue_items)
        .where(issue_items.c.issue_id == issue_id, issue_items.c.resource_id == resource_id)
        .values(section=REMOVED)
    )


def set_intro(conn: Connection, issue_id: int, text: str, now: datetime) -> None:
    conn.execute(update(issues).where(issues.c.id == issue_id).values(intro=text, updated_at=now))
