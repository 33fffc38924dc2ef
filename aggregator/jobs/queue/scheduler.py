"""The single scheduler of scale mode: enqueues due fetch jobs (workers run them) and prepares the draft.

It reuses the embedded scheduler's pieces (aggregator.jobs.schedule): the single-scheduler lock (a
PostgreSQL advisory lock in scale mode), "due" decided from the stored last fetch, and the draft
job. Only the fetching differs: a job per due source goes on the queue instead of running here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from aggregator.config.sources import SourceConfig
from aggregator.ingest.run import utcnow
from aggregator.jobs.draft import Notifier, prepare_scheduled_draft
from aggregator.jobs.queue.dispatch import Dispatcher, FetchJob, plan_fetch
from aggregator.jobs.schedule import due_sources
from aggregator.settings import Settings

logger = logging.getLogger(__name__)
LOOK_EVERY = timedelta(minutes=1)
# a source enqueued is not enqueued again for this long (or its interval, if shorter), even when its
# job is still waiting in the queue and the database does not show the fetch yet
REENQUEUE_GUARD = timedelta(hours=1)


class DueEnqueuer:
    """Enqueues the sources due now, remembering what it enqueued so a queued job is not doubled."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        configs: Sequence[SourceConfig] | Callable[[], Sequence[SourceConfig]],
        dispatcher: Dispatcher,
    ) -> None:
        """`configs` may be a callable (the AppContext's sources, re-read when sources.yaml changes): asked at
        each look, so an added, changed or removed source is followed without a restart."""
        self._engine, self._settings, self._dispatcher = engine, settings, dispatcher
        self._configs = configs if callable(configs) else (lambda: configs)
        self._enqueued: dict[str, datetime] = {}

    def __call__(self, now: datetime) -> list[FetchJob]:
        due = [c for c in due_sources(self._engine, self._configs(), now) if not self._is_waiting(c, now)]
        jobs = plan_fetch(due, self._settings.fetch.per_host_delay)
        if jobs:
            self._dispatcher.fetch(jobs)
            logger.info("enqueued %d fetch jobs", len(jobs), extra={"count": len(jobs)})
        self._enqueued.update((job.config.id, now) for job in jobs)
        return jobs

    def _is_waiting(self, config: SourceConfig, now: datetime) -> bool:
        at = self._enqueued.get(config.id)
        return at is not None and now < at + min(config.interval, REENQUEUE_GUARD)


def make_queue_scheduler(
    engine: Engine,
    settings: Settings,
    configs: Sequence[SourceConfig] | Callable[[], Sequence[SourceConfig]],
    dispatcher: Dispatcher,
    notifier: Notifier | None,
    *,
    clock: Callable[[], datetime] = utcnow,
) -> BackgroundScheduler:
    """A scheduler (not started: `jobs.stopping.run_until_stopped` runs it): look for due sources every
    minute, prepare the draft on its day (and once at start, to catch up). Hold
    aggregator.jobs.schedule.scheduler_lock while it runs."""
    scheduler = BackgroundScheduler(
        timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
    )
    enqueue_due = DueEnqueuer(engine, settings, configs, dispatcher)
    scheduler.add_job(
        lambda: enqueue_due(clock()),
        IntervalTrigger(seconds=LOOK_EVERY.total_seconds()),
        id="enqueue-due",
        name="enqueue due fetch jobs",
        next_run_time=clock(),
    )
    schedule = settings.schedule
    scheduler.add_job(
        lambda: prepare_scheduled_draft(engine, settings, clock(), notifier),
        CronTrigger(day=schedule.draft_day, hour=schedule.draft_hour, timezone=schedule.timezone),
        id="draft",
        name="prepare the month's draft",
        next_run_time=clock(),
    )
    return scheduler
