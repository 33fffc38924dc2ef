"""Why each source waits: the reason stored beside its paused_until (the site's Retry-After, or backoff)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select

from aggregator.db.schema import sources

SITE_PAUSE = "the site asked us to wait"
"""How the pause reason of a 429/503 starts: a pause that a retry-now does not cut short, unlike a backoff."""


def is_site_pause(pause_reason: str | None) -> bool:
    """Whether a pause is the site's own request (429/503) rather than our backoff (None: stored before reasons)."""
    return pause_reason is None or pause_reason.startswith(SITE_PAUSE)


def load_pause_reasons(conn: Connection, source_ids: Iterable[str]) -> dict[str, str | None]:
    """source id -> its pause reason (None when none was stored)."""
    ids = list(source_ids)
    rows = conn.execute(select(sources.c.id, sources.c.pause_reason).where(sources.c.id.in_(ids)))
    return {row.id: row.pause_reason for row in rows}
