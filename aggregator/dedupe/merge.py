"""Merging duplicate resources across sources into one (keeping every source's entry), and splitting them again."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, func, insert, or_, select, update

from aggregator.db.schema import entries, merges, resources
from aggregator.dedupe import DedupeConfig, DedupeRecord, Match, cluster_duplicates
from aggregator.dedupe.engine import find_new_duplicates
from aggregator.errors import AggregatorError

logger = logging.getLogger(__name__)
DECIDED = ("approved", "rejected")


class MergeError(AggregatorError):
    """A merge or split asked for something that is not so (unknown merge, already split)."""

    hint = "list merges with `aggregator resources show ID`"


@dataclass(frozen=True, slots=True)
class MergeReport:
    compared: int  # resources compared: new or changed since the last pass (all of them with full=True)
    merged: int  # resources absorbed into another
    pairs: int = 0  # candidate pairs judged by title


def dedupe_resources(
    engine: Engine, now: datetime, *, config: DedupeConfig = DedupeConfig(), full: bool = False
) -> MergeReport:
    """Find duplicates among live resources listed by different sources and merge each group into one.

    Only resources new or changed since the last pass are compared (with each other and with every
    stored one): stored pairs were judged when the later of them came. `full` re-compares every pair.
    A pass with nothing new reads one count and stops.
    """
    with engine.connect() as conn:
        if not full and not conn.execute(select(func.count()).where(LIVE, CHANGED)).scalar_one():
            return MergeReport(compared=0, merged=0)
        records, sources_of, changed = _records(conn)
        split_pairs = {
            frozenset((r.kept_id, r.absorbed_id))
            for r in conn.execute(select(merges.c.kept_id, merges.c.absorbed_id).where(merges.c.split_at.is_not(None)))
        }
    if full:
        changed = {r.id for r in records}
    found = find_new_duplicates(
        [r for r in records if r.id not in changed], [r for r in records if r.id in changed], config=config
    )
    matches = [
        m
        for m in found.matches
        if not sources_of[m.a] & sources_of[m.b]  # one source's own entries are never merged
        and frozenset((m.a, m.b)) not in split_pairs
    ]  # an editor split them: respect it
    merged = 0
    by_pair = {frozenset((m.a, m.b)): m for m in matches}
    compared = set(changed)
    for group in cluster_duplicates([r.id for r in records], matches):
        with engine.begin() as conn:
            merged += merge_group(conn, sorted(group), by_pair, now)
        compared.update(group)  # the kept resource's fields were refreshed: not a change to compare again
    with engine.begin() as conn:
        mark_deduped(conn, sorted(compared), now)
    logger.info("de-duplicated resources", extra={"count": len(changed), "merged": merged, "pairs": found.compared})
    return MergeReport(compared=len(changed), merged=merged, pairs=found.compared)


LIVE = resources.c.status != "merged"
CHANGED = or_(resources.c.deduped_at.is_(None), resources.c.modified_at > resources.c.deduped_at)


def mark_deduped(conn: Connection, ids: Sequence[int], now: datetime) -> None:
    """Record that `ids` were compared: deduped_at is now, or their modified_at when that is later (a
    store's clock may run ahead of the pass's), so a later pass finds them unchanged."""
    for begin in range(0, len(ids), 1000):
        chunk = ids[begin : begin + 1000]
        conn.execute(update(resources).where(resources.c.id.in_(chunk)).values(deduped_at=resources.c.modified_at))
        conn.execute(
            update(resources).where(resources.c.id.in_(chunk), resources.c.deduped_at < now).values(deduped_at=now)
        )


def _records(conn: Connection) -> tuple[list[DedupeRecord], dict[int, set[str]], set[int]]:
    """Return the live resources as records, the sources listing each, and the ids new or changed."""
    sources_of: dict[int, set[str]] = defaultdict(set)
    for row in conn.execute(select(entries.c.resource_id, entries.c.source_id)):
        sources_of[row.resource_id].add(row.source_id)
    records, changed = [], set()
    for row in conn.execute(
        select(
            resources.c.id,
            resources.c.title,
            resources.c.canonical_url,
            resources.c.doi,
            resources.c.published_at,
            resources.c.authors,
            resources.c.type,
            resources.c.summary,
            CHANGED.label("changed"),
        ).where(LIVE)
    ):
        records.append(
            DedupeRecord(
                id=row.id,
                title=row.title,
                canonical_url=row.canonical_url,
                doi=row.doi,
                published=row.published_at.date() if row.published_at else None,
                authors=tuple(row.authors or ()),
                source_id=min(sources_of[row.id], default=None),
                kind=row.type,
                text=row.summary,
            )
        )
        if row.changed:
            changed.add(row.id)
    return records, sources_of, changed


def merge_group(conn: Connection, group: Sequence[int], matches: dict[frozenset, Match], now: datetime) -> int:
    """Merge `group` into its kept resource: the one editors decided on, else the first seen."""
    rows = {
        r.id: r
        for r in conn.execute(
            select(resources.c.id, resources.c.status, resources.c.title).where(resources.c.id.in_(group))
        )
    }
    kept = next((i for i in group if rows[i].status in DECIDED), group[0])
    for absorbed in (i for i in group if i != kept):
        match = matches.get(frozenset((kept, absorbed))) or next(
            (m for pair, m in matches.items() if absorbed in pair), None
        )
        moved = list(conn.execute(select(entries.c.id).where(entries.c.resource_id == absorbed)).scalars())
        conn.execute(update(entries).where(entries.c.resource_id == absorbed).values(resource_id=kept))
        conn.execute(
            update(resources)
            .where(resources.c.id == absorbed)
            .values(status="merged", merged_into_id=kept, modified_at=now)
        )
        conn.execute(
            insert(merges).values(
                kept_id=kept,
                absorbed_id=absorbed,
                entry_ids=moved,
                reason=match.reason if match else "same group",
                score=match.score if match else 0.0,
                created_at=now,
            )
        )
        if rows[kept].status in DECIDED and rows[absorbed].title != rows[kept].title:
            # editors already decided on this resource: a new title is proposed, never applied silently
            conn.execute(update(resources).where(resources.c.id == kept).values(proposed_title=rows[absorbed].title))
    refresh_from_entries(conn, kept, now)
    return len(group) - 1


def refresh_from_entries(conn: Connection, resource_id: int, now: datetime) -> None:
    """Choose a pending resource's best fields from all its sources' entries: the most complete summary,
    the earliest date, a DOI, every author and tag. A decided resource keeps its fields."""
    status = conn.execute(select(resources.c.status).where(resources.c.id == resource_id)).scalar_one()
    rows = conn.execute(select(entries).where(entries.c.resource_id == resource_id).order_by(entries.c.id)).all()
    if not rows or status in DECIDED:
        return
    fullest = max(rows, key=lambda r: len(r.summary))
    dates = [r.published_at for r in rows if r.published_at]
    conn.execute(
        update(resources)
        .where(resources.c.id == resource_id)
        .values(
            summary=fullest.summary,
            summary_html=fullest.summary_html,
            published_at=min(dates) if dates else None,
            doi=next((r.doi for r in rows if r.doi), None),
            authors=list(dict.fromkeys(a for r in rows for a in r.authors)),
            tags=list(dict.fromkeys(t for r in rows for t in r.tags)),
            modified_at=now,
        )
    )


def split_merge(conn: Connection, merge_id: int, *, editor: str | None, now: datetime) -> int:
    """Undo one merge: the absorbed resource comes back with its own entries; returns its id."""
    merge = conn.execute(select(merges).where(merges.c.id == merge_id)).one_or_none()
    if merge is None:
        raise MergeError(f"no merge {merge_id}")
    if merge.split_at is not None:
        raise MergeError(f"merge {merge_id} was already split on {merge.split_at:%Y-%m-%d}")
    conn.execute(update(entries).where(entries.c.id.in_(merge.entry_ids)).values(resource_id=merge.absorbed_id))
    conn.execute(
        update(resources)
        .where(resources.c.id == merge.absorbed_id)
        .values(status="pending", merged_into_id=None, modified_at=now)
    )
    conn.execute(update(merges).where(merges.c.id == merge_id).values(split_at=now, split_by=editor))
    # both compared again next pass (with everything but each other: the split pair is respected)
    conn.execute(
        update(resources).where(resources.c.id.in_((merge.kept_id, merge.absorbed_id))).values(deduped_at=None)
    )
    refresh_from_entries(conn, merge.kept_id, now)
    refresh_from_entries(conn, merge.absorbed_id, now)
    return merge.absorbed_id
