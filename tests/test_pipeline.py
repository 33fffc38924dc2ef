"""The fetch run end to end on a real database with an in-memory fetcher: storing, re-runs, failures."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from aggregator.config.sources import parse_sources
from aggregator.db.schema import entries, fetch_runs, resources, sources
from aggregator.errors import GoneError, RateLimitedError
from aggregator.ingest.run import run_fetch
from aggregator.settings import Settings
from tests.support.fakes import FakeFetched, FakeFetcher, rss

SOURCES = parse_sources("""
sources:
  - {id: alpha, name: Alpha, url: "https://alpha.example/feed", adapter: feed}
  - {id: beta, name: Beta, url: "https://beta.example/feed", adapter: feed}
  - id: gamma
    name: Gamma
    url: https://gamma.example/seminars/
    adapter: page
    selectors: {container: article, title: h2}
""").sources

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
PAGE = b"<html><body><article><h2><a href='/s/1'>Compassion circles</a></h2></article></body></html>"


def fetcher_with(**overrides) -> FakeFetcher:
    responses = {
        "https://alpha.example/feed": FakeFetched(
            "https://alpha.example/feed",
            body=rss(
                [
                    ("Kindness in healthcare", "https://alpha.example/k?utm_source=rss"),
                    ("Compassionate leadership", "https://alpha.example/c"),
                ]
            ),
            etag='"a1"',
        ),
        "https://beta.example/feed": FakeFetched(
            "https://beta.example/feed", body=rss([("Staff wellbeing", "https://beta.example/w")]), etag='"b1"'
        ),
        "https://gamma.example/seminars/": FakeFetched("https://gamma.example/seminars/", body=PAGE),
    }
    responses.update(overrides)
    return FakeFetcher(responses)


def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def run(engine, fetcher, now=NOW, configs=SOURCES):
    return {o.source_id: o for o in run_fetch(Settings(), configs, engine, fetcher, clock=lambda: now)}


def test_first_run_stores_everything_and_rerun_adds_nothing(engine):
    outcomes = run(engine, fetcher_with())
    assert {k: (o.outcome, o.result.new) for k, o in outcomes.items()} == {
        "alpha": ("new-data", 2),
        "beta": ("new-data", 1),
        "gamma": ("new-data", 1),
    }
    assert count(engine, resources) == 4 and count(engine, entries) == 4
    with engine.connect() as conn:
        urls = set(conn.execute(select(resources.c.canonical_url)).scalars())
    assert "https://alpha.example/k" in urls and "https://gamma.example/s/1" in urls

    again = run(engine, fetcher_with(), now=NOW + timedelta(hours=1))
    assert again["alpha"].outcome == "not-modified"  # the stored ETag was sent back
    assert again["gamma"].outcome == "new-data" and again["gamma"].result.unchanged == 1
    assert count(engine, resources) == 4 and count(engine, entries) == 4
    assert count(engine, fetch_runs) == 6


def test_changed_entry_updates_in_place(engine):
    run(engine, fetcher_with())
    changed = FakeFetched(
        "https://beta.example/feed", body=rss([("Staff wellbeing (updated)", "https://beta.example/w")]), etag='"b2"'
    )
    outcome = run(engine, fetcher_with(**{"https://beta.example/feed": changed}))["beta"]
    assert (outcome.result.new, outcome.result.updated) == (0, 1)
    with engine.connect() as conn:
        titles = set(conn.execute(select(resources.c.title)).scalars())
    assert "Staff wellbeing (updated)" in titles and "Staff wellbeing" not in titles
    assert count(engine, resources) == 4


def test_broken_source_is_recorded_and_others_go_on(engine):
    outcomes = run(
        engine,
        fetcher_with(
            **{
                "https://beta.example/feed": FakeFetched(
                    "https://beta.example/feed", body=b"<html><body>not a feed</body></html>", content_type="text/html"
                )
            }
        ),
    )
    assert outcomes["beta"].outcome == "failed" and "feed" in outcomes["beta"].error.lower()
    assert outcomes["alpha"].outcome == "new-data" and outcomes["gamma"].outcome == "new-data"
    with engine.connect() as conn:
        beta = conn.execute(select(sources).where(sources.c.id == "beta")).one()
    assert beta.consecutive_failures == 1 and beta.last_error


def test_gone_disables_and_rate_limit_pauses(engine):
    fetcher = fetcher_with(
        **{
            "https://alpha.example/feed": GoneError("410 Gone", url="https://alpha.example/feed", status=410),
            "https://beta.example/feed": RateLimitedError(
                "429", url="https://beta.example/feed", status=429, retry_after=7200
            ),
        }
    )
    run(engine, fetcher)
    with engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(sources))}
    assert "410" in rows["alpha"].disabled_reason
    assert rows["beta"].paused_until == NOW + timedelta(hours=2)
    later = run(engine, fetcher_with(), now=NOW + timedelta(hours=1))
    assert later["alpha"].outcome == "skipped" and "disabled" in later["alpha"].error
    assert later["beta"].outcome == "skipped" and "paused" in later["beta"].error
    after_pause = run(engine, fetcher_with(), now=NOW + timedelta(hours=3))
    assert after_pause["beta"].outcome == "new-data"


def test_permanent_redirect_updates_stored_url(engine):
    moved = FakeFetched(
        "https://beta.example/new-feed",
        body=rss([("Staff wellbeing", "https://beta.example/w")]),
        permanent_redirect="https://beta.example/new-feed",
    )
    run(engine, fetcher_with(**{"https://beta.example/feed": moved}))
    with engine.connect() as conn:
        url = conn.execute(select(sources.c.url).where(sources.c.id == "beta")).scalar_one()
    assert url == "https://beta.example/new-feed"
    fetcher = fetcher_with(**{"https://beta.example/new-feed": moved})
    run(engine, fetcher, now=NOW + timedelta(days=1))
    assert ("https://beta.example/new-feed", None) in fetcher.calls


def test_layout_drift_raises_alarm(engine):
    run(engine, fetcher_with())
    empty = FakeFetched("https://gamma.example/seminars/", body=b"<html><body><div>redesigned</div></body></html>")
    outcome = run(engine, fetcher_with(**{"https://gamma.example/seminars/": empty}), now=NOW + timedelta(days=1))
    assert outcome["gamma"].outcome == "failed" and "layout" in outcome["gamma"].error
    with engine.connect() as conn:
        assert conn.execute(select(sources.c.drift_alarm).where(sources.c.id == "gamma")).scalar_one() is True


def test_unexpected_exception_is_recorded_as_internal_error(engine):
    outcomes = run(engine, fetcher_with(**{"https://beta.example/feed": ValueError("boom")}))
    assert outcomes["beta"].internal_error and "internal error" in outcomes["beta"].error
    assert outcomes["alpha"].outcome == "new-data"


def test_store_failure_rolls_back_only_that_source(engine, monkeypatch):
    import aggregator.ingest.recording as recording

    real = recording.store_resources

    def flaky(conn, source_id, items, now):
        result = real(conn, source_id, items, now)
        if source_id == "alpha":
            raise RuntimeError("disk full after writing")
        return result

    monkeypatch.setattr(recording, "store_resources", flaky)
    outcomes = run(engine, fetcher_with())
    assert outcomes["alpha"].outcome == "failed"
    with engine.connect() as conn:
        stored_sources = set(conn.execute(select(entries.c.source_id)).scalars())
    assert stored_sources == {"beta", "gamma"}  # alpha's half-written rows were rolled back


def stored_resources(engine) -> list[tuple]:
    columns = [c for c in resources.c if c.name not in ("id", "created_at", "modified_at", "merged_into_id")]
    with engine.connect() as conn:
        return sorted(tuple(row) for row in conn.execute(select(*columns)))


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="the worker process is used only with a spare core")
def test_entries_normalised_in_a_worker_process_are_stored_as_in_the_thread(engine, tmp_path, monkeypatch):
    """A pass with many sources normalises in a worker process (ingest/entry_pool.py); the resources stored
    are exactly those of a pass that normalises in its threads."""
    import aggregator.ingest.entry_pool as entry_pool
    from aggregator.db.engine import create_db_engine
    from tests.support.db import fresh_database

    inline = run_fetch(Settings(), SOURCES, engine, fetcher_with(), clock=lambda: NOW)

    def not_here(*args):
        raise AssertionError("normalised in this process, not in the worker")

    # the worker imports its own copy of the module: only this process's function is replaced
    monkeypatch.setattr(entry_pool, "normalize_entry", not_here)
    with fresh_database(tmp_path / "pooled") as url:
        pooled_engine = create_db_engine(url)
        try:
            pooled = run_fetch(Settings(), SOURCES, pooled_engine, fetcher_with(), clock=lambda: NOW, pool_from=1)
            assert stored_resources(pooled_engine) == stored_resources(engine)
        finally:
            pooled_engine.dispose()
    assert sorted((o.source_id, o.outcome, o.result) for o in pooled) == sorted(
        (o.source_id, o.outcome, o.result) for o in inline
    )
    assert count(engine, resources) == 4
