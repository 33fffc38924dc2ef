"""Writing normalised resources and source health to the database, one transaction per source."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, insert, select, update

from aggregator.db.schema import entries, fetch_runs, resources, sources
from aggregator.db.source_state import SourceState, load_source_state, load_source_states, sync_sources
from aggregator.model import Event, Resource

__all__ = [  # the source-state half lives in db/source_state.py; callers import both from here
    "FetchRecord",
    "SourceState",
    "StoreResult",
    "load_source_state",
    "load_source_states",
    "record_fetch",
    "store_resources",
    "sync_sources",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StoreResult:
    """What storing one source's resources did."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0


_STORED_ENTRIES = select(
    entries.c.id, entries.c.key, entries.c.canonical_url, entries.c.resource_id, entries.c.content_hash
).where(entries.c.source_id == bindparam("source_id"))


def store_resources(conn: Connection, source_id: str, items: Sequence[Resource], now: datetime) -> StoreResult:
    """Insert new resources, update changed ones in place, touch unchanged ones (within one source).

    An entry is the same as a stored one when its key (guid, else canonical URL) or its canonical URL
    matches; so a re-run over unchanged sources adds no rows.
    """
    by_key: dict[str, tuple[int, int, str]] = {}
    by_url: dict[str, tuple[int, int, str]] = {}
    for row in conn.execute(_STORED_ENTRIES, {"source_id": source_id}):
        record = (row.id, row.resource_id, row.content_hash)
        by_key[row.key] = record
        by_url.setdefault(row.canonical_url, record)

    fresh: list[Resource] = []
    changed: list[tuple[int, int, Resource]] = []
    unchanged: list[int] = []
    seen_in_batch: set[str] = set()
    for item in items:
        if item.key in seen_in_batch or item.canonical_url in seen_in_batch:
            continue  # the same entry twice in one fetch: keep the first
        seen_in_batch.update((item.key, item.canonical_url))
        match = by_key.get(item.key) or by_url.get(item.canonical_url)
        if match is None:
            fresh.append(item)
        elif match[2] == item.content_hash:
            unchanged.append(match[0])
        else:
            changed.append((match[0], match[1], item))

    _insert_new(conn, fresh, now)
    _update_changed(conn, changed, now)
    _touch_unchanged(conn, unchanged, now)
    return StoreResult(new=len(fresh), updated=len(changed), unchanged=len(unchanged))


# Columns a resource and its entry take from the Resource, in the order _resource_row/_entry_row give them.
RESOURCE_COLUMNS = (
    "canonical_url",
    "url",
    "title",
    "summary",
    "summary_html",
    "type",
    "published_at",
    "updated_at",
    "doi",
    "authors",
    "tags",
    "image_url",
    "event_start",
    "event_end",
    "event_timezone",
    "event_location",
    "event_online",
    "registration_url",
    "type_stated",
)
ENTRY_COLUMNS = (
    "url",
    "canonical_url",
    "title",
    "summary",
    "summary_html",
    "type",
    "published_at",
    "updated_at",
    "doi",
    "authors",
    "tags",
    "extra",
    "content_hash",
)
_NO_EVENT = Event()


def _resource_row(item: Resource) -> tuple:
    # authors and tags stay tuples: the JSON columns store them as lists all the same.
    event = item.event or _NO_EVENT
    return (
        item.canonical_url,
        item.url,
        item.title,
        item.summary,
        item.summary_html,
        item.type.value,
        item.published,
        item.updated,
        item.doi,
        item.authors,
        item.tags,
        item.image_url,
        event.start,
        event.end,
        event.timezone,
        event.location,
        event.online,
        event.registration_url,
        item.type_stated,
    )


def _entry_row(item: Resource) -> tuple:
    return (
        item.url,
        item.canonical_url,
        item.title,
        item.summary,
        item.summary_html,
        item.type.value,
        item.published,
        item.updated,
        item.doi,
        item.authors,
        item.tags,
        dict(item.extra),
        item.content_hash,
    )


def _insert_new(conn: Connection, fresh: Sequence[Resource], now: datetime) -> None:
    if not fresh:
        return
    # Canonical URLs are unique within a batch (store_resources drops repeats), so the RETURNING rows
    # are matched to their entries by URL, in whatever order the database gives them.
    ids: dict[str, int] = {}
    for chunk in _chunks(fresh):
        rows = [
            {
                **dict(zip(RESOURCE_COLUMNS, _resource_row(item))),
                "status": "pending",
                "created_at": now,
                "modified_at": now,
            }
            for item in chunk
        ]
        result = conn.execute(insert(resources).returning(resources.c.id, resources.c.canonical_url), rows)
        ids.update((url, resource_id) for resource_id, url in result)
    conn.execute(
        insert(entries),
        [
            {
                **dict(zip(ENTRY_COLUMNS, _entry_row(item))),
                "source_id": item.source_id,
                "key": item.key,
                "resource_id": ids[item.canonical_url],
                "first_seen_at": now,
                "last_seen_at": now,
            }
            for item in fresh
        ],
    )


def _chunks(items: Sequence[Resource], size: int = 1000) -> Iterable[Sequence[Resource]]:
    return (items[start : start + size] for start in range(0, len(items), size))


def _update_changed(conn: Connection, changed: Sequence[tuple[int, int, Resource]], now: datetime) -> None:
    for entry_id, resource_id, item in changed:
        conn.execute(
            update(entries)
            .where(entries.c.id == entry_id)
            .values(**dict(zip(ENTRY_COLUMNS, _entry_row(item))), key=item.key, last_seen_at=now)
        )
        # Only a resource still waiting for review follows its source; once an editor has decided,
        # changes are kept on the entry (provenance) for the editors to review.
        conn.execute(
            update(resources)
            .where(resources.c.id == resource_id, resources.c.status == "pending")
            .values(**dict(zip(RESOURCE_COLUMNS, _resource_row(item))), modified_at=now)
        )


def _touch_unchanged(conn: Connection, entry_ids: Sequence[int], now: datetime) -> None:
    for start in range(0, len(entry_ids), 1000):
        conn.execute(update(entries).where(entries.c.id.in_(entry_ids[start : start + 1000])).values(last_seen_at=now))


@dataclass(frozen=True, slots=True)
class FetchRecord:
    """The outcome of one source's fetch, as stored in its health."""

    source_id: str
    started_at: datetime
    finished_at: datetime
    outcome: str  # new-data | not-modified | failed | skipped
    http_status: int | None = None
    seen: int = 0
    result: StoreResult = StoreResult()
    error: str | None = None


def record_fetch(conn: Connection, record: FetchRecord, **state_changes) -> None:
    """Append the run to the source's history and update its health (plus any state given)."""
    conn.execute(
        insert(fetch_runs).values(
            source_id=record.source_id,
            started_at=record.started_at,
            finished_at=record.finished_at,
            outcome=record.outcome,
            http_status=record.http_status,
            seen=record.seen,
            new=record.result.new,
            updated=record.result.updated,
            unchanged=record.result.unchanged,
            error=record.error,
        )
    )
    values: dict = {"last_fetch_at": record.finished_at, "last_status": record.http_status, **state_changes}
    if record.outcome == "failed":
        values["last_error"] = record.error
        values["consecutive_failures"] = sources.c.consecutive_failures + 1
    elif record.outcome in ("new-data", "not-modified"):
        values.update(last_error=None, consecutive_failures=0, last_success_at=record.finished_at)
    conn.execute(update(sources).where(sources.c.id == record.source_id).values(**values))
