"""The one wiring: AppContext is cheap to import, reads the editors' files once and again when they change."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from aggregator.config.cache import FileCache
from aggregator.context import AppContext
from aggregator.errors import ConfigError
from aggregator.settings import Settings

TAXONOMY = os.path.join(os.path.dirname(__file__), "..", "taxonomy.yaml")


def test_importing_the_context_loads_no_database_or_learning_library():
    code = (
        "import sys, aggregator.context; "
        "print(sorted(m for m in ('sqlalchemy', 'sklearn', 'numpy', 'alembic', 'httpx', 'pydantic_settings') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_file_is_read_once_and_again_when_it_changes(tmp_path):
    path = tmp_path / "f.txt"
    path.write_text("one")
    reads = []
    cache = FileCache(lambda p: reads.append(p) or p.read_text())
    assert cache.get(path) == "one" and cache.get(path) == "one"
    assert len(reads) == 1
    path.write_text("two, longer")
    os.utime(path, ns=(1, 1))  # a different stamp even where the clock is coarse
    assert cache.get(path) == "two, longer"
    assert len(reads) == 2


def test_a_failed_read_is_not_remembered(tmp_path):
    path = tmp_path / "f.txt"
    path.write_text("bad")
    outcomes = iter([ConfigError("broken", path=str(path)), "good"])

    def load(p):
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    cache = FileCache(load)
    with pytest.raises(ConfigError):
        cache.get(path)
    assert cache.get(path) == "good"


def test_the_context_reads_settings_on_first_use_and_shares_the_taxonomy(tmp_path, monkeypatch):
    made = []

    def settings():
        made.append(1)
        return Settings(data_dir=tmp_path, taxonomy_file=TAXONOMY)

    context = AppContext(settings)
    assert made == []
    assert context.taxonomy() is context.taxonomy()
    assert made == [1]


def test_the_context_makes_and_upgrades_its_engine_once_and_disposes_it(tmp_path):
    context = AppContext(Settings(data_dir=tmp_path))
    engine = context.engine
    assert context.engine is engine
    from sqlalchemy import inspect

    assert "alembic_version" in inspect(engine).get_table_names()  # upgraded
    context.close()
    assert context.engine is not engine  # closed: a later use makes a new one


def test_the_context_mailer_is_the_factory_s(tmp_path):
    from aggregator.digest.mail.outbox import OutboxTransport

    mailer = AppContext(Settings(data_dir=tmp_path)).mailer("confirmations")
    assert isinstance(mailer, OutboxTransport) and mailer.folder == tmp_path / "outbox" / "confirmations"
