"""Data files are private: the data folder 0700, the SQLite database (and its WAL), the secret and the outbox 0600."""

from __future__ import annotations

import os
import stat

import pytest
from sqlalchemy import text

from aggregator.cli import open_database
from aggregator.digest.mail.outbox import OutboxTransport
from aggregator.settings import Settings


@pytest.fixture
def usual_umask():
    previous = os.umask(0o022)  # what most systems give a service: new files 0644, folders 0755
    yield
    os.umask(previous)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_database_and_the_data_folder_are_private(tmp_path, usual_umask):
    settings = Settings(data_dir=tmp_path / "var" / "data", secret_key=None)
    engine = open_database(settings)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE probe (x INTEGER)"))
    settings.secret()
    assert _mode(tmp_path / "var") == 0o700 and _mode(settings.data_dir) == 0o700
    for name in ("aggregator.db", "aggregator.db-wal", "secret.key"):
        assert _mode(settings.data_dir / name) == 0o600, name
    engine.dispose()


def test_outbox_messages_are_private(tmp_path, usual_umask):
    session = OutboxTransport(tmp_path / "outbox" / "2026-11").open()
    session.send("from@example.org", "to@example.org", b"Subject: hi\r\n\r\nbody\r\n")
    (message,) = (tmp_path / "outbox" / "2026-11").glob("*.eml")
    assert _mode(message) == 0o600 and _mode(tmp_path / "outbox") == 0o700
