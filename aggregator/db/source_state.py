"""What the database remembers about each source between runs: its state row, made from sources.yaml."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from aggregator.config.sources import SourceConfig
from aggregator.db.schema import sources

logger = logging.getLogger(__name__)


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
    new = []  # one executemany for the sources met for the first time (a first pass meets them all)
    for config in configs:
        row = existing.get(config.id)
        if row is None:
            new.append(
                {
                    "id": config.id,
                    "url": config.url,
                    "configured_url": config.url,
                    "consecutive_failures": 0,
                    "best_count": 0,
                    "drift_alarm": False,
                }
            )
        elif row.configured_url != config.url:
            logger.info("source URL changed in sources.yaml", extra={"source_id": config.id, "url": config.url})
            conn.execute(
                update(sources)
                .where(sources.c.id == config.id)
                .values(
                    url=config.url,
                    configured_url=config.url,
                    etag=None,
                    last_modified=None,
                    disabled_reason=None,
                    paused_until=None,
                )
            )
    if new:
        conn.execute(insert(sources), new)


_STATE = select(
    sources.c.id,
    sources.c.url,
    sources.c.etag,
    sources.c.last_modified,
    sources.c.harvest_cursor,
    sources.c.last_fetch_at,
    sources.c.consecutive_failures,
    sources.c.best_count,
    sources.c.disabled_reason,
    sources.c.paused_until,
)


def load_source_state(conn: Connection, source_id: str) -> SourceState:
    return SourceState(**conn.execute(_STATE.where(sources.c.id == source_id)).one()._mapping)


def load_source_states(conn: Connection, source_ids: Sequence[str]) -> dict[str, SourceState]:
    """The states of `source_ids` (each must have its row: see sync_sources), in one query per thousand."""
    states: dict[str, SourceState] = {}
    for start in range(0, len(source_ids), 1000):
        chunk = source_ids[start : start + 1000]
        states.update(
            (row.id, SourceState(**row._mapping)) for row in conn.execute(_STATE.where(sources.c.id.in_(chunk)))
        )
    missing = set(source_ids) - states.keys()
    if missing:
        raise LookupError(f"no state row for sources {sorted(missing)[:5]}")
    return states
