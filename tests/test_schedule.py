"""The scheduler: `--once` fetches exactly the sources due by their stored last fetch and interval, prepares
and announces the month's draft on the draft day but never twice, and only one scheduler runs at a time."""

from __future__ import annotations

import email
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from aggregator.config.sources import SourceConfig
from aggregator.db.schema import audit_log, issues, resources
from aggregator.digest.issue import prepare_draft
from aggregator.ingest.fetch import Fetcher
from aggregator.jobs.draft import DRAFT_ACTION, TransportNotifier
from aggregator.jobs.schedule import (
    SchedulerBusy,
    make_scheduler,
    run_due,
    scheduler_lock,
)
from aggregator.settings import Settings
from tests.support.httpserver import http_server  # noqa: F401 (a fixture)
from tests.test_feeds import seed

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
DRAFT_MOMENT = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)  # 08:00 in London (GMT in November)


def rss(name: str) -> bytes:
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{name}</title><link>https://{name}.example/'
        f"</link><description>d</description><item><title>{name} kindness toolkit</title>"
        f"<link>https://{name}.example/toolkit</link><pubDate>Mon, 09 Nov 2026 10:00:00 +0000</pubDate>"
        f"</item></channel></rss>"
    ).encode()


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Collected:
    """A notifier that keeps what it is given."""

    def __init__(self) -> None:
        self.messages: list = []

    def send(self, message) -> None:
        self.messages.append(message)


@pytest.fixture
def sched_settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        _env_file=None,
        data_dir=tmp_path / "var",
        database_url=database_url,
        base_url="https://digest.example.org",
        taxonomy_file=ROOT / "taxonomy.yaml",
        allow_private_addresses=True,
        fetch={"per_host_delay": 0, "robots_txt": False},
        schedule={
            "draft_day": 20,
            "draft_hour": 8,
            "timezone": "Europe/London",
            "editors_email": "Editors <editors@kindness.example>",
        },
    )


def configs_for(server) -> list[SourceConfig]:
    for name in ("hourly", "daily", "halfhourly", "off"):
        server.add(f"/{name}.xml", body=rss(name), headers={"Content-Type": "application/rss+xml"})
    return [
        SourceConfig(id="hourly", name="Hourly", url=server.url("/hourly.xml"), adapter="feed", interval="1h"),
        SourceConfig(id="daily", name="Daily", url=server.url("/daily.xml"), adapter="feed", interval="1d"),
        SourceConfig(
            id="halfhourly", name="Half-hourly", url=server.url("/halfhourly.xml"), adapter="feed", interval="30m"
        ),
        SourceConfig(id="off", name="Off", url=server.url("/off.xml"), adapter="feed", enabled=False),
    ]


def fetched_paths(server) -> list[str]:
    return sorted(r.route_path for r in server.requests)


def test_once_fetches_only_the_sources_due(engine, sched_settings, http_server):
    configs = configs_for(http_server)
    clock = Clock(T0)
    with Fetcher(sched_settings) as fetcher:
        first = run_due(engine, sched_settings, configs, fetcher, None, clock=clock)
        assert {o.source_id for o in first.fetched} == {"hourly", "daily", "halfhourly"}  # never fetched: due
        assert all(o.outcome == "new-data" for o in first.fetched)
        assert first.draft is None  # not the draft day yet
        with engine.connect() as conn:  # what was fetched reaches the editors labelled (or marked off-topic)
            assert (
                conn.execute(
                    select(func.count())
                    .select_from(resources)
                    .where(resources.c.classified_at.is_(None), resources.c.status != "merged")
                ).scalar_one()
                == 0
            )

        http_server.clear()
        assert run_due(engine, sched_settings, configs, fetcher, None, clock=clock).fetched == ()  # a restart
        assert http_server.requests == []

        clock.now = T0 + timedelta(minutes=45)
        assert [o.source_id for o in run_due(engine, sched_settings, configs, fetcher, None, clock=clock).fetched] == [
            "halfhourly"
        ]
        clock.now = T0 + timedelta(hours=2)
        again = run_due(engine, sched_settings, configs, fetcher, None, clock=clock)
    assert {o.source_id for o in again.fetched} == {"hourly", "halfhourly"}
    assert fetched_paths(http_server) == ["/halfhourly.xml", "/halfhourly.xml", "/hourly.xml"]


def test_the_scheduler_plans_each_source_from_the_stored_last_fetch(engine, sched_settings, http_server):
    configs = configs_for(http_server)
    with Fetcher(sched_settings) as fetcher:
        run_due(engine, sched_settings, configs[:1], fetcher, None, clock=Clock(T0))  # only "hourly" fetched
        scheduler = make_scheduler(
            engine, sched_settings, configs, fetcher, None, clock=Clock(T0 + timedelta(minutes=10))
        )
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"fetch:hourly", "fetch:daily", "fetch:halfhourly", "draft", "send"}  # not the disabled one
    assert jobs["send"].next_run_time == T0 + timedelta(minutes=10)  # an issue due while it was down goes now
    assert jobs["fetch:hourly"].next_run_time == T0 + timedelta(hours=1)
    assert jobs["fetch:daily"].next_run_time == T0 + timedelta(minutes=10)  # never fetched: now
    assert jobs["draft"].next_run_time == T0 + timedelta(minutes=10)  # checked at start, to catch up


def test_the_draft_is_prepared_and_announced_once_on_the_draft_day(engine, sched_settings):
    seed(engine)
    notifier = Collected()
    with Fetcher(sched_settings) as fetcher:
        before = run_due(
            engine, sched_settings, [], fetcher, notifier, clock=Clock(DRAFT_MOMENT - timedelta(minutes=1))
        )
        assert before.draft is None
        report = run_due(engine, sched_settings, [], fetcher, notifier, clock=Clock(DRAFT_MOMENT))
        assert report.draft is not None and report.draft.month == "2026-11" and report.draft.notified
        assert report.draft.items == 4
        # a restarted scheduler, later that day and on the next: nothing again
        for later in (DRAFT_MOMENT + timedelta(hours=3), DRAFT_MOMENT + timedelta(days=1)):
            assert run_due(engine, sched_settings, [], fetcher, notifier, clock=Clock(later)).draft is None
    assert len(notifier.messages) == 1
    message = notifier.messages[0]
    assert message["Subject"] == "Digest draft for November 2026 ready for review"
    assert message["To"] == "Editors <editors@kindness.example>"
    assert "4 approved resources" in message.get_content()
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(issues)).scalar_one() == 1
        assert (
            conn.execute(
                select(func.count()).select_from(audit_log).where(audit_log.c.action == DRAFT_ACTION)
            ).scalar_one()
            == 1
        )


def test_a_draft_made_earlier_is_still_announced_on_the_day(engine, sched_settings, tmp_path):
    seed(engine)
    with engine.begin() as conn:  # `make run` on the 5th already prepared it
        prepare_draft(conn, "2026-11", DRAFT_MOMENT - timedelta(days=15))
    with Fetcher(sched_settings) as fetcher:
        report = run_due(
            engine,
            sched_settings,
            [],
            fetcher,
            TransportNotifier(sched_settings),
            clock=Clock(DRAFT_MOMENT + timedelta(hours=1)),
        )
    assert report.draft is not None and report.draft.notified
    [written] = (sched_settings.outbox_dir / "notifications").glob("*.eml")  # no SMTP host: the outbox
    message = email.message_from_bytes(written.read_bytes())
    assert message["Subject"] == "Digest draft for November 2026 ready for review"
    assert message["Auto-Submitted"] == "auto-generated" and message["From"]


def test_no_editors_address_prepares_without_notifying(engine, sched_settings):
    settings = sched_settings.model_copy(
        update={"schedule": sched_settings.schedule.model_copy(update={"editors_email": None})}
    )
    notifier = Collected()
    with Fetcher(settings) as fetcher:
        report = run_due(engine, settings, [], fetcher, notifier, clock=Clock(DRAFT_MOMENT))
    assert report.draft is not None and not report.draft.notified and notifier.messages == []


def test_a_second_scheduler_is_refused_while_the_lock_is_held(engine, sched_settings, database_url, tmp_path):
    with scheduler_lock(engine, sched_settings):
        with pytest.raises(SchedulerBusy, match="another scheduler is running"):
            with scheduler_lock(engine, sched_settings):
                pass
        sources_file = tmp_path / "sources.yaml"
        sources_file.write_text(
            "version: 1\nsources:\n  - {id: a, name: A, url: 'https://a.invalid/feed', adapter: feed}\n"
        )
        env = {
            **os.environ,
            "AGGREGATOR_DATA_DIR": str(sched_settings.data_dir),
            "AGGREGATOR_DATABASE_URL": database_url,
            "AGGREGATOR_SOURCES_FILE": str(sources_file),
        }
        result = subprocess.run(
            [sys.executable, "-m", "aggregator", "schedule", "--once"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 2, result.stdout + result.stderr
        assert "another scheduler is running" in result.stderr
    with scheduler_lock(engine, sched_settings):  # released: the next one may start
        pass


@pytest.mark.parametrize("stop", ["SIGINT", "SIGTERM"])
def test_stopping_the_scheduler_lets_the_fetch_in_flight_finish(tmp_path, database_url, http_server, stop):
    """Ctrl-C (or a service manager's SIGTERM) while a fetch is waiting for its answer: the scheduler stops at
    once, however busy the machine, the fetch ends and is stored as a success (not recorded as failed because
    the stop closed its connection underneath it), and its resource is merged and labelled before the exit."""
    import signal
    import time

    from aggregator.db.engine import create_db_engine
    from aggregator.db.schema import fetch_runs, resources

    http_server.add("/slow.xml", body=rss("slow"), headers={"Content-Type": "application/rss+xml"}, delay=1.5)
    sources_file = tmp_path / "sources.yaml"
    sources_file.write_text(
        f"version: 1\nsources:\n  - {{id: slow, name: Slow, url: '{http_server.url('/slow.xml')}', adapter: feed}}\n"
    )
    env = {
        **os.environ,
        "AGGREGATOR_DATA_DIR": str(tmp_path / "var"),
        "AGGREGATOR_DATABASE_URL": database_url,
        "AGGREGATOR_SOURCES_FILE": str(sources_file),
        "AGGREGATOR_ALLOW_PRIVATE_ADDRESSES": "true",
        "AGGREGATOR_FETCH__ROBOTS_TXT": "false",
        "AGGREGATOR_TAXONOMY_FILE": str(ROOT / "taxonomy.yaml"),
        "PYTHONFAULTHANDLER": "1",  # a scheduler that does not stop shows its threads on SIGABRT below
    }
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "aggregator", "schedule"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not http_server.requests_to("/slow.xml"):
            assert time.monotonic() < deadline and scheduler.poll() is None, scheduler.communicate()[1][-2000:]
            time.sleep(0.05)
        scheduler.send_signal(getattr(signal, stop))
        try:
            _, err = scheduler.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            scheduler.send_signal(signal.SIGABRT)
            pytest.fail(f"the scheduler did not stop: {scheduler.communicate(timeout=30)[1].decode()[-6000:]}")
    finally:
        if scheduler.poll() is None:
            scheduler.kill()
    log = err.decode()
    assert scheduler.returncode == 0, log[-3000:]
    assert "raised an exception" not in log and "Traceback" not in log, log[-3000:]
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as conn:
            runs = conn.execute(select(fetch_runs.c.outcome, fetch_runs.c.error)).all()
            settled = conn.execute(select(resources.c.deduped_at, resources.c.certainty)).all()
    finally:
        engine.dispose()
    assert [run.outcome for run in runs] == ["new-data"], runs
    assert settled and all(r.deduped_at is not None and r.certainty is not None for r in settled), settled


def test_an_edited_sources_file_replaces_the_fetch_jobs_of_what_changed(engine, sched_settings, http_server):
    configs = configs_for(http_server)
    edited = [
        configs[0].model_copy(update={"interval": timedelta(hours=2)}),  # changed
        configs[1],  # as it was
        SourceConfig(id="new", name="New", url=http_server.url("/new.xml"), adapter="feed", interval="1h"),
    ]  # halfhourly removed
    files = iter([configs, edited])
    with Fetcher(sched_settings) as fetcher:
        scheduler = make_scheduler(
            engine, sched_settings, configs, fetcher, None, clock=Clock(T0), reload=lambda: next(files)
        )
    before = {job.id: job for job in scheduler.get_jobs()}
    reload_job = before["reload-sources"].func
    reload_job()  # the file as it was: nothing changes
    assert {job.id for job in scheduler.get_jobs()} == set(before)
    reload_job()
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"fetch:hourly", "fetch:daily", "fetch:new", "draft", "send", "reload-sources"}
    assert jobs["fetch:hourly"].args[0].interval == timedelta(hours=2)
    assert jobs["fetch:daily"] is not None and jobs["fetch:daily"].args[0] == configs[1]


def test_a_broken_sources_file_keeps_the_jobs_running(engine, sched_settings, http_server):
    from aggregator.errors import ConfigError

    configs = configs_for(http_server)

    def broken():
        raise ConfigError("bad indentation", path="sources.yaml")

    with Fetcher(sched_settings) as fetcher:
        scheduler = make_scheduler(engine, sched_settings, configs, fetcher, None, clock=Clock(T0), reload=broken)
    before = {job.id for job in scheduler.get_jobs()}
    scheduler.get_job("reload-sources").func()
    assert {job.id for job in scheduler.get_jobs()} == before
