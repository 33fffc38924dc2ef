"""The fetch run: every due source harvested concurrently across hosts, normalised, and stored per source."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from aggregator.config.sources import SourceConfig
from aggregator.db.pauses import SITE_PAUSE, is_site_pause, load_pause_reasons
from aggregator.db.store import (
    FetchRecord,
    SourceState,
    StoreResult,
    load_source_state,
    load_source_states,
    record_fetch,
    store_resources,
    sync_sources,
)
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
from aggregator.ingest.backoff import BACKOFF_FIRST, BACKOFF_MAX, backoff_delay  # noqa: F401 (re-exported)
from aggregator.ingest.entry_events import with_event  # noqa: F401 (re-exported)
from aggregator.ingest.harvest import Fetcher, Harvest, HarvestRequest, harvest_source
from aggregator.ingest.normalize import normalize_entry
from aggregator.model import Resource
from aggregator.settings import Settings

logger = logging.getLogger(__name__)
DEFAULT_PAUSE = timedelta(hours=1)
LOCKED_RETRY_PAUSES = (0.5, 1.0, 2.0)  # seconds before each new attempt when the database is busy
MAX_PAUSE = timedelta(days=7)


def utcnow() -> datetime:
    return datetime.now(UTC)


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
class _Harvested:
    source: SourceConfig
    started_at: datetime
    harvest: Harvest | None = None
    resources: tuple[Resource, ...] = ()
    error: BaseException | None = None


def run_fetch(
    settings: Settings,
    configs: Sequence[SourceConfig],
    engine: Engine,
    fetcher: Fetcher,
    *,
    clock: Callable[[], datetime] = utcnow,
    on_done: Callable[[SourceOutcome], None] | None = None,
    jitter: Callable[[], float] = random.random,
    retry_now: bool = False,
) -> list[SourceOutcome]:
    """Fetch every enabled source in `configs`; one host's sources in turn, hosts in parallel.

    Each worker thread fetches, parses and stores its sources, one transaction per source, so a
    failing source is recorded and the others go on. A single storing thread would be starved of
    the GIL by the parsing workers (every SQLite call gives it up, and getting it back waits behind
    them), which made the whole pass as slow as one worker. `on_done` is called from the workers,
    one call at a time. `retry_now` (someone asked for these sources by name) fetches sources that are
    backing off after failures; a site's own request to wait is still honoured.
    """
    enabled = [c for c in configs if c.enabled]
    with engine.begin() as conn:
        sync_sources(conn, enabled)
        states = load_source_states(conn, [c.id for c in enabled])
        paused = [c.id for c in enabled if states[c.id].paused_until is not None]
        pause_reasons = load_pause_reasons(conn, paused) if paused else {}
    outcomes: list[SourceOutcome] = []
    due: list[SourceConfig] = []
    for config in enabled:
        reason = _skip_reason(states[config.id], clock(), pause_reasons.get(config.id), retry_now=retry_now)
        if reason:
            outcome = SourceOutcome(config.id, "skipped", error=reason)
            outcomes.append(outcome)
            if on_done:
                on_done(outcome)
        else:
            due.append(config)

    groups: dict[str, list[SourceConfig]] = defaultdict(list)
    for config in due:
        groups[urlsplit(states[config.id].url).netloc.lower()].append(config)
    done = threading.Lock()

    def work(group: list[SourceConfig]) -> None:
        for config in group:
            harvested = _harvest_one(config, states[config.id], fetcher, settings, clock)
            outcome = _store_one(engine, harvested, states[config.id], clock, jitter)
            with done:
                outcomes.append(outcome)
                if on_done:
                    on_done(outcome)

    with ThreadPoolExecutor(
        max_workers=max(1, min(settings.fetch.max_workers, len(groups) or 1)), thread_name_prefix="fetch"
    ) as pool:
        for future in [pool.submit(work, group) for group in groups.values()]:
            future.result()
    return outcomes


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
    if isinstance(exc, _DriftError):
        return "layout drift"
    if isinstance(exc, ParseError):
        return "unreadable response"
    if isinstance(exc, AggregatorError):
        return type(exc).__name__.removesuffix("Error").lower() + " error"
    return "internal error"


def _skip_reason(
    state: SourceState, now: datetime, pause_reason: str | None = None, *, retry_now: bool = False
) -> str | None:
    if state.disabled_reason:
        return f"disabled: {state.disabled_reason}"
    if state.paused_until and state.paused_until > now and not (retry_now and not is_site_pause(pause_reason)):
        why = pause_reason or "at the site's request"
        return f"paused until {state.paused_until:%Y-%m-%d %H:%M} UTC: {why}"
    return None


def _harvest_one(
    config: SourceConfig, state: SourceState, fetcher: Fetcher, settings: Settings, clock: Callable[[], datetime]
) -> _Harvested:
    started = clock()
    request = HarvestRequest(
        source=config, url=state.url, etag=state.etag, last_modified=state.last_modified, cursor=state.harvest_cursor
    )
    try:
        harvest = harvest_source(request, fetcher)
        items = tuple(
            normalize_entry(with_event(e), config, summary_max_chars=settings.summary_max_chars)
            for e in harvest.entries
        )
        return _Harvested(config, started, harvest, items)
    except Exception as exc:  # recorded per source by the caller; unexpected ones are flagged as bugs
        if not isinstance(exc, AggregatorError):
            logger.exception("unexpected error harvesting source", extra={"source_id": config.id})
        return _Harvested(config, started, error=exc)


def _store_one(
    engine: Engine,
    harvested: _Harvested,
    state: SourceState,
    clock: Callable[[], datetime],
    jitter: Callable[[], float],
) -> SourceOutcome:
    config, harvest = harvested.source, harvested.harvest
    if harvested.error is None and harvest is not None:
        drift = config.adapter == "page" and not harvest.not_modified and not harvest.entries and state.best_count > 0
        if not drift:
            try:
                return _store_with_retry(engine, harvested, harvest, clock)
            except Exception as exc:  # the source's transaction was rolled back; record why
                logger.exception("storing source failed", extra={"source_id": config.id})
                harvested = _Harvested(config, harvested.started_at, harvest, error=exc)
        else:
            harvested = _Harvested(config, harvested.started_at, harvest, error=_DriftError(state.best_count))
    return _store_failure(engine, harvested, state, clock, jitter)


def _store_with_retry(
    engine: Engine, harvested: _Harvested, harvest: Harvest, clock, sleep: Callable[[float], None] = time.sleep
) -> SourceOutcome:
    """Store one source; a busy database (another writer holding SQLite's lock past the busy timeout) is
    retried a few times: the failed attempt's transaction was rolled back, so nothing is half written."""
    for attempt, pause in enumerate(LOCKED_RETRY_PAUSES, start=1):
        try:
            return _store_success(engine, harvested, harvest, clock)
        except OperationalError as exc:
            if not _is_busy(exc):
                raise
            logger.warning("database busy; storing again", extra={"source_id": harvested.source.id, "count": attempt})
            sleep(pause)
    return _store_success(engine, harvested, harvest, clock)  # the last try: its error is the source's


def _is_busy(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "database is locked" in text or "database is busy" in text or "deadlock detected" in text


class _DriftError(AggregatorError):
    def __init__(self, best: int) -> None:
        super().__init__(
            f"layout drift: the page's selectors matched no entries (up to {best} before)",
            hint="the partner probably changed the page layout; update the selectors in sources.yaml",
        )


def _store_success(engine: Engine, harvested: _Harvested, harvest: Harvest, clock) -> SourceOutcome:
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


def _store_failure(
    engine: Engine, harvested: _Harvested, state: SourceState, clock, jitter: Callable[[], float]
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
    if isinstance(exc, _DriftError):
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
