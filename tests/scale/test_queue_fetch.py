"""300 sources fetched by 3 queue workers store what the in-process run stores, even when a worker is SIGKILLed."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from aggregator.config.sources import SourceConfig
from aggregator.db.engine import create_db_engine, upgrade_database
from aggregator.db.schema import entries, sources
from aggregator.jobs.queue.broker import open_queue_dispatcher
from aggregator.jobs.queue.dispatch import InProcessDispatcher, plan_fetch
from aggregator.jobs.queue.jobs import WorkerContext
from aggregator.settings import Settings
from tests.scale.conftest import wait_for
from tests.support.httpserver import LocalServer
from tests.test_send_helpers import SECRET, TAXONOMY_FILE

SOURCES = 300
FETCH_ENV = {
    "AGGREGATOR_ALLOW_PRIVATE_ADDRESSES": "true",
    "AGGREGATOR_FETCH__PER_HOST_DELAY": "0",
    "AGGREGATOR_FETCH__ROBOTS_TXT": "false",
}


def feed(n: int) -> bytes:
    items = "".join(
        f"<item><title>Resource {n}-{i} on kindness</title><link>https://partner{n}.example/r/{i}</link>"
        f"<guid>urn:s{n}:r{i}</guid><description>Small acts {n} {i}.</description>"
        f"<pubDate>Mon, 0{i + 1} Nov 2026 09:00:00 GMT</pubDate></item>"
        for i in range(3)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Partner {n}</title>'
        f"<link>https://partner{n}.example/</link>{items}</channel></rss>"
    ).encode()


def serve_feeds(server: LocalServer, *, delay: float = 0.0) -> list[SourceConfig]:
    for n in range(SOURCES):
        server.add(f"/feeds/{n}.xml", body=feed(n), headers={"Content-Type": "application/rss+xml"}, delay=delay)
    return [
        SourceConfig(id=f"s{n:03d}", name=f"Partner {n}", url=server.url(f"/feeds/{n}.xml"), adapter="feed")
        for n in range(SOURCES)
    ]


def stored(engine) -> set[tuple[str, str]]:
    with engine.connect() as conn:
        return set(conn.execute(select(entries.c.source_id, entries.c.key)).all())


def fetched_count(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).where(sources.c.last_fetch_at.is_not(None))).scalar_one()


def in_process_result(tmp_path: Path, configs: list[SourceConfig]) -> set[tuple[str, str]]:
    """The embedded default: the same jobs run by InProcessDispatcher into a SQLite file."""
    url = f"sqlite:///{tmp_path / 'embedded.db'}"
    upgrade_database(create_db_engine(url))
    settings = Settings(
        data_dir=tmp_path / "embedded",
        database_url=url,
        allow_private_addresses=True,
        fetch={"per_host_delay": 0, "robots_txt": False},
        _env_file=None,
    )
    context = WorkerContext.open(settings)
    try:
        InProcessDispatcher(context).fetch(plan_fetch(configs, settings.fetch.per_host_delay))
        return stored(context.engine)
    finally:
        context.close()


def worker_env(database_url: str, queue_settings, tmp_path: Path) -> dict[str, str]:
    return {
        **FETCH_ENV,
        "AGGREGATOR_DATABASE_URL": database_url,
        "AGGREGATOR_BROKER_URL": queue_settings.broker_url,
        "AGGREGATOR_QUEUE_PREFIX": queue_settings.queue_prefix,
        "AGGREGATOR_DATA_DIR": str(tmp_path / "var"),
        "AGGREGATOR_SECRET_KEY": SECRET,
        "AGGREGATOR_TAXONOMY_FILE": str(TAXONOMY_FILE),
        "AGGREGATOR_SOURCES_FILE": str(tmp_path / "none.yaml"),
    }


def enqueue(queue_settings, configs: list[SourceConfig]) -> None:
    dispatcher, broker = open_queue_dispatcher(queue_settings)
    try:
        dispatcher.fetch(plan_fetch(configs, 0.0))
    finally:
        broker.close()


def test_three_workers_store_what_the_in_process_run_stores(engine, database_url, queue_settings, workers, tmp_path):
    with LocalServer() as server:
        configs = serve_feeds(server)
        expected = in_process_result(tmp_path, configs)
        assert len(expected) == SOURCES * 3
        workers.start(3, worker_env(database_url, queue_settings, tmp_path))
        enqueue(queue_settings, configs)
        wait_for(lambda: fetched_count(engine) == SOURCES, timeout=90, what="300 fetch jobs")
    assert stored(engine) == expected


def test_a_worker_killed_mid_fetch_has_its_jobs_run_elsewhere(engine, database_url, queue_settings, workers, tmp_path):
    with LocalServer() as server:
        configs = serve_feeds(server)
        expected = in_process_result(tmp_path, configs)
        before = len(server.requests)
        configs = serve_feeds(server, delay=0.1)  # every job is on the wire for a while: a kill lands mid-job
        workers.start(3, worker_env(database_url, queue_settings, tmp_path), threads=4)
        enqueue(queue_settings, configs)
        wait_for(lambda: len(server.requests) - before >= SOURCES // 3, timeout=60, what="a third of the fetches")
        workers.kill(0)
        wait_for(lambda: fetched_count(engine) == SOURCES, timeout=90, what="every source, the killed jobs included")
        requests = len(server.requests) - before
    assert stored(engine) == expected, workers.output()
    assert requests > SOURCES  # the killed worker's in-flight fetches were asked for again by the others
