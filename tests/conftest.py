"""Shared fixtures: paths to the shared corpus and the partner-site fixtures, settings for tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
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
