"""Recording one source's fetch: its resources and fetch record stored in one transaction (retried while the
database is busy), or the failure recorded with its cause and the source's back-off or pause."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from aggregator.config.sources import SourceConfig
from aggregator.db.pauses import SITE_PAUSE
from aggregator.db.store import FetchRecord, SourceState, StoreResult, load_source_state, record_fetch, store_resources
from aggregator.errors import (
    AggregatorError,
    GoneError,
    HTTPStatusError,
    NetworkError,
    ParseError,
    RateLimitedError,
    RobotsDisallowedError,
    TooManyRedirectsError,
)
from aggregator.ingest.backoff import backoff_delay
from aggregator.ingest.harvest import Harvest
from aggregator.model import Resource

logger = logging.getLogger(__name__)
DEFAULT_PAUSE = timedelta(hours=1)
LOCKED_RETRY_PAUSES = (0.5, 1.0, 2.0)  # seconds before each new attempt when the database is busy
MAX_PAUSE = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class SourceOutcome:
    """How one source fared in a run (the CLI's summary table and the health history)."""

    source_id: str
    outcome: str  # new-data | not-modified | failed | skipped
    result: StoreResult = StoreResult()
    seen: int = 0
    http_status: int | None = None
    error: str | None = None
    internal_error: bool = False  # an unexpected exception: a bug to report, not a source problem
    network_error: bool = False  # the host could not be reached (DNS, refused, TLS, timeout...)


@dataclass(frozen=True, slots=True)
class Harvested:
    """One source's harvest as the run hands it to be recorded: its normalised resources, or the error."""

    source: SourceConfig
    started_at: datetime
    harvest: Harvest | None = None
    resources: tuple[Resource, ...] = ()
    error: BaseException | None = None


def failure_kind(exc: BaseException) -> str:
    """A few words naming what kind of failure `exc` is, for the source's pause reason."""
    if isinstance(exc, NetworkError):
        return exc.cause
    if isinstance(exc, HTTPStatusError):
        return f"HTTP {exc.status}"
    if isinstance(exc, RobotsDisallowedError):
        return "disallowed by robots.txt"
    if isinstance(exc, TooManyRedirectsError):
        return "too many redirects"
    if isinstance(exc, DriftError):
        return "layout drift"
    if isinstance(exc, ParseError):
        return "unreadable response"
    if isinstance(exc, AggregatorError):
        return type(exc).__name__.removesuffix("Error").lower() + " error"
    return "internal error"


def store_with_retry(
    engine: Engine, harvested: Harvested, harvest: Harvest, clock, sleep: Callable[[float], None] = time.sleep
) -> SourceOutcome:
    """Store one source; a busy database (another writer holding SQLite's lock past the busy timeout) is
    retried a few times: the failed attempt's transaction was rolled back, so nothing is half written."""
    for attempt, pause in enumerate(LOCKED_RETRY_PAUSES, start=1):
        try:
            return store_success(engine, harvested, harvest, clock)
        except OperationalError as exc:
            if not is_busy(exc):
                raise
            logger.warning("database busy; storing again", extra={"source_id": harvested.source.id, "count": attempt})
            sleep(pause)
    return store_success(engine, harvested, harvest, clock)  # the last try: its error is the source's


def is_busy(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "database is locked" in text or "database is busy" in text or "deadlock detected" in text


class DriftError(AggregatorError):
    def __init__(self, best: int) -> None:
        super().__init__(
            f"layout drift: the page's selectors matched no entries (up to {best} before)",
            hint="the partner probably changed the page layout; update the selectors in sources.yaml",
        )


def store_success(engine: Engine, harvested: Harvested, harvest: Harvest, clock) -> SourceOutcome:
    config = harvested.source
    with engine.begin() as conn:
        state = load_source_state(conn, config.id)
        result = store_resources(conn, config.id, harvested.resources, clock())
        outcome = "not-modified" if harvest.not_modified else "new-data"
        changes: dict = {"drift_alarm": False, "paused_until": None, "pause_reason": None}
        if not harvest.not_modified:
            changes.update(
                etag=harvest.etag,
                last_modified=harvest.last_modified,
                last_count=len(harvested.resources),
                best_count=max(state.best_count, len(harvested.resources)),
            )
        if harvest.cursor:
            changes["harvest_cursor"] = harvest.cursor
        if harvest.permanent_redirect and harvest.permanent_redirect != state.url:
            logger.info(
                "source moved permanently; stored URL updated",
                extra={"source_id": config.id, "url": state.url, "new_url": harvest.permanent_redirect},
            )
            changes["url"] = harvest.permanent_redirect
        record = FetchRecord(
            config.id,
            harvested.started_at,
            clock(),
            outcome,
            harvest.http_status,
            seen=len(harvested.resources),
            result=result,
        )
        record_fetch(conn, record, **changes)
    return SourceOutcome(config.id, outcome, result, len(harvested.resources), harvest.http_status)


def store_failure(
    engine: Engine, harvested: Harvested, state: SourceState, clock, jitter: Callable[[], float]
) -> SourceOutcome:
    config, exc = harvested.source, harvested.error
    assert exc is not None
    now = clock()
    changes: dict = {}
    status = getattr(exc, "status", None)
    failures = state.consecutive_failures + 1
    if isinstance(exc, GoneError):
        changes["disabled_reason"] = f"the address answered 410 Gone on {now:%Y-%m-%d}: {exc.hint}"
    elif isinstance(exc, RateLimitedError):
        pause = (
            timedelta(seconds=exc.retry_after)
            if exc.retry_after
            else max(DEFAULT_PAUSE, backoff_delay(failures, jitter()))
        )
        changes["paused_until"] = now + min(pause, MAX_PAUSE)
        changes["pause_reason"] = f"{SITE_PAUSE} (HTTP {exc.status})"
    else:  # every other failure kind waits longer after each failure in a row; a success resets it
        changes["paused_until"] = now + backoff_delay(failures, jitter())
        changes["pause_reason"] = (
            f"backing off after {failures} failure{'s' if failures > 1 else ''} in a row (last: {failure_kind(exc)})"
        )
    if isinstance(exc, DriftError):
        changes["drift_alarm"] = True
        changes["last_count"] = 0
    internal = not isinstance(exc, AggregatorError)
    message = f"internal error (please report): {type(exc).__name__}: {exc}" if internal else str(exc)
    logger.warning("source failed: %s", message, extra={"source_id": config.id})
    with engine.begin() as conn:
        record_fetch(
            conn, FetchRecord(config.id, harvested.started_at, now, "failed", status, error=message), **changes
        )
    return SourceOutcome(
        config.id,
        "failed",
        http_status=status,
        error=message,
        internal_error=internal,
        network_error=isinstance(exc, NetworkError),
    )
