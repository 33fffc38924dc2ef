"""Turning a source off (with the reason people see) and on again, audited, and which sources are off."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select, update

from aggregator.config.sources import SourceConfig
from aggregator.db.schema import sources as sources_table
from aggregator.db.store import sync_sources
from aggregator.review.lifecycle import record_audit


def disabled_reasons(conn: Connection) -> dict[str, str | None]:
    """Each stored source's id and why it is turned off (None when it is on)."""
    return {r.id: r.disabled_reason for r in conn.execute(select(sources_table.c.id, sources_table.c.disabled_reason))}


def set_source_disabled(
    conn: Connection, config: SourceConfig, reason: str | None, *, user_id: int, now: datetime
) -> None:
    """Turn the source off with `reason`, or on again with None, and record who did it."""
    sync_sources(conn, [config])
    conn.execute(update(sources_table).where(sources_table.c.id == config.id).values(disabled_reason=reason))
    record_audit(
        conn,
        user_id=user_id,
        action="source-disable" if reason else "source-enable",
        subject_type="source",
        subject_id=config.id,
        now=now,
    )
