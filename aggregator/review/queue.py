"""Reading the review queue: keyset pages of resources (newest first) with their entries, labels and merges."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, exists, func, select, tuple_

from aggregator.db.schema import entries, labels, merges, resources
from aggregator.model import ResourceStatus

PAGE_SIZE = 25
COUNT_CAP = 1000  # counting 90k index entries costs ~18 ms a page; beyond this the page says "1,000+"
STATUSES = tuple(s.value for s in (ResourceStatus.PENDING, ResourceStatus.APPROVED, ResourceStatus.REJECTED))
OFF_TOPIC = ("hide", "include", "only")


@dataclass(frozen=True, slots=True)
class QueueFilter:
    status: str = ResourceStatus.PENDING.value
    source: str = ""
    theme: str = ""
    audience: str = ""
    type: str = ""
    off_topic: str = "hide"  # hide | include | only

    def as_query(self) -> dict[str, str]:
        defaults = QueueFilter()
        return {name: getattr(self, name) for name in self.__slots__ if getattr(self, name) != getattr(defaults, name)}


@dataclass(frozen=True, slots=True)
class EntryView:
    source_id: str
    title: str
    url: str


@dataclass(frozen=True, slots=True)
class LabelView:
    kind: str
    label_id: str
    confidence: float
    origin: str  # classifier | editor
    reasons: tuple[tuple[str, str], ...]  # (signal, detail)


@dataclass(frozen=True, slots=True)
class MergeView:
    id: int
    absorbed_id: int
    absorbed_title: str
    reason: str
    score: float


@dataclass(frozen=True, slots=True)
class ResourceCard:
    """One resource as the queue and its own page show it (fetched text: autoescaped; summary_html: cleaned)."""

    id: int
    title: str
    url: str
    summary: str
    summary_html: str
    type: str
    status: str
    published_at: datetime | None
    created_at: datetime
    featured: bool
    off_topic: bool
    proposed_title: str | None
    rejection_reason: str | None
    event_start: datetime | None
    event_location: str | None
    entries: tuple[EntryView, ...]
    labels: tuple[LabelView, ...]
    merges: tuple[MergeView, ...]

    def labels_of(self, kind: str) -> tuple[LabelView, ...]:
        return tuple(label for label in self.labels if label.kind == kind)


@dataclass(frozen=True, slots=True)
class QueuePage:
    cards: tuple[ResourceCard, ...]
    next_cursor: str | None  # "<created_at iso>_<id>" of the last card when there is more
    total: int  # resources with this status (other filters ignored), counted up to COUNT_CAP
    total_capped: bool  # there are more than `total`


def encode_cursor(created_at: datetime, resource_id: int) -> str:
    return f"{created_at.isoformat()}_{resource_id}"


class CursorError(ValueError):
    """A page cursor (`?after=`) that this app did not make: the message says what is wrong with it."""


_MAX_ID = 2**63 - 1  # the widest integer column either database has


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """(created_at, id) from "<aware ISO timestamp>_<id>"; CursorError names what is wrong otherwise."""
    stamp, _, rid = cursor.rpartition("_")
    try:
        created, resource_id = datetime.fromisoformat(stamp), int(rid)
    except ValueError:
        raise CursorError(
            f"the page position {cursor[:80]!r} is not '<timestamp>_<id>'; open the queue from its first page"
        ) from None
    if created.tzinfo is None:
        raise CursorError(f"the page position's timestamp {stamp[:40]!r} has no time zone (add +00:00)")
    if not 0 < resource_id <= _MAX_ID:
        raise CursorError(f"the page position's id {rid[:40]} is out of range")
    return created, resource_id


_CARD_COLUMNS = (
    resources.c.id,
    resources.c.title,
    resources.c.url,
    resources.c.summary,
    resources.c.summary_html,
    resources.c.type,
    resources.c.status,
    resources.c.published_at,
    resources.c.created_at,
    resources.c.featured,
    resources.c.off_topic,
    resources.c.proposed_title,
    resources.c.rejection_reason,
    resources.c.event_start,
    resources.c.event_location,
)


def queue_page(conn: Connection, flt: QueueFilter, cursor: str | None = None, *, size: int = PAGE_SIZE) -> QueuePage:
    """One page, newest first by (created_at, id): keyset pagination on ix_resources_status_created, so
    page 400 costs what page 1 costs. Label and source filters are EXISTS probes on primary-key and
    resource_id indexes, checked row by row as the index is walked."""
    query = select(*_CARD_COLUMNS).where(resources.c.status == flt.status)
    if flt.off_topic == "hide":
        query = query.where(resources.c.off_topic.is_(False))
    elif flt.off_topic == "only":
        query = query.where(resources.c.off_topic.is_(True))
    if flt.type:
        query = query.where(resources.c.type == flt.type)
    if flt.source:
        query = query.where(exists().where(entries.c.resource_id == resources.c.id, entries.c.source_id == flt.source))
    for kind, label_id in (("theme", flt.theme), ("audience", flt.audience)):
        if label_id:
            query = query.where(
                exists().where(
                    labels.c.resource_id == resources.c.id, labels.c.kind == kind, labels.c.label_id == label_id
                )
            )
    position = decode_cursor(cursor) if cursor else None
    if position:
        query = query.where(
            tuple_(resources.c.created_at, resources.c.id)
            < tuple_(
                bindparam("after_created", position[0], type_=resources.c.created_at.type),
                bindparam("after_id", position[1], type_=resources.c.id.type),
            )
        )
    rows = conn.execute(query.order_by(resources.c.created_at.desc(), resources.c.id.desc()).limit(size + 1)).all()
    more = len(rows) > size
    rows = rows[:size]
    capped = select(resources.c.id).where(resources.c.status == flt.status).limit(COUNT_CAP + 1).subquery()
    total = conn.execute(select(func.count()).select_from(capped)).scalar_one()
    cards = _cards(conn, rows)
    last = rows[-1] if rows else None
    return QueuePage(
        cards,
        encode_cursor(last.created_at, last.id) if more and last else None,
        min(total, COUNT_CAP),
        total > COUNT_CAP,
    )


def load_card(conn: Connection, resource_id: int) -> ResourceCard | None:
    row = conn.execute(select(*_CARD_COLUMNS).where(resources.c.id == resource_id)).one_or_none()
    return _cards(conn, [row])[0] if row else None


def _cards(conn: Connection, rows) -> tuple[ResourceCard, ...]:
    ids = [r.id for r in rows]
    if not ids:
        return ()
    entries_of: dict[int, list[EntryView]] = defaultdict(list)
    for e in conn.execute(
        select(entries.c.resource_id, entries.c.source_id, entries.c.title, entries.c.url)
        .where(entries.c.resource_id.in_(ids))
        .order_by(entries.c.id)
    ):
        entries_of[e.resource_id].append(EntryView(e.source_id, e.title, e.url))
    labels_of: dict[int, list[LabelView]] = defaultdict(list)
    for lab in conn.execute(
        select(labels)
        .where(labels.c.resource_id.in_(ids))
        .order_by(labels.c.kind, labels.c.confidence.desc(), labels.c.label_id)
    ):
        reasons = tuple(
            (str(r.get("signal", "")), str(r.get("detail", ""))) for r in (lab.reasons or ()) if isinstance(r, dict)
        )
        labels_of[lab.resource_id].append(LabelView(lab.kind, lab.label_id, lab.confidence, lab.origin, reasons))
    absorbed = resources.alias("absorbed")
    merges_of: dict[int, list[MergeView]] = defaultdict(list)
    for m in conn.execute(
        select(merges.c.id, merges.c.kept_id, merges.c.absorbed_id, merges.c.reason, merges.c.score, absorbed.c.title)
        .join(absorbed, absorbed.c.id == merges.c.absorbed_id)
        .where(merges.c.kept_id.in_(ids), merges.c.split_at.is_(None))
        .order_by(merges.c.id)
    ):
        merges_of[m.kept_id].append(MergeView(m.id, m.absorbed_id, m.title, m.reason, m.score))
    return tuple(
        ResourceCard(
            id=r.id,
            title=r.title,
            url=r.url,
            summary=r.summary,
            summary_html=r.summary_html,
            type=r.type,
            status=r.status,
            published_at=r.published_at,
            created_at=r.created_at,
            featured=r.featured,
            off_topic=r.off_topic,
            proposed_title=r.proposed_title,
            rejection_reason=r.rejection_reason,
            event_start=r.event_start,
            event_location=r.event_location,
            entries=tuple(entries_of[r.id]),
            labels=tuple(labels_of[r.id]),
            merges=tuple(merges_of[r.id]),
        )
        for r in rows
    )


def resource_title(conn: Connection, resource_id: int) -> str | None:
    """The resource's title, or None when there is no such resource."""
    return conn.execute(select(resources.c.title).where(resources.c.id == resource_id)).scalar_one_or_none()
