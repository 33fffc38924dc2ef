"""Shared fixtures: paths to the shared corpus and the partner-site fixtures, settings for tests."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# One cache of trained classifier models for the whole suite, its workers and the commands they start: the
# model is trained once per change of the labelled sets (its key), not once per `aggregator run` in a test.
os.environ.setdefault(
    "AGGREGATOR_MODEL_CACHE_DIR", str(Path(tempfile.gettempdir()) / f"aggregator-test-models-{os.getuid()}")
)
CORPUS = Path(os.environ.get("AGGREGATOR_CORPUS_DIR", ROOT.parent / "shared" / "corpus"))
SITES = ROOT / "tests" / "sites"


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The real-material corpus (../shared/corpus); tests needing it skip only when it is absent."""
    if not CORPUS.is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS}")
    return CORPUS


@pytest.fixture(scope="session")
def sites_dir() -> Path:
    return SITES


@pytest.fixture
def database_url(tmp_path: Path):
    """A fresh, migrated database per test: PostgreSQL (own schema) when AGGREGATOR_TEST_DATABASE_URL is
    set, else a SQLite file in tmp_path. Yields the URL to give to the code under test."""
    from tests.support.db import fresh_database

    with fresh_database(tmp_path) as url:
        yield url


@pytest.fixture
def engine(database_url: str):
    from aggregator.db.engine import create_db_engine

    engine = create_db_engine(database_url)
    yield engine
    engine.dispose()
