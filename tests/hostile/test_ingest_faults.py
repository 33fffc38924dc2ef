"""Database faults during the fetch run: a locked SQLite file, and a crash in the middle of one source's store.

A crash inside store_resources is tests/test_pipeline.py::test_store_failure_rolls_back_only_that_source;
the cases here are the lock, and a crash after the resources were written (in record_fetch).
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

import aggregator.ingest.recording as recording
from aggregator.db.schema import entries, fetch_runs, resources
from aggregator.ingest.run import run_fetch
from aggregator.settings import Settings
from tests.support.db import server_url
from tests.test_pipeline import SOURCES, fetcher_with

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
sqlite_only = pytest.mark.skipif(bool(server_url()), reason="the lock is SQLite's")


def run(engine):
    return {o.source_id: o for o in run_fetch(Settings(), SOURCES, engine, fetcher_with(), clock=lambda: NOW)}


def stored_sources(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(select(entries.c.source_id, func.count()).group_by(entries.c.source_id)).all())


def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


@sqlite_only
def test_a_write_lock_held_elsewhere_is_waited_out(engine, database_url) -> None:
    """Another process holds the write lock for a second (a backup, the web app); the run waits for it."""
    holder = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(1.0, lambda: holder.execute("COMMIT"))
    release.start()
    try:
        outcomes = run(engine)
    finally:
        release.join()
        holder.close()
    assert {k: o.outcome for k, o in outcomes.items()} == {"alpha": "new-data", "beta": "new-data", "gamma": "new-data"}
    assert stored_sources(engine) == {"alpha": 2, "beta": 1, "gamma": 1}


def _locked_once(monkeypatch, source_id: str) -> list[str]:
    """store_resources writes its rows, then SQLite reports a lock, once, for `source_id`."""
    real = recording.store_resources
    calls: list[str] = []

    def flaky(conn, sid, items, now):
        calls.append(sid)
        result = real(conn, sid, items, now)
        if sid == source_id and calls.count(sid) == 1:
            raise OperationalError("INSERT INTO entries ...", {}, sqlite3.OperationalError("database is locked"))
        return result

    monkeypatch.setattr(recording, "store_resources", flaky)
    return calls


def test_database_locked_mid_store_leaves_nothing_half_written(engine, monkeypatch) -> None:
    _locked_once(monkeypatch, "alpha")
    outcomes = run(engine)
    assert outcomes["beta"].outcome == outcomes["gamma"].outcome == "new-data"
    stored = stored_sources(engine)
    assert stored.get("alpha", 0) in (0, 2)  # all of alpha's entries or none, never some
    assert count(engine, resources) == sum(stored.values())  # no resource without its entry


def test_database_locked_mid_store_is_retried(engine, monkeypatch) -> None:
    calls = _locked_once(monkeypatch, "alpha")
    outcomes = run(engine)
    assert outcomes["alpha"].outcome == "new-data"
    assert calls.count("alpha") == 2
    assert stored_sources(engine) == {"alpha": 2, "beta": 1, "gamma": 1}


def test_crash_after_storing_resources_rolls_back_that_source_only(engine, monkeypatch) -> None:
    real = recording.record_fetch

    def crash_for_beta(conn, record, **changes):
        if record.source_id == "beta" and record.outcome != "failed":
            raise RuntimeError("killed between the resources and the fetch record")
        return real(conn, record, **changes)

    monkeypatch.setattr(recording, "record_fetch", crash_for_beta)
    outcomes = run(engine)
    assert outcomes["beta"].outcome == "failed" and outcomes["beta"].internal_error
    assert stored_sources(engine) == {"alpha": 2, "gamma": 1}  # beta's stored rows went with its transaction
    assert count(engine, resources) == 3
    with engine.connect() as conn:
        runs = dict(conn.execute(select(fetch_runs.c.source_id, fetch_runs.c.outcome)).all())
    assert runs == {"alpha": "new-data", "beta": "failed", "gamma": "new-data"}
