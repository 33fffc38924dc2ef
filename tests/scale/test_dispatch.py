"""Scale mode's parts that need no broker: cutting work into jobs, the send budget, the scheduler's enqueuing,
and the in-process dispatcher (the embedded default) on SQLite."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from aggregator.config.sources import SourceConfig
from aggregator.config.taxonomy import load_taxonomy
from aggregator.db.engine import create_db_engine, upgrade_database
from aggregator.db.schema import issues
from aggregator.digest.mail.smtp import SMTPTransport
from aggregator.ingest.run import utcnow
from aggregator.jobs.queue.broker import source_message
from aggregator.jobs.queue.config import QueueSettings
from aggregator.jobs.queue.dispatch import FetchJob, InProcessDispatcher, SendPlan, plan_fetch, plan_send
from aggregator.jobs.queue.jobs import WorkerContext, send_batch
from aggregator.jobs.queue.scheduler import DueEnqueuer
from tests.test_send_helpers import Sink, add_subscribers, seed_issue, settings_for


def config(source_id: str, url: str, **extra) -> SourceConfig:
    return SourceConfig(id=source_id, name=source_id, url=url, adapter="feed", **extra)


@pytest.fixture
def sqlite_engine(tmp_path):
    url = f"sqlite:///{tmp_path / 'q.db'}"
    engine = create_db_engine(url)
    upgrade_database(engine)
    yield engine
    engine.dispose()


class RecordingDispatcher:
    def __init__(self) -> None:
        self.fetched: list[FetchJob] = []
        self.sent: list[SendPlan] = []

    def fetch(self, jobs) -> None:
        self.fetched.extend(jobs)

    def send(self, plan) -> None:
        self.sent.append(plan)


def test_plan_fetch_spaces_the_sources_of_one_host_and_skips_disabled_ones():
    configs = [
        config("a1", "https://a.example/1"),
        config("b1", "https://b.example/1"),
        config("a2", "https://A.example/2"),
        config("off", "https://a.example/3", enabled=False),
        config("a3", "https://a.example/4"),
    ]
    assert [(j.config.id, j.delay) for j in plan_fetch(configs, 2.0)] == [
        ("a1", 0.0),
        ("b1", 0.0),
        ("a2", 2.0),
        ("a3", 4.0),
    ]


def test_a_source_survives_the_trip_through_a_message():
    original = config("hub", "https://hub.example/feed", interval=timedelta(hours=6), tags=("x",))
    assert SourceConfig.model_validate(source_message(original)) == original


@pytest.mark.parametrize(
    "url, expected",
    [
        ("amqp://guest:guest@127.0.0.1:5672//", "amqp://guest:guest@127.0.0.1:5672/%2F"),
        ("amqp://guest:guest@127.0.0.1:5672/%2F", "amqp://guest:guest@127.0.0.1:5672/%2F"),
        ("amqp://u:p@mq.internal/digest", "amqp://u:p@mq.internal/digest"),
    ],
)
def test_the_kombu_spelling_of_the_default_vhost_is_understood(url, expected):
    assert QueueSettings(broker_url=url, _env_file=None).broker_url == expected


def test_plan_send_starts_the_issue_and_cuts_it_into_batches(sqlite_engine):
    issue_id = seed_issue(sqlite_engine)
    add_subscribers(sqlite_engine, 23)
    plan = plan_send(sqlite_engine, issue_id, 10, utcnow())
    assert plan == SendPlan(issue_id, 23, 3, 10)
    with sqlite_engine.connect() as conn:
        assert conn.execute(select(issues.c.status).where(issues.c.id == issue_id)).scalar_one() == "sending"
    assert plan_send(sqlite_engine, issue_id, 10, utcnow()) == plan  # enqueueing again plans the same work


def test_a_send_batch_sends_at_most_its_budget_and_the_next_ones_finish_the_issue(sqlite_engine, tmp_path):
    issue_id = seed_issue(sqlite_engine)
    add_subscribers(sqlite_engine, 25)
    plan_send(sqlite_engine, issue_id, 10, utcnow())
    with Sink() as sink:
        settings = settings_for(tmp_path, **sink.smtp_settings(), connections=2)
        context = WorkerContext(
            settings,
            sqlite_engine,
            None,
            load_taxonomy(settings.taxonomy_file),
            {},
            make_mailer=lambda s, month: SMTPTransport(s.smtp),
        )
        reports = [send_batch(context, issue_id, 10, f"job-{n}") for n in range(3)]
    assert [(r.sent, r.pending, r.finished, r.errors) for r in reports] == [
        (10, 15, False, ()),
        (10, 5, False, ()),
        (5, 0, True, ()),
    ]
    assert reports[0].more and not reports[2].more
    assert sink.handler.copies() == {f"s{n}@example.org": 1 for n in range(25)}


def test_the_in_process_dispatcher_runs_the_same_jobs_without_a_broker(sqlite_engine, tmp_path):
    issue_id = seed_issue(sqlite_engine)
    add_subscribers(sqlite_engine, 12)
    with Sink() as sink:
        settings = settings_for(tmp_path, **sink.smtp_settings())
        context = WorkerContext(
            settings,
            sqlite_engine,
            None,
            load_taxonomy(settings.taxonomy_file),
            {},
            make_mailer=lambda s, month: SMTPTransport(s.smtp),
        )
        InProcessDispatcher(context).send(plan_send(sqlite_engine, issue_id, 5, utcnow()))
    assert sink.handler.copies() == {f"s{n}@example.org": 1 for n in range(12)}


def test_the_scheduler_enqueues_due_sources_once_while_their_jobs_wait(sqlite_engine, tmp_path):
    settings = settings_for(tmp_path)
    configs = [
        config("a", "https://a.example/f", interval=timedelta(hours=6)),
        config("b", "https://a.example/g", interval=timedelta(minutes=30)),
    ]
    dispatcher = RecordingDispatcher()
    enqueue_due = DueEnqueuer(sqlite_engine, settings, configs, dispatcher)
    now = utcnow()
    assert [j.config.id for j in enqueue_due(now)] == ["a", "b"]  # never fetched: due
    assert enqueue_due(now + timedelta(minutes=1)) == []  # still queued, nothing stored yet: not again
    assert [j.config.id for j in enqueue_due(now + timedelta(minutes=31))] == ["b"]  # its guard is its interval


def test_the_scale_scheduler_follows_an_edited_sources_file(sqlite_engine, tmp_path):
    settings = settings_for(tmp_path)
    current = [config("a", "https://a.example/f")]
    enqueue_due = DueEnqueuer(sqlite_engine, settings, lambda: current, RecordingDispatcher())
    now = utcnow()
    assert [j.config.id for j in enqueue_due(now)] == ["a"]
    current = [*current, config("new", "https://b.example/f")]  # an editor added a source
    assert [j.config.id for j in enqueue_due(now + timedelta(minutes=1))] == ["new"]


def test_scale_commands_have_help():
    from typer.testing import CliRunner

    from aggregator.cli import app

    runner = CliRunner()
    for command in (["worker"], ["enqueue"], ["enqueue", "fetch"], ["enqueue", "send"], ["enqueue", "schedule"]):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0 and len(result.output) > 80, command


def test_the_scale_tests_say_why_they_skip(monkeypatch):
    from tests.scale import conftest

    monkeypatch.delenv("AGGREGATOR_TEST_DATABASE_URL", raising=False)
    with pytest.raises(pytest.skip.Exception, match="need PostgreSQL"):
        conftest.amqp_url.__wrapped__()
