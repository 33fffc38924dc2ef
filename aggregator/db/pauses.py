"""Why each source waits: the reason stored beside its paused_until (the site's Retry-After, or backoff)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select

from aggregator.db.schema import sources


def load_pause_reasons(conn: Connection, source_ids: Iterable[str]) -> dict[str, str | None]:
    """source id -> its pause reason (None when none was stored)."""
    ids = list(source_ids)
    rows = conn.execute(select(sources.c.id, sources.c.pause_reason).where(sources.c.id.in_(ids)))
    return {row.id: row.pause_reason for row in rows}
