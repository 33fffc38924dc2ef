"""One source's page for people: its fetch history, entries per run as a sparkline, the drift alarm and its pause."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from aggregator.db.schema import entries, fetch_runs, sources

HISTORY = 60  # runs shown, newest first


@dataclass(frozen=True, slots=True)
class FetchRun:
    started_at: datetime
    outcome: str  # new-data | not-modified | failed | skipped
    http_status: int | None
    seen: int
    new: int
    updated: int
    seconds: float | None  # None while the run had no end recorded
    error: str  # the cause of a failure, as stored; "" otherwise


@dataclass(frozen=True, slots=True)
class SourceState:
    """What the database says about a source now (None of it when it was never fetched)."""

    drift_alarm: bool
    best_count: int
    last_count: int | None
    paused_until: datetime | None
    pause_reason: str
    consecutive_failures: int
    url: str  # the address fetched now: a permanent redirect may have changed it
    resources: int  # resources that list this source


@dataclass(frozen=True, slots=True)
class SourceHistory:
    state: SourceState | None
    runs: tuple[FetchRun, ...]  # newest first


@dataclass(frozen=True, slots=True)
class Sparkline:
    """A polyline of entries per run, oldest left, in a width x height box (for an inline SVG)."""

    points: str
    width: int
    height: int
    low: int
    high: int
    count: int


def source_history(conn: Connection, source_id: str, *, limit: int = HISTORY) -> SourceHistory:
    """The source's stored state and its last `limit` fetch runs."""
    row = conn.execute(select(sources).where(sources.c.id == source_id)).one_or_none()
    runs = conn.execute(
        select(fetch_runs)
        .where(fetch_runs.c.source_id == source_id)
        .order_by(fetch_runs.c.started_at.desc(), fetch_runs.c.id.desc())
        .limit(limit)
    )
    history = tuple(
        FetchRun(
            r.started_at,
            r.outcome,
            r.http_status,
            r.seen,
            r.new,
            r.updated,
            (r.finished_at - r.started_at).total_seconds() if r.finished_at else None,
            r.error or "",
        )
        for r in runs
    )
    if row is None:
        return SourceHistory(None, history)
    count = conn.execute(
        select(func.count(func.distinct(entries.c.resource_id))).where(entries.c.source_id == source_id)
    ).scalar_one()
    state = SourceState(
        bool(row.drift_alarm),
        row.best_count,
        row.last_count,
        row.paused_until,
        row.pause_reason or "",
        row.consecutive_failures,
        row.url,
        count,
    )
    return SourceHistory(state, history)


def sparkline(runs: Sequence[FetchRun], *, width: int = 240, height: int = 40) -> Sparkline | None:
    """Entries seen per run, oldest first: a not-modified run repeats the size before it, failed and skipped
    runs say nothing about the source's size and are left out; None with fewer than two points. Pure."""
    values: list[int] = []
    for run in reversed(runs):
        if run.outcome == "new-data":
            values.append(run.seen)
        elif run.outcome == "not-modified" and values:
            values.append(values[-1])
    if len(values) < 2:
        return None
    low, high = min(values), max(values)
    span = (high - low) or 1
    step = (width - 4) / (len(values) - 1)
    points = " ".join(
        f"{2 + i * step:.1f},{height - 2 - (value - low) * (height - 4) / span:.1f}" for i, value in enumerate(values)
    )
    return Sparkline(points, width, height, low, high, len(values))
