"""Storing small sets of resources for tests through the real normaliser and store."""

from __future__ import annotations

from datetime import UTC, datetime

from aggregator.config.sources import SourceConfig
from aggregator.db.store import store_resources, sync_sources
from aggregator.ingest.normalize import normalize_entry
from aggregator.model import RawEntry

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def source(source_id: str, **extra) -> SourceConfig:
    return SourceConfig(id=source_id, name=source_id, url=f"https://{source_id}.example/feed", adapter="feed", **extra)


def store(engine, config: SourceConfig, entries: list[RawEntry], now: datetime = NOW) -> None:
    with engine.begin() as conn:
        sync_sources(conn, [config])
        store_resources(conn, config.id, [normalize_entry(e, config) for e in entries], now)
