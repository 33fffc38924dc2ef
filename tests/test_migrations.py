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
