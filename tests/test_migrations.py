"""Migrations: they build exactly the schema the code declares, and go down and up again cleanly."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from aggregator.db.engine import alembic_config, compare_type, current_revision, upgrade_database
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
    from datetime import datetime, timezone

    from sqlalchemy import text

    command.downgrade(alembic_config(engine), "0002")
    now = datetime(2026, 11, 1, tzinfo=timezone.utc).isoformat(sep=" ")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO sources (id, url, configured_url, consecutive_failures, best_count, drift_alarm)"
                          " VALUES ('s', 'https://s.example/feed', 'https://s.example/feed', 0, 0, false)"))
        conn.execute(text("INSERT INTO resources (id, canonical_url, url, title, summary, summary_html, type, authors,"
                          " tags, status, created_at, modified_at, off_topic) VALUES (1, 'https://s.example/a',"
                          " 'https://s.example/a', 'Kindness', '', '', 'news', '[]', '[]', 'pending', :now, :now,"
                          " false)"), {"now": now})
        conn.execute(text("INSERT INTO entries (source_id, key, resource_id, url, canonical_url, title, summary,"
                          " summary_html, type, authors, tags, extra, content_hash, first_seen_at, last_seen_at)"
                          " VALUES ('s', 'url:a', 1, 'https://s.example/a', 'https://s.example/a', 'Kindness', '', '',"
                          " 'news', '[]', '[]', '{}', 'h', :now, :now)"), {"now": now})
    upgrade_database(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT title, featured FROM resources")).one() == ("Kindness", False)
        assert conn.execute(text("SELECT count(*) FROM entries")).scalar_one() == 1
        if conn.dialect.name == "sqlite":  # enforcement is back on for the application's connections
            assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
