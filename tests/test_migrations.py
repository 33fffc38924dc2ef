"""Migrations: they build exactly the schema the code declares, and go down and up again cleanly."""

from __future__ import annotations

import sqlite3
from datetime import UTC

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from aggregator.db.engine import (
    alembic_config,
    compare_type,
    create_db_engine,
    current_revision,
    upgrade_database,
)
from aggregator.db.schema import metadata


def test_migrated_schema_matches_the_code(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": compare_type})
        diff = compare_metadata(context, metadata)
    assert diff == [], f"models and migrations differ; run alembic revision --autogenerate: {diff}"


def test_downgrade_to_base_and_upgrade_again(engine):
    head = current_revision(engine)
    command.downgrade(alembic_config(engine), "base")
    assert current_revision(engine) is None
    upgrade_database(engine)
    assert current_revision(engine) == head
    upgrade_database(engine)  # idempotent
    assert current_revision(engine) == head


def test_upgrade_keeps_existing_rows(engine):
    """A database in use (rows referencing each other) upgrades across the table-rebuilding migrations."""
    from datetime import datetime

    command.downgrade(alembic_config(engine), "0002")
    now = datetime(2026, 11, 1, tzinfo=UTC).isoformat(sep=" ")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO sources (id, url, configured_url, consecutive_failures, best_count, drift_alarm)"
                " VALUES ('s', 'https://s.example/feed', 'https://s.example/feed', 0, 0, false)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO resources (id, canonical_url, url, title, summary, summary_html, type, authors,"
                " tags, status, created_at, modified_at, off_topic) VALUES (1, 'https://s.example/a',"
                " 'https://s.example/a', 'Kindness', '', '', 'news', '[]', '[]', 'pending', :now, :now,"
                " false)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO entries (source_id, key, resource_id, url, canonical_url, title, summary,"
                " summary_html, type, authors, tags, extra, content_hash, first_seen_at, last_seen_at)"
                " VALUES ('s', 'url:a', 1, 'https://s.example/a', 'https://s.example/a', 'Kindness', '', '',"
                " 'news', '[]', '[]', '{}', 'h', :now, :now)"
            ),
            {"now": now},
        )
    upgrade_database(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT title, featured FROM resources")).one() == ("Kindness", False)
        assert conn.execute(text("SELECT count(*) FROM entries")).scalar_one() == 1
        if conn.dialect.name == "sqlite":  # enforcement is back on for the application's connections
            assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1


def test_new_sqlite_files_take_8k_pages_and_existing_ones_keep_theirs(tmp_path):
    """A new database file is made with 8 KiB pages in WAL mode; a file made before keeps its 4 KiB pages
    (SQLite changes a WAL file's page size only by a VACUUM) and is upgraded and written as usual."""
    old = tmp_path / "old.db"
    with sqlite3.connect(old) as made_before:
        made_before.execute("PRAGMA journal_mode=WAL")
        made_before.execute("CREATE TABLE t (x)")
    for path, page_size in ((tmp_path / "new.db", 8192), (old, 4096)):
        engine = create_db_engine(f"sqlite:///{path}")
        upgrade_database(engine)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO sources (id, url, configured_url, consecutive_failures, best_count,"
                    " drift_alarm) VALUES ('s', 'https://s.example/feed', 'https://s.example/feed', 0, 0,"
                    " false)"
                )
            )
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA page_size")).scalar_one() == page_size
            assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
            assert conn.execute(text("SELECT count(*) FROM sources")).scalar_one() == 1
        engine.dispose()


def test_0006_keeps_the_feed_ids_readers_already_have(engine, monkeypatch):
    """Before 0006 a resource's feed id was tag:<base URL host>,2026:resource/<id>, computed and never stored:
    the upgrade stores it for what was published, so moving the site changes no id readers hold."""
    from datetime import datetime

    command.downgrade(alembic_config(engine), "0005")
    now = datetime(2026, 11, 1, tzinfo=UTC).isoformat(sep=" ")
    with engine.begin() as conn:
        for rid, status in ((1, "approved"), (2, "pending")):
            conn.execute(
                text(
                    "INSERT INTO resources (id, canonical_url, url, title, summary, summary_html, type,"
                    " authors, tags, status, created_at, modified_at, off_topic, featured) VALUES (:id,"
                    " :url, :url, 'Kindness', '', '', 'news', '[]', '[]', :status, :now, :now, false, false)"
                ),
                {"id": rid, "url": f"https://s.example/{rid}", "status": status, "now": now},
            )
        conn.execute(
            text(
                "INSERT INTO issues (id, month, status, intro, created_at, updated_at, sent_at) VALUES"
                " (7, '2026-10', 'sent', '', :now, :now, :now)"
            ),
            {"now": now},
        )
    monkeypatch.setenv("AGGREGATOR_BASE_URL", "https://digest.example.org")
    upgrade_database(engine)
    with engine.connect() as conn:
        assert dict(conn.execute(text("SELECT id, feed_guid FROM resources")).all()) == {
            1: "tag:digest.example.org,2026:resource/1",
            2: None,
        }
        assert (
            conn.execute(text("SELECT feed_guid FROM issues")).scalar_one()
            == "tag:digest.example.org,2026:issue/2026-10"
        )


def test_0011_fills_in_how_sure_each_resources_labels_are(engine):
    """The least-sure-first queue works on a database labelled before 0011: certainty is backfilled."""
    from datetime import datetime

    command.downgrade(alembic_config(engine), "0007")
    now = datetime(2026, 11, 1, tzinfo=UTC).isoformat(sep=" ")
    with engine.begin() as conn:
        for rid in (1, 2, 3):
            conn.execute(
                text(
                    "INSERT INTO resources (id, canonical_url, url, title, summary, summary_html, type, authors,"
                    " tags, status, created_at, modified_at, off_topic) VALUES (:id, :url, :url, 'K', '', '',"
                    " 'news', '[]', '[]', 'pending', :now, :now, false)"
                ),
                {"id": rid, "url": f"https://s.example/{rid}", "now": now},
            )
        for rid, kind, label, confidence in (
            (1, "theme", "kindness", 0.9),
            (1, "theme", "teamwork", 0.4),
            (1, "audience", "leaders", 0.7),
            (2, "theme", "kindness", 0.8),  # no audience label: not sure at all
        ):
            conn.execute(
                text(
                    "INSERT INTO labels (resource_id, kind, label_id, confidence, reasons, origin)"
                    " VALUES (:rid, :kind, :label, :confidence, '[]', 'classifier')"
                ),
                {"rid": rid, "kind": kind, "label": label, "confidence": confidence},
            )
    upgrade_database(engine)
    with engine.connect() as conn:
        found = dict(conn.execute(text("SELECT id, certainty FROM resources ORDER BY id")).all())
    assert found == {1: 0.7, 2: 0.0, 3: 0.0}
