"""Reading the review queue: keyset pages of resources (newest first) with their entries, labels and merges."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, case, exists, func, null, or_, select, tuple_

from aggregator.db.schema import entries, labels, merges, resources
from aggregator.model import SUGGESTED, ResourceStatus
from aggregator.review.cursor import (
    CursorError,
    decode_certainty_cursor,
    decode_cursor,
    encode_certainty_cursor,
    encode_cursor,
)

__all__ = ["CursorError", "QueueFilter", "QueuePage", "ResourceCard", "load_card", "queue_page", "resource_title"]

PAGE_SIZE = 25
# a suggestion's entry keeps who suggested it and their note in `extra`; no other entry's extra is read
_SUGGESTION = case((entries.c.source_id == SUGGESTED, entries.c.extra), else_=null()).label("suggestion")
COUNT_CAP = 1000  # counting 90k index entries costs ~18 ms a page; beyond this the page says "1,000+"
STATUSES = tuple(s.value for s in (ResourceStatus.PENDING, ResourceStatus.APPROVED, ResourceStatus.REJECTED))
OFF_TOPIC = ("hide", "include", "only")
SORTS = ("newest", "unsure")  # newest first | least sure labels first (the corrections that teach most)


@dataclass(frozen=True, slots=True)
class QueueFilter:
    status: str = ResourceStatus.PENDING.value
    source: str = ""
    theme: str = ""
    audience: str = ""
    type: str = ""
    off_topic: str = "hide"  # hide | include | only
    sort: str = "newest"  # newest | unsure

    def as_query(self) -> dict[str, str]:
        defaults = QueueFilter()
        return {name: getattr(self, name) for name in self.__slots__ if getattr(self, name) != getattr(defaults, name)}


@dataclass(frozen=True, slots=True)
class EntryView:
    source_id: str
    title: str
    url: str
    id: int = 0
    suggested_by: str = ""  # a suggestion's (source SUGGESTED): who suggested it, and why
    note: str = ""


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
    source_ids: tuple[str, ...] = ()  # the sources whose entries a split would take away with it


@dataclass(frozen=True, slots=True)
class SplitView:
    """A resource this one was split from (or that was split off it): the two are linked both ways."""

    other_id: int
    other_title: str
    split_at: datetime
    split_by: str | None


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
    certainty: float = 0.0
    splits: tuple[SplitView, ...] = ()
    relevance: str | None = None  # why the classifier judged it (off-)topic

    def labels_of(self, kind: str) -> tuple[LabelView, ...]:
        return tuple(label for label in self.labels if label.kind == kind)


@dataclass(frozen=True, slots=True)
class QueuePage:
    cards: tuple[ResourceCard, ...]
    next_cursor: (
        str | None
    )  # the last card's position ("<created_at iso>_<id>" or "c<certainty>_<id>") when there is more
    total: int  # resources matching every filter, counted up to COUNT_CAP
    total_capped: bool  # there are more than `total`


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
    resources.c.relevance,
    resources.c.proposed_title,
    resources.c.rejection_reason,
    resources.c.event_start,
    resources.c.event_location,
    resources.c.certainty,
)


def queue_page(conn: Connection, flt: QueueFilter, cursor: str | None = None, *, size: int = PAGE_SIZE) -> QueuePage:
    """One page, newest first by (created_at, id) or least sure first by (certainty, id): keyset pagination
    on ix_resources_status_created / ix_resources_status_certainty, so page 400 costs what page 1 costs.
    Label and source filters are EXISTS probes on primary-key and resource_id indexes, checked row by row
    as the index is walked. The count applies the same filters, stopping at COUNT_CAP."""
    query = _filtered(select(*_CARD_COLUMNS), flt)
    unsure = flt.sort == "unsure"
    if cursor:
        key, rid = decode_certainty_cursor(cursor) if unsure else decode_cursor(cursor)
        column = resources.c.certainty if unsure else resources.c.created_at
        after = tuple_(
            bindparam("after_key", key, type_=column.type), bindparam("after_id", rid, type_=resources.c.id.type)
        )
        query = query.where(
            tuple_(column, resources.c.id) > after if unsure else tuple_(column, resources.c.id) < after
        )
    order = (
        (resources.c.certainty, resources.c.id) if unsure else (resources.c.created_at.desc(), resources.c.id.desc())
    )
    rows = conn.execute(query.order_by(*order).limit(size + 1)).all()
    more = len(rows) > size
    rows = rows[:size]
    capped = _filtered(select(resources.c.id), flt).limit(COUNT_CAP + 1).subquery()
    total = conn.execute(select(func.count()).select_from(capped)).scalar_one()
    last = rows[-1] if rows else None
    next_cursor = None
    if more and last:
        next_cursor = (
            encode_certainty_cursor(last.certainty, last.id) if unsure else encode_cursor(last.created_at, last.id)
        )
    return QueuePage(_cards(conn, rows), next_cursor, min(total, COUNT_CAP), total > COUNT_CAP)


def _filtered(query, flt: QueueFilter):
    query = query.where(resources.c.status == flt.status)
    if flt.off_topic == "hide":  # a page a person suggested is never hidden: they judged it on topic
        suggested = exists().where(entries.c.resource_id == resources.c.id, entries.c.source_id == SUGGESTED)
        query = query.where(or_(resources.c.off_topic.is_(False), suggested))
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
    return query


def load_card(conn: Connection, resource_id: int) -> ResourceCard | None:
    row = conn.execute(select(*_CARD_COLUMNS).where(resources.c.id == resource_id)).one_or_none()
    return _cards(conn, [row])[0] if row else None


def _cards(conn: Connection, rows) -> tuple[ResourceCard, ...]:
    ids = [r.id for r in rows]
    if not ids:
        return ()
    entries_of: dict[int, list[EntryView]] = defaultdict(list)
    for e in conn.execute(
        select(entries.c.id, entries.c.resource_id, entries.c.source_id, entries.c.title, entries.c.url, _SUGGESTION)
        .where(entries.c.resource_id.in_(ids))
        .order_by(entries.c.id)
    ):
        said = e.suggestion or {}
        who, note = str(said.get("suggested_by", "")), str(said.get("note", ""))
        entries_of[e.resource_id].append(EntryView(e.source_id, e.title, e.url, e.id, who, note))
    source_of = {e.id: e.source_id for listed in entries_of.values() for e in listed}
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
        select(
            merges.c.id,
            merges.c.kept_id,
            merges.c.absorbed_id,
            merges.c.reason,
            merges.c.score,
            merges.c.entry_ids,
            absorbed.c.title,
        )
        .join(absorbed, absorbed.c.id == merges.c.absorbed_id)
        .where(merges.c.kept_id.in_(ids), merges.c.split_at.is_(None))
        .order_by(merges.c.id)
    ):
        taken = tuple(dict.fromkeys(source_of[i] for i in (m.entry_ids or ()) if i in source_of))
        merges_of[m.kept_id].append(MergeView(m.id, m.absorbed_id, m.title, m.reason, m.score, taken))
    splits_of = _splits(conn, ids)
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
            certainty=r.certainty,
            splits=tuple(splits_of[r.id]),
            relevance=r.relevance,
        )
        for r in rows
    )


def _splits(conn: Connection, ids: list[int]) -> dict[int, list[SplitView]]:
    """Both ends of every split merge touching these resources, each pointing at the other."""
    kept, absorbed = resources.alias("kept"), resources.alias("absorbed")
    found: dict[int, list[SplitView]] = defaultdict(list)
    wanted = set(ids)
    for s in conn.execute(
        select(merges.c.kept_id, merges.c.absorbed_id, merges.c.split_at, merges.c.split_by)
        .add_columns(kept.c.title.label("kept_title"), absorbed.c.title.label("absorbed_title"))
        .join(kept, kept.c.id == merges.c.kept_id)
        .join(absorbed, absorbed.c.id == merges.c.absorbed_id)
        .where(merges.c.split_at.is_not(None), or_(merges.c.kept_id.in_(ids), merges.c.absorbed_id.in_(ids)))
        .order_by(merges.c.id)
    ):
        if s.kept_id in wanted:
            found[s.kept_id].append(SplitView(s.absorbed_id, s.absorbed_title, s.split_at, s.split_by))
        if s.absorbed_id in wanted:
            found[s.absorbed_id].append(SplitView(s.kept_id, s.kept_title, s.split_at, s.split_by))
    return found


def resource_title(conn: Connection, resource_id: int) -> str | None:
    """The resource's title, or None when there is no such resource."""
    return conn.execute(select(resources.c.title).where(resources.c.id == resource_id)).scalar_one_or_none()
