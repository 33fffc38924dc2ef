"""The scheduler: each source fetched at its own interval, the month's draft prepared on its day, one scheduler at a time.

What is due is decided from what the database holds (a source's last fetch + its interval; an audit
line saying the month's draft was prepared by the schedule), never from in-memory timers alone, so a
restart neither repeats nor skips work. The timers only decide when to look.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine, select, text

from aggregator.config.sources import SourceConfig
from aggregator.db.private import make_private_dir
from aggregator.db.schema import sources
from aggregator.errors import AggregatorError
from aggregator.ingest.harvest import Fetcher
from aggregator.ingest.run import SourceOutcome, run_fetch, utcnow
from aggregator.jobs.draft import (  # noqa: F401 (re-exported)
    DRAFT_ACTION,
    DraftOutcome,
    Notifier,
    TransportNotifier,
    draft_month_due,
    draft_notice,
    prepare_scheduled_draft,
)
from aggregator.jobs.monthly import send_due_issues, settle_resources
from aggregator.settings import Settings

logger = logging.getLogger(__name__)
# A fetch job firing a little before the stored last fetch + interval still counts as due (clock jitter,
# last_fetch_at being the end of the previous fetch).
TOLERANCE = timedelta(minutes=1)
LOCK_FILE = "schedule.lock"


class SchedulerBusy(AggregatorError):
    """Another scheduler holds the lock."""

    hint = "only one `aggregator schedule` may run per database: stop the other one first (or use cron instead)"


@dataclass(frozen=True, slots=True)
class ScheduleReport:
    fetched: tuple[SourceOutcome, ...]
    draft: DraftOutcome | None


@contextmanager
def scheduler_lock(engine: Engine, settings: Settings) -> Iterator[None]:
    """Hold the single-scheduler lock, or raise SchedulerBusy: a PostgreSQL advisory lock (schedulers on
    other hosts share the database), else an exclusive flock on <data_dir>/schedule.lock."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            # Keyed by schema, so that two deployments (or two test schemas) in one database do not clash.
            key = "hashtext('aggregator-schedule:' || current_schema())"
            held = conn.execute(text(f"SELECT pg_try_advisory_lock({key})")).scalar()
            conn.commit()
            if not held:
                raise SchedulerBusy("another scheduler is running on this database (PostgreSQL advisory lock held)")
            try:
                yield
            finally:
                conn.execute(text(f"SELECT pg_advisory_unlock({key})"))
                conn.commit()
        return
    make_private_dir(settings.data_dir)
    path = settings.data_dir / LOCK_FILE
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise SchedulerBusy(f"another scheduler is running (process {holder} holds {path})") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def next_fetch_at(last_fetch_at: datetime | None, interval: timedelta, now: datetime) -> datetime:
    """When a source is next due: its last fetch + its interval, or now when it is overdue or new."""
    return now if last_fetch_at is None else max(now, last_fetch_at + interval)


def last_fetches(engine: Engine) -> dict[str, datetime | None]:
    with engine.connect() as conn:
        return dict(conn.execute(select(sources.c.id, sources.c.last_fetch_at)).all())


def due_sources(engine: Engine, configs: Sequence[SourceConfig], now: datetime) -> list[SourceConfig]:
    """Enabled sources whose interval has passed since their last stored fetch (never fetched: due)."""
    last = last_fetches(engine)
    return [c for c in configs if c.enabled and next_fetch_at(last.get(c.id), c.interval, now) <= now + TOLERANCE]


def run_due(
    engine: Engine,
    settings: Settings,
    configs: Sequence[SourceConfig],
    fetcher: Fetcher,
    notifier: Notifier | None,
    *,
    clock: Callable[[], datetime] = utcnow,
) -> ScheduleReport:
    """Do whatever is due now and return (`aggregator schedule --once`, or one cron run)."""
    now = clock()
    due = due_sources(engine, configs, now)
    fetched = run_fetch(settings, due, engine, fetcher, clock=clock) if due else []
    if any(o.outcome == "new-data" for o in fetched):
        settle_resources(engine, settings, configs, clock())  # editors find new resources merged and labelled
    return ScheduleReport(tuple(fetched), prepare_scheduled_draft(engine, settings, clock(), notifier))


def run_scheduler(
    engine: Engine,
    settings: Settings,
    configs: Sequence[SourceConfig],
    fetcher: Fetcher,
    notifier: Notifier | None,
    *,
    clock: Callable[[], datetime] = utcnow,
    reload: Callable[[], Sequence[SourceConfig]] | None = None,
) -> None:
    """Run until Ctrl-C or SIGTERM (hold `scheduler_lock` around it). A stop lets the fetches in flight finish
    (each is bounded by the total deadline) before returning, since the caller then closes the fetcher under them."""
    from aggregator.jobs.stopping import run_until_stopped

    scheduler = make_scheduler(engine, settings, configs, fetcher, notifier, clock=clock, reload=reload)
    logger.info("scheduler started", extra={"count": len(scheduler.get_jobs()) - 1})
    run_until_stopped(scheduler)


def make_scheduler(
    engine: Engine,
    settings: Settings,
    configs: Sequence[SourceConfig],
    fetcher: Fetcher,
    notifier: Notifier | None,
    *,
    clock: Callable[[], datetime] = utcnow,
    reload: Callable[[], Sequence[SourceConfig]] | None = None,
) -> BackgroundScheduler:
    """A scheduler (not started: `jobs.stopping.run_until_stopped` runs it) with one job per enabled source,
    first run when the stored last fetch + interval says, one job for the draft day, also run at start so that
    a scheduler that was down at the draft hour catches up, and one that sends approved issues when their
    time comes.
    Jobs live in memory: the database is the state.

    With `reload` (the AppContext's sources, re-read when sources.yaml changes), a job looks every minute
    and replaces the fetch jobs of the sources that were added, changed or removed."""
    scheduler = BackgroundScheduler(
        timezone=UTC,
        executors={"default": ThreadPoolExecutor(min(4, settings.fetch.max_workers))},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    now, last = clock(), last_fetches(engine)
    settling = threading.Lock()
    current = {"configs": tuple(configs)}  # swapped whole by the reload job

    def fetch_job(config: SourceConfig) -> None:
        at = clock()
        due_at = next_fetch_at(last_fetches(engine).get(config.id), config.interval, at)
        if due_at > at + TOLERANCE:  # fetched meanwhile (e.g. by `make run`): look again when due
            scheduler.modify_job(f"fetch:{config.id}", next_run_time=due_at)
            return
        outcomes = run_fetch(settings, [config], engine, fetcher, clock=clock)
        if any(o.outcome == "new-data" for o in outcomes):
            with settling:  # fetch jobs run in parallel threads; merging and labelling go one at a time
                settle_resources(engine, settings, current["configs"], clock())

    def add_fetch_job(config: SourceConfig, last_fetch: datetime | None, at: datetime) -> None:
        scheduler.add_job(
            fetch_job,
            IntervalTrigger(seconds=config.interval.total_seconds()),
            args=[config],
            id=f"fetch:{config.id}",
            name=f"fetch {config.id}",
            next_run_time=next_fetch_at(last_fetch, config.interval, at),
            replace_existing=True,
        )

    for config in configs:
        if config.enabled:
            add_fetch_job(config, last.get(config.id), now)

    def reload_job() -> None:
        assert reload is not None
        try:
            fresh = tuple(reload())
        except AggregatorError as exc:  # an edit in progress, or a mistake: keep running the sources we have
            logger.warning("sources.yaml not reloaded: %s", exc)
            return
        if fresh == current["configs"]:
            return
        old, new = {c.id: c for c in current["configs"]}, {c.id: c for c in fresh}
        changed = [source_id for source_id, c in old.items() if new.get(source_id) != c]
        for source_id in changed:
            if scheduler.get_job(f"fetch:{source_id}") is not None:
                scheduler.remove_job(f"fetch:{source_id}")
        at, stored = clock(), last_fetches(engine)
        for config in fresh:
            if config.enabled and old.get(config.id) != config:
                add_fetch_job(config, stored.get(config.id), at)
        current["configs"] = fresh
        logger.info("sources.yaml reloaded", extra={"count": sum(1 for c in fresh if c.enabled)})

    if reload is not None:
        scheduler.add_job(reload_job, IntervalTrigger(minutes=1), id="reload-sources", name="reload sources.yaml")

    def draft_job() -> None:
        prepare_scheduled_draft(engine, settings, clock(), notifier)

    schedule = settings.schedule
    scheduler.add_job(
        draft_job,
        CronTrigger(day=schedule.draft_day, hour=schedule.draft_hour, timezone=schedule.timezone),
        id="draft",
        name="prepare the month's draft",
        next_run_time=now,
    )
    # an issue approved for a later time goes out within a minute of it (a paused one waits for its resume)
    scheduler.add_job(
        send_due_issues,
        IntervalTrigger(minutes=1),
        args=[engine, settings, configs, clock],
        id="send",
        name="send the issues that are due",
        next_run_time=now,
    )
    if settings.mailin.host:
        scheduler.add_job(
            read_mailbox,
            IntervalTrigger(minutes=settings.mailin.interval_minutes),
            args=[engine, settings, clock],
            id="mail-in",
            name="read the bounce and unsubscribe mailbox",
            next_run_time=now,
        )
    return scheduler


def read_mailbox(engine: Engine, settings: Settings, clock: Callable[[], datetime] = utcnow) -> None:
    """The scheduled `aggregator mail-in`: a mailbox that cannot be reached is logged and tried next time."""
    from aggregator.digest.mailbox import ImapMailbox, process_mailbox

    try:
        with ImapMailbox(settings.mailin) as mailbox:
            report = process_mailbox(engine, mailbox, settings, clock)
    except AggregatorError as exc:
        logger.warning("mailbox not read: %s", exc)
        return
    logger.info("mailbox read", extra={"count": len(report.outcomes)})
