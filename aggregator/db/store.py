"""Writing normalised resources and source health to the database, one transaction per source."""

from __future__ import annotations

import functools
import itertools
import logging
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Column, Connection, Dialect, Row, Table, bindparam, insert, select, update
from sqlalchemy.types import TypeEngine

from aggregator.db.schema import entries, fetch_runs, resources, sources
from aggregator.model import Event, Resource
from aggregator.sources import SourceConfig

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StoreResult:
    """What storing one source's resources did."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True, slots=True)
class SourceState:
    """What the database remembers about a source between runs."""

    id: str
    url: str
    etag: str | None
    last_modified: str | None
    harvest_cursor: str | None
    last_fetch_at: datetime | None
    consecutive_failures: int
    best_count: int
    disabled_reason: str | None
    paused_until: datetime | None


def sync_sources(conn: Connection, configs: Iterable[SourceConfig]) -> None:
    """Make sure every configured source has a state row; a URL changed in sources.yaml wins over a
    URL learnt from a redirect (the editor's word is newer)."""
    existing = {row.id: row for row in conn.execute(select(sources.c.id, sources.c.configured_url))}
    for config in configs:
        row = existing.get(config.id)
        if row is None:
            conn.execute(insert(sources).values(
                id=config.id, url=config.url, configured_url=config.url, consecutive_failures=0,
                best_count=0, drift_alarm=False))
        elif row.configured_url != config.url:
            logger.info("source URL changed in sources.yaml", extra={"source_id": config.id, "url": config.url})
            conn.execute(update(sources).where(sources.c.id == config.id).values(
                url=config.url, configured_url=config.url, etag=None, last_modified=None,
                disabled_reason=None, paused_until=None))


def load_source_state(conn: Connection, source_id: str) -> SourceState:
    row = conn.execute(select(
        sources.c.id, sources.c.url, sources.c.etag, sources.c.last_modified, sources.c.harvest_cursor,
        sources.c.last_fetch_at, sources.c.consecutive_failures, sources.c.best_count,
        sources.c.disabled_reason, sources.c.paused_until,
    ).where(sources.c.id == source_id)).one()
    return SourceState(**row._mapping)


# Built once: building the statement cost more than running it on a source with few entries.
_STORED_ENTRIES = (select(entries.c.id, entries.c.key, entries.c.canonical_url, entries.c.resource_id,
                          entries.c.content_hash).where(entries.c.source_id == bindparam("source_id")))


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
    "canonical_url", "url", "title", "summary", "summary_html", "type", "published_at", "updated_at", "doi",
    "authors", "tags", "image_url", "event_start", "event_end", "event_timezone", "event_location",
    "event_online", "registration_url",
)
ENTRY_COLUMNS = (
    "url", "canonical_url", "title", "summary", "summary_html", "type", "published_at", "updated_at", "doi",
    "authors", "tags", "extra", "content_hash",
)
_NO_EVENT = Event()


def _resource_row(item: Resource) -> tuple:
    # authors and tags stay tuples: the JSON columns store them as lists all the same.
    event = item.event or _NO_EVENT
    return (item.canonical_url, item.url, item.title, item.summary, item.summary_html, item.type.value,
            item.published, item.updated, item.doi, item.authors, item.tags, item.image_url,
            event.start, event.end, event.timezone, event.location, event.online, event.registration_url)


def _entry_row(item: Resource) -> tuple:
    return (item.url, item.canonical_url, item.title, item.summary, item.summary_html, item.type.value,
            item.published, item.updated, item.doi, item.authors, item.tags, dict(item.extra),
            item.content_hash)


def _insert_new(conn: Connection, fresh: Sequence[Resource], now: datetime) -> None:
    if not fresh:
        return
    # Canonical URLs are unique within a batch (store_resources drops repeats), so ids are matched by
    # URL: asking RETURNING for parameter order makes SQLite insert one row per statement.
    # A resource and its entry share authors, tags and dates, and a site's authors and tags recur from
    # one entry and one run to the next: memos kept for the dialect process each value once.
    memos = lasting_memos(conn.dialect)
    returned = bulk_insert(conn, resources, RESOURCE_COLUMNS, [_resource_row(item) for item in fresh],
                           {"status": "pending", "created_at": now, "modified_at": now},
                           returning=(resources.c.id, resources.c.canonical_url), memos=memos)
    ids = {url: resource_id for resource_id, url in returned}
    bulk_insert(conn, entries, (*ENTRY_COLUMNS, "source_id", "key", "resource_id"),
                [(*_entry_row(item), item.source_id, item.key, ids[item.canonical_url]) for item in fresh],
                {"first_seen_at": now, "last_seen_at": now}, memos=memos)


def _update_changed(conn: Connection, changed: Sequence[tuple[int, int, Resource]], now: datetime) -> None:
    for entry_id, resource_id, item in changed:
        conn.execute(update(entries).where(entries.c.id == entry_id)
                     .values(**dict(zip(ENTRY_COLUMNS, _entry_row(item))), key=item.key, last_seen_at=now))
        # Only a resource still waiting for review follows its source; once an editor has decided,
        # changes are kept on the entry (provenance) for the editors to review.
        conn.execute(update(resources)
                     .where(resources.c.id == resource_id, resources.c.status == "pending")
                     .values(**dict(zip(RESOURCE_COLUMNS, _resource_row(item))), modified_at=now))


def _touch_unchanged(conn: Connection, entry_ids: Sequence[int], now: datetime) -> None:
    for start in range(0, len(entry_ids), 1000):
        conn.execute(update(entries).where(entries.c.id.in_(entry_ids[start:start + 1000]))
                     .values(last_seen_at=now))


# Bound parameters per statement: SQLite's limit since 3.32 (SQLAlchemy's insertmanyvalues assumes it too).
_MAX_PARAMETERS = 32766
# Rows per multi-row INSERT ... RETURNING; each size up to this is compiled once, so it stays modest.
_MAX_ROWS_PER_STATEMENT = 128
_UNSEEN = object()
_EMPTY_DICT = object()
_STR_ONLY = {str}
UTC = timezone.utc


def bulk_insert(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple],
                constants: Mapping[str, object], *, returning: Sequence[Column] = (),
                memos: dict[str, dict] | None = None) -> list[Row]:
    """Insert `rows` (tuples of values for `columns`) with `constants` in every row; the RETURNING rows.

    The per-row cost of Core's executemany is in building and processing one parameter dict per row.
    On positional dialects (SQLite) the compiled INSERT runs on the driver directly: values go through
    the same bind processors SQLAlchemy would use, column by column, constants and Python-side column
    defaults once per call. Other dialects (PostgreSQL) take the plain Core executemany.
    `memos`, given to several calls, lets them share processed values (see _processed), per column type.
    """
    if not rows:
        return []
    dialect = conn.dialect
    if not dialect.positional:
        statement = insert(table).returning(*returning) if returning else insert(table)
        result = conn.execute(statement, [{**dict(zip(columns, row)), **constants} for row in rows])
        return result.all() if returning else []
    names, plan = _insert_plan(dialect, table, tuple(columns), tuple(constants))
    memos = {} if memos is None else memos
    values = []
    for name, position, process, type_key in plan:
        if position is None:
            value = constants[name] if name in constants else _default_value(table.c[name])
            values.append(itertools.repeat(process(value) if process else value))
            continue
        column = [row[position] for row in rows]
        values.append(_processed(process, column, memos.setdefault(type_key, {})) if process else column)
    parameters = list(zip(*values))
    if not returning:
        conn.exec_driver_sql(_insert_sql(dialect, table, names, (), 1), parameters)
        return []
    returned: list[Row] = []
    limit = min(_MAX_ROWS_PER_STATEMENT, _MAX_PARAMETERS // len(names))
    start = 0
    while start < len(parameters):
        size = _chunk_size(len(parameters) - start, limit)
        sql = _insert_sql(dialect, table, names, tuple(returning), size)
        chunk = tuple(itertools.chain.from_iterable(parameters[start:start + size]))
        returned.extend(conn.exec_driver_sql(sql, chunk).all())
        start += size
    return returned


def _chunk_size(remaining: int, limit: int) -> int:
    """Rows for the next multi-row INSERT: a multiple of 16 while 16 or more remain, then the rest.

    A source's entries take at most two statements (each costs a round trip through the driver), and
    the sizes that can occur stay few (compiled and cached once each): multiples of 16 and 1 to 15.
    """
    return min(limit, remaining if remaining < 16 else remaining - remaining % 16)


# Processed values a memo keeps between batches at most: a fuller one starts again before the next batch
# (most values that recur soon come back; a batch's own values are always all kept, for its entries).
_MEMO_LIMIT = 4096
_LASTING_MEMOS: weakref.WeakKeyDictionary[Dialect, dict[str, dict]] = weakref.WeakKeyDictionary()


def lasting_memos(dialect: Dialect) -> dict[str, dict]:
    """Memos for the bulk_insert calls of one batch that outlive it: one set per dialect (an engine's
    processors are its own; the memos go with it), each emptied first when it holds over _MEMO_LIMIT."""
    memos = _LASTING_MEMOS.setdefault(dialect, {})
    for memo in memos.values():
        if len(memo) > _MEMO_LIMIT:
            memo.clear()
    return memos


def _processed(process: Callable[[object], object], values: list, memo: dict) -> list:
    """`process` applied to each value; values that repeat (tags and authors from row to row, an empty
    `extra`, a resource's values again in its entry) once per distinct value, which `memo` remembers."""
    processed = []
    append = processed.append
    remembered = memo.get
    for value in values:
        # None and UTC datetimes (most values) are their own keys: _memo_key's first rule, without the call.
        key = value if value is None or (type(value) is datetime and value.tzinfo is UTC) else _memo_key(value)
        if key is _UNSEEN:
            append(process(value))
            continue
        result = remembered(key, _UNSEEN)
        if result is _UNSEEN:
            result = memo[key] = process(value)
        append(result)
    return processed


def _memo_key(value: object) -> object:
    """A key for `value` equal only to the keys of values that process alike; _UNSEEN: not remembered.

    None, UTC datetimes and tuples of strings qualify. Datetimes in other zones do not: the two readings
    of an hour the clocks repeat compare equal; nor do tuples of other values (1 == True, yet JSON writes
    them differently). An empty dict stands for itself.
    """
    kind = type(value)
    if (value is None or (kind is datetime and value.tzinfo is UTC)
            or (kind is tuple and (not value or {*map(type, value)} == _STR_ONLY))):
        return value
    if kind is dict and not value:
        return _EMPTY_DICT
    return _UNSEEN


@functools.lru_cache(maxsize=128)
def _type_key(column_type: TypeEngine) -> str:
    """Columns whose types have equal keys process values alike: a type's repr shows its class and arguments."""
    return repr(column_type)


@functools.lru_cache(maxsize=128)
def _insert_plan(dialect: Dialect, table: Table, columns: tuple[str, ...], constants: tuple[str, ...]
                 ) -> tuple[tuple[str, ...], tuple[tuple[str, int | None, Callable | None, str], ...]]:
    """The columns of a one-row INSERT of `columns` and `constants` in parameter order (with the ones given
    Python-side defaults), and for each: its name, its place in a row tuple (None for a constant or a
    default), its bind processor and its type key (see _type_key)."""
    names = tuple(insert(table).compile(dialect=dialect, column_keys=[*columns, *constants]).positiontup)
    index = {name: i for i, name in enumerate(columns)}
    plan = []
    for name in names:
        column_type = table.c[name].type
        plan.append((name, index.get(name), column_type.dialect_impl(dialect).bind_processor(dialect),
                     _type_key(column_type)))
    return names, tuple(plan)


@functools.lru_cache(maxsize=128)
def _insert_sql(dialect: Dialect, table: Table, names: tuple[str, ...], returning: tuple[Column, ...],
                rows: int) -> str:
    """The SQL of a `rows`-row INSERT of `names` (in _insert_plan order), as SQLAlchemy compiles it."""
    statement = insert(table).values([dict.fromkeys(names)] * rows if rows > 1 else dict.fromkeys(names))
    compiled = (statement.returning(*returning) if returning else statement).compile(dialect=dialect)
    if len(compiled.positiontup) != rows * len(names) or (rows == 1 and tuple(compiled.positiontup) != names):
        raise RuntimeError(f"unexpected parameter order in a bulk INSERT into {table.name}")
    return compiled.string


def _default_value(column: Column) -> object:
    default = column.default
    if default is None:
        return None
    if not default.is_scalar:
        raise ValueError(f"{column} has a computed default: give its value explicitly in a bulk insert")
    return default.arg


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
    conn.execute(insert(fetch_runs).values(
        source_id=record.source_id, started_at=record.started_at, finished_at=record.finished_at,
        outcome=record.outcome, http_status=record.http_status, seen=record.seen, new=record.result.new,
        updated=record.result.updated, unchanged=record.result.unchanged, error=record.error))
    values: dict = {"last_fetch_at": record.finished_at, "last_status": record.http_status, **state_changes}
    if record.outcome == "failed":
        values["last_error"] = record.error
        values["consecutive_failures"] = sources.c.consecutive_failures + 1
    elif record.outcome in ("new-data", "not-modified"):
        values.update(last_error=None, consecutive_failures=0, last_success_at=record.finished_at)
    conn.execute(update(sources).where(sources.c.id == record.source_id).values(**values))
