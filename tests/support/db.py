"""Fresh test databases: a PostgreSQL schema per test when AGGREGATOR_TEST_DATABASE_URL is set, else SQLite."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from aggregator.db.engine import create_db_engine, upgrade_database


def server_url() -> str | None:
    return os.environ.get("AGGREGATOR_TEST_DATABASE_URL") or None


@contextmanager
def fresh_database(tmp_path: Path) -> Iterator[str]:
    """Yield the URL of an empty, migrated database that is dropped afterwards."""
    base = server_url()
    if not base:
        url = f"sqlite:///{(tmp_path / 'test.db').as_posix()}"
        _migrate(url)
        yield url
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    # every connection of the code under test lands in the schema through libpq's `options`
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    try:
        _migrate(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _migrate(url: str) -> None:
    engine = create_db_engine(url)
    try:
        upgrade_database(engine)
    finally:
        engine.dispose()
