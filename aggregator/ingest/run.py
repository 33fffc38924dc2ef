"""The fetch run: every due source harvested concurrently across hosts, normalised, and stored per source."""

from __future__ import annotations

import logging
import random
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from urllib.parse import urlsplit

from sqlalchemy import Engine

from aggregator.config.sources import SourceConfig
from aggregator.db.pauses import is_site_pause, load_pause_reasons
from aggregator.db.store import (
    SourceState,
    load_source_states,
    sync_sources,
)
from aggregator.errors import (
    AggregatorError,
)
from aggregator.ingest.backoff import BACKOFF_FIRST, BACKOFF_MAX, backoff_delay  # noqa: F401 (re-exported)
from aggregator.ingest.entry_events import with_event  # noqa: F401 (re-exported)
from aggregator.ingest.entry_pool import POOL_FROM, Normaliser, entry_normaliser, normalize_entries
from aggregator.ingest.harvest import Fetcher, HarvestRequest, harvest_source
from aggregator.ingest.recording import (  # noqa: F401 (SourceOutcome, failure_kind re-exported)
    DriftError,
    Harvested,
    SourceOutcome,
    failure_kind,
    store_failure,
    store_with_retry,
)
from aggregator.settings import Settings

logger = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


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
    pool_from: int = POOL_FROM,
) -> list[SourceOutcome]:
    """Fetch every enabled source in `configs`; one host's sources in turn, hosts in parallel.

    Each worker thread fetches, parses and stores its sources, one transaction per source, so a
    failing source is recorded and the others go on. A single storing thread would be starved of
    the GIL by the parsing workers (every SQLite call gives it up, and getting it back waits behind
    them), which made the whole pass as slow as one worker. `on_done` is called from the workers,
    one call at a time. `retry_now` (someone asked for these sources by name) fetches sources that are
    backing off after failures; a site's own request to wait is still honoured. From `pool_from` due
    sources on, the entries are normalised in a worker process (`entry_pool.py`), on another core.
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

    def work(group: list[SourceConfig], normalise: Normaliser) -> None:
        for config in group:
            harvested = _harvest_one(config, states[config.id], fetcher, settings, clock, normalise)
            outcome = _store_one(engine, harvested, states[config.id], clock, jitter)
            with done:
                outcomes.append(outcome)
                if on_done:
                    on_done(outcome)

    with (
        entry_normaliser(len(due), pool_from=pool_from) as normalise,
        ThreadPoolExecutor(
            max_workers=max(1, min(settings.fetch.max_workers, len(groups) or 1)), thread_name_prefix="fetch"
        ) as pool,
    ):
        for future in [pool.submit(work, group, normalise) for group in groups.values()]:
            future.result()
    return outcomes


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
    config: SourceConfig,
    state: SourceState,
    fetcher: Fetcher,
    settings: Settings,
    clock: Callable[[], datetime],
    normalise: Normaliser = normalize_entries,
) -> Harvested:
    started = clock()
    request = HarvestRequest(
        source=config, url=state.url, etag=state.etag, last_modified=state.last_modified, cursor=state.harvest_cursor
    )
    try:
        harvest = harvest_source(request, fetcher)
        items = normalise(harvest.entries, config, settings.summary_max_chars)
        return Harvested(config, started, harvest, items)
    except Exception as exc:  # recorded per source by the caller; unexpected ones are flagged as bugs
        if not isinstance(exc, AggregatorError):
            logger.exception("unexpected error harvesting source", extra={"source_id": config.id})
        return Harvested(config, started, error=exc)


def _store_one(
    engine: Engine,
    harvested: Harvested,
    state: SourceState,
    clock: Callable[[], datetime],
    jitter: Callable[[], float],
) -> SourceOutcome:
    config, harvest = harvested.source, harvested.harvest
    if harvested.error is None and harvest is not None:
        drift = config.adapter == "page" and not harvest.not_modified and not harvest.entries and state.best_count > 0
        if not drift:
            try:
                return store_with_retry(engine, harvested, harvest, clock)
            except Exception as exc:  # the source's transaction was rolled back; record why
                logger.exception("storing source failed", extra={"source_id": config.id})
                harvested = Harvested(config, harvested.started_at, harvest, error=exc)
        else:
            harvested = Harvested(config, harvested.started_at, harvest, error=DriftError(state.best_count))
    return store_failure(engine, harvested, state, clock, jitter)
