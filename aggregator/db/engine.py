"""Creating the database engine (SQLite in WAL mode by default) and upgrading it with Alembic."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from aggregator.db.private import create_private_file, make_private_dir
from aggregator.settings import Settings

logger = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_db_engine(url: str) -> Engine:
    """An Engine for `url`; SQLite files get WAL, a busy timeout and foreign keys, and their folder is made."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:" and not parsed.database.startswith("file:"):
            make_private_dir(Path(parsed.database).parent)
            create_private_file(Path(parsed.database))  # SQLite would make it 0644 (the umask's default)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # Takes effect only on a new, empty file (an existing one keeps its page size): a resource and its entry
    # fill about 3 KB, and 8 KiB pages stored ingest_bench's 10k of them 9-10% faster than 4 or 16 KiB pages.
    cursor.execute("PRAGMA page_size=8192")
    # WAL lets the web app read while a fetch writes; NORMAL is durable at each checkpoint in WAL mode.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def render_item(type_, obj, autogen_context):
    """Alembic hook: migrations must not import the application's types; UTCDateTime is a timestamptz."""
    from aggregator.db.schema import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def compare_type(context, inspected_column, metadata_column, inspected_type, metadata_type):
    """Alembic hook: UTCDateTime stores text on SQLite by design; that is not a schema change."""
    from aggregator.db.schema import UTCDateTime

    if isinstance(metadata_type, UTCDateTime):
        return False
    return None


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade_database(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (idempotent: an up-to-date database is left as it is)."""
    command.upgrade(alembic_config(engine), revision)
    logger.debug("database upgraded", extra={"url": engine.url.render_as_string(hide_password=True)})


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def open_database(settings: Settings) -> Engine:
    """The engine for the configured database, upgraded to the newest schema."""
    engine = create_db_engine(settings.resolved_database_url)
    upgrade_database(engine)
    return engine
