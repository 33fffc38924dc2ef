"""The fetch run: every due source harvested concurrently across hosts, normalised, and stored per source."""

from __future__ import annotations

import logging
import queue
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from aggregator.config.sources import SourceConfig
from aggregator.db.store import (
    FetchRecord,
    SourceState,
    StoreResult,
    load_source_state,
    record_fetch,
    store_resources,
    sync_sources,
)
from aggregator.errors import AggregatorError, GoneError, RateLimitedError
from aggregator.ingest.event_text import find_dated_occasion, find_series
from aggregator.ingest.events import find_event
from aggregator.ingest.harvest import Fetcher, Harvest, HarvestRequest, harvest_source
from aggregator.ingest.normalize import normalize_entry
from aggregator.ingest.resource_types import is_event
from aggregator.model import Event, RawEntry, Resource
from aggregator.settings import Settings
from aggregator.text.sanitize import html_to_text

logger = logging.getLogger(__name__)
DEFAULT_PAUSE = timedelta(hours=1)
LOCKED_RETRY_PAUSES = (0.5, 1.0, 2.0)  # seconds before each new attempt when the database is busy
MAX_PAUSE = timedelta(days=7)
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


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
) -> list[SourceOutcome]:
    """Fetch every enabled source in `configs`; one host's sources in turn, hosts in parallel.

    Parsing happens in the worker threads; storing happens here, one transaction per source, so a
    failing source is recorded and the others go on.
    """
    enabled = [c for c in configs if c.enabled]
    with engine.begin() as conn:
        sync_sources(conn, enabled)
        states = {c.id: load_source_state(conn, c.id) for c in enabled}
    outcomes: list[SourceOutcome] = []
    due: list[SourceConfig] = []
    for config in enabled:
        reason = _skip_reason(states[config.id], clock())
        if reason:
            outcome = SourceOutcome(config.id, "skipped", error=reason)
            outcomes.append(outcome)
            if on_done:
                on_done(outcome)
        else:
            due.append(config)

    results: queue.Queue[_Harvested] = queue.Queue()
    groups: dict[str, list[SourceConfig]] = defaultdict(list)
    for config in due:
        groups[urlsplit(states[config.id].url).netloc.lower()].append(config)

    def work(group: list[SourceConfig]) -> None:
        for config in group:
            results.put(_harvest_one(config, states[config.id], fetcher, settings, clock))

    with ThreadPoolExecutor(
        max_workers=max(1, min(settings.fetch.max_workers, len(groups) or 1)), thread_name_prefix="fetch"
    ) as pool:
        futures = [pool.submit(work, group) for group in groups.values()]
        for _ in range(len(due)):
            harvested = results.get()
            outcome = _store_one(engine, harvested, states[harvested.source.id], clock)
            outcomes.append(outcome)
            if on_done:
                on_done(outcome)
        for future in futures:
            future.result()
    return outcomes


def with_event(entry: RawEntry, *, default_tz: str = "Europe/London") -> RawEntry:
    """The entry with the event its own text announces, if any: labelled lines ("Date: ..."), else, in an
    announcement that is not a job advert, the first dated occasion ("16 December 2026, 14:00-15:30 GMT") or
    a monthly series ("third Thursday of every month, 6-7pm"; its rule goes into extra["recurrence"])."""
    if entry.event is not None:
        return entry
    html = entry.content_html or entry.summary_html
    event = find_event(html, default_tz=default_tz)
    if event is not None:
        return replace(entry, event=event)
    body = html_to_text(html)
    if not is_event(entry.title, body):
        return entry
    if series := find_series(f"{entry.title}\n{body}", after=entry.published or EPOCH, default_tz=default_tz):
        rule, start, end = series
        return replace(
            entry, event=Event(start=start, end=end, timezone=default_tz), extra={**entry.extra, "recurrence": rule}
        )
    # the body first: it usually gives the time as well as the day the title names
    occasion = find_dated_occasion(body, default_tz=default_tz) or find_dated_occasion(
        entry.title, default_tz=default_tz
    )
    if occasion:
        return replace(entry, event=Event(start=occasion[0], end=occasion[1], timezone=default_tz))
    return entry


def _skip_reason(state: SourceState, now: datetime) -> str | None:
    if state.disabled_reason:
        return f"disabled: {state.disabled_reason}"
    if state.paused_until and state.paused_until > now:
        return f"paused until {state.paused_until:%Y-%m-%d %H:%M} UTC at the site's request"
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
    engine: Engine, harvested: _Harvested, state: SourceState, clock: Callable[[], datetime]
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
    return _store_failure(engine, harvested, clock)


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
        changes: dict = {"drift_alarm": False}
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


def _store_failure(engine: Engine, harvested: _Harvested, clock) -> SourceOutcome:
    config, exc = harvested.source, harvested.error
    assert exc is not None
    now = clock()
    changes: dict = {}
    status = getattr(exc, "status", None)
    if isinstance(exc, GoneError):
        changes["disabled_reason"] = f"the address answered 410 Gone on {now:%Y-%m-%d}: {exc.hint}"
    elif isinstance(exc, RateLimitedError):
        pause = timedelta(seconds=exc.retry_after) if exc.retry_after else DEFAULT_PAUSE
        changes["paused_until"] = now + min(pause, MAX_PAUSE)
    elif isinstance(exc, _DriftError):
        changes["drift_alarm"] = True
        changes["last_count"] = 0
    internal = not isinstance(exc, AggregatorError)
    message = f"internal error (please report): {type(exc).__name__}: {exc}" if internal else str(exc)
    logger.warning("source failed: %s", message, extra={"source_id": config.id})
    with engine.begin() as conn:
        record_fetch(
            conn, FetchRecord(config.id, harvested.started_at, now, "failed", status, error=message), **changes
        )
    return SourceOutcome(config.id, "failed", http_status=status, error=message, internal_error=internal)
