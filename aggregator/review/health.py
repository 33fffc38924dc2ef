"""Read-only views for people: source health (with alarms in plain words) and resource listings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select

from aggregator.config.sources import SourceConfig
from aggregator.db.pauses import SITE_PAUSE, is_site_pause
from aggregator.db.schema import entries, labels, merges, resources, sources
from aggregator.model import ResourceStatus

FAILURES_FOR_ALARM = 3


@dataclass(frozen=True, slots=True)
class SourceHealth:
    source_id: str
    adapter: str
    state: str  # ok | never fetched | failing | disabled | paused | off (sources.yaml)
    alarm: bool
    last_fetch: str
    http_status: int | None
    failures: int
    last_count: int | None
    problem: str  # readable by a non-developer; "" when all is well
    next_try: str = ""  # "2026-12-05 14:10 UTC: backing off after 2 failures in a row (last: DNS failure)"


def source_health(engine: Engine, configs: Sequence[SourceConfig], now: datetime | None = None) -> list[SourceHealth]:
    """One row per configured source, from its stored state."""
    now = now or datetime.now(UTC)
    with engine.connect() as conn:
        stored = {row.id: row for row in conn.execute(select(sources))}
    rows = []
    for config in configs:
        row = stored.get(config.id)
        if row is None:
            rows.append(
                SourceHealth(
                    config.id,
                    config.adapter,
                    "never fetched" if config.enabled else "off",
                    False,
                    "",
                    None,
                    0,
                    None,
                    "",
                )
            )
            continue
        problem = row.last_error or ""
        if row.drift_alarm and not problem:
            problem = "the page's layout seems to have changed: no entries found where there used to be some"
        if not config.enabled:
            state = "off"
        elif row.disabled_reason:
            state, problem = "disabled", row.disabled_reason
        elif row.paused_until is not None and row.consecutive_failures and is_site_pause(row.pause_reason):
            state = "paused"
        elif row.consecutive_failures:
            state = "failing"
        else:
            state = "ok"
        alarm = bool(row.drift_alarm) or row.consecutive_failures >= FAILURES_FOR_ALARM or state == "disabled"
        last = f"{row.last_fetch_at:%Y-%m-%d %H:%M}" if row.last_fetch_at else ""
        next_try = ""
        if row.paused_until is not None and row.paused_until > now and state in ("paused", "failing"):
            next_try = f"{row.paused_until:%Y-%m-%d %H:%M} UTC: {row.pause_reason or SITE_PAUSE}"
        rows.append(
            SourceHealth(
                config.id,
                config.adapter,
                state,
                alarm,
                last,
                row.last_status,
                row.consecutive_failures,
                row.last_count,
                problem,
                next_try,
            )
        )
    return rows


@dataclass(frozen=True, slots=True)
class ResourceRow:
    id: int
    type: str
    published: str
    title: str
    sources: str
    status: str
    labels: str  # "theme:kindness 0.9, audience:leaders 0.6"
    off_topic: bool


def list_resources(
    engine: Engine,
    *,
    source_id: str | None = None,
    status: str | None = None,
    theme: str | None = None,
    audience: str | None = None,
    limit: int = 30,
) -> list[ResourceRow]:
    """The newest live resources (by first seen) with their sources and labels, optionally filtered."""
    query = select(
        resources.c.id,
        resources.c.type,
        resources.c.published_at,
        resources.c.title,
        resources.c.status,
        resources.c.off_topic,
    ).where(resources.c.status != ResourceStatus.MERGED)
    if source_id:
        query = query.where(resources.c.id.in_(select(entries.c.resource_id).where(entries.c.source_id == source_id)))
    if status:
        query = query.where(resources.c.status == status)
    for kind, label_id in (("theme", theme), ("audience", audience)):
        if label_id:
            query = query.where(
                resources.c.id.in_(
                    select(labels.c.resource_id).where(labels.c.kind == kind, labels.c.label_id == label_id)
                )
            )
    query = query.order_by(resources.c.created_at.desc(), resources.c.id.desc()).limit(limit)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
        ids = [r.id for r in rows]
        sources_of: dict[int, list[str]] = {}
        for e in conn.execute(select(entries.c.resource_id, entries.c.source_id).where(entries.c.resource_id.in_(ids))):
            sources_of.setdefault(e.resource_id, []).append(e.source_id)
        labels_of: dict[int, list[str]] = {}
        for lab in conn.execute(
            select(labels)
            .where(labels.c.resource_id.in_(ids))
            .order_by(labels.c.kind.desc(), labels.c.confidence.desc())
        ):
            labels_of.setdefault(lab.resource_id, []).append(f"{lab.kind}:{lab.label_id} {lab.confidence:.1f}")
    return [
        ResourceRow(
            r.id,
            r.type,
            f"{r.published_at:%Y-%m-%d}" if r.published_at else "",
            r.title,
            ", ".join(sorted(set(sources_of.get(r.id, [])))),
            r.status,
            ", ".join(labels_of.get(r.id, [])),
            r.off_topic,
        )
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class ResourceDetail:
    """One stored resource with its labels, the entries that list it and its live merges."""

    row: Any
    labels: list[Any]
    entries: list[Any]
    merges: list[Any]


def find_resource(engine: Engine, resource_id: int) -> Any | None:
    """The resource's stored row, or None when there is no such resource."""
    with engine.connect() as conn:
        return conn.execute(select(resources).where(resources.c.id == resource_id)).one_or_none()


def resource_detail(engine: Engine, resource_id: int) -> ResourceDetail | None:
    """Everything stored about one resource, or None when there is no such resource."""
    with engine.connect() as conn:
        row = conn.execute(select(resources).where(resources.c.id == resource_id)).one_or_none()
        if row is None:
            return None
        return ResourceDetail(
            row,
            list(conn.execute(select(labels).where(labels.c.resource_id == resource_id))),
            list(conn.execute(select(entries).where(entries.c.resource_id == resource_id))),
            list(conn.execute(select(merges).where(merges.c.kept_id == resource_id, merges.c.split_at.is_(None)))),
        )
