"""Incremental de-duplication: a pass compares only new and changed resources, and merges as a full pass would."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from aggregator.classify.pageset import load_page_set
from aggregator.config.taxonomy import load_taxonomy
from aggregator.db.schema import merges, resources
from aggregator.dedupe import DedupeRecord, cluster_duplicates, find_duplicates
from aggregator.dedupe.engine import find_new_duplicates
from aggregator.dedupe.evaluate import load_bib_set, page_records
from aggregator.dedupe.merge import dedupe_resources
from aggregator.model import RawEntry
from tests.support.resources import NOW, source, store

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "tests" / "eval" / "real" / "pages.jsonl"


def page_set_records() -> list[DedupeRecord]:
    return page_records([p.record for p in load_page_set(PAGES, load_taxonomy(ROOT / "taxonomy.yaml"))])


def clusters_in_two_passes(records: list[DedupeRecord], split: int) -> list[tuple]:
    """The groups after a full pass over the first `split` records and an incremental one adding the rest."""
    first = find_duplicates(records[:split])
    second = find_new_duplicates(records[:split], records[split:])
    return sorted(cluster_duplicates(records, first + second.matches))


@pytest.mark.corpus
@pytest.mark.parametrize("share", [0.5, 0.9, 0.99])
def test_bib_records_merge_alike_in_full_and_incremental_passes(corpus_dir: Path, share: float) -> None:
    records = load_bib_set(corpus_dir / "dedupe" / "bib-respiratory").records
    random.Random(7).shuffle(records := list(records))  # new records arrive in no particular order
    full = sorted(cluster_duplicates(records, find_duplicates(records)))
    assert len(full) > 100
    assert clusters_in_two_passes(records, int(len(records) * share)) == full


@pytest.mark.parametrize("share", [0.3, 0.7, 0.95])
def test_pages_merge_alike_in_full_and_incremental_passes(share: float) -> None:
    """The page set carries texts: matches by content are found incrementally too."""
    records = page_set_records()
    random.Random(3).shuffle(records)
    full = sorted(cluster_duplicates(records, find_duplicates(records)))
    assert any("text" in m.reason for m in find_duplicates(records))
    assert clusters_in_two_passes(records, int(len(records) * share)) == full


def test_a_pass_with_nothing_new_judges_no_pair() -> None:
    records = page_set_records()
    assert find_new_duplicates(records, []).compared == 0
    assert find_new_duplicates(records[:-1], records[-1:]).compared >= 0


A, B, C = source("nhse"), source("pslhub"), source("kfund")
GUIDE = "Leading with compassion: a practical guide for teams"


def entry(site: str, path: str, title: str) -> RawEntry:
    return RawEntry(url=f"https://{site}.example/{path}", title=title, summary_html=f"<p>{title} on {site}.</p>")


def merged_pairs(engine) -> set[frozenset[str]]:
    with engine.connect() as conn:
        title = dict(conn.execute(select(resources.c.id, resources.c.canonical_url)).all())
        return {
            frozenset((title[k], title[a])) for k, a in conn.execute(select(merges.c.kept_id, merges.c.absorbed_id))
        }


def test_later_passes_compare_only_what_is_new(engine) -> None:
    store(engine, A, [entry("nhse", "guide", GUIDE), entry("nhse", "park", "Car park closure on Saturday")])
    first = dedupe_resources(engine, NOW)
    assert (first.compared, first.merged) == (2, 0)

    later = NOW + timedelta(days=30)
    store(engine, B, [entry("pslhub", "r1", "Leading with Compassion – A Practical Guide for Teams")], now=later)
    second = dedupe_resources(engine, later)
    assert (second.compared, second.merged) == (1, 1)
    assert second.pairs >= 1

    nothing = dedupe_resources(engine, later + timedelta(days=30))
    assert (nothing.compared, nothing.pairs, nothing.merged) == (0, 0, 0)
    assert merged_pairs(engine) == {frozenset(("https://nhse.example/guide", "https://pslhub.example/r1"))}
    assert dedupe_resources(engine, later, full=True).merged == 0  # a full pass finds nothing more


def test_a_changed_resource_is_compared_again(engine) -> None:
    store(engine, A, [entry("nhse", "guide", "Draft title to be replaced")])
    store(engine, B, [entry("pslhub", "r1", GUIDE)])
    assert dedupe_resources(engine, NOW).merged == 0
    later = NOW + timedelta(days=1)
    store(engine, A, [entry("nhse", "guide", GUIDE)], now=later)  # the source retitled it
    report = dedupe_resources(engine, later)
    assert (report.compared, report.merged) == (1, 1)


@pytest.fixture
def two_engines(tmp_path: Path):
    from aggregator.db.engine import create_db_engine
    from tests.support.db import fresh_database

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with fresh_database(tmp_path / "a") as url_a, fresh_database(tmp_path / "b") as url_b:
        engines = create_db_engine(url_a), create_db_engine(url_b)
        yield engines
        for e in engines:
            e.dispose()


def test_incremental_and_full_passes_merge_the_same_resources(two_engines) -> None:
    batches = [
        (A, [entry("nhse", "guide", GUIDE), entry("nhse", "kind", "Kindness in the ward: a toolkit for staff")]),
        (B, [entry("pslhub", "kind", "Kindness in the Ward – a Toolkit for Staff"), entry("pslhub", "x", "Rota")]),
        (
            C,
            [entry("kfund", "guide", "Leading with compassion: practical guide for teams"), entry("kfund", "y", GUIDE)],
        ),
    ]
    incremental, full = two_engines
    for day, (config, entries) in enumerate(batches):
        now = NOW + timedelta(days=day)
        store(incremental, config, entries, now=now)
        dedupe_resources(incremental, now)
        store(full, config, entries, now=now)
    dedupe_resources(full, NOW + timedelta(days=3), full=True)
    assert merged_pairs(incremental)
    with incremental.connect() as a, full.connect() as b:
        groups = [
            sorted(conn.execute(select(resources.c.canonical_url).where(resources.c.status != "merged")).scalars())
            for conn in (a, b)
        ]
    assert groups[0] == groups[1]


def test_a_split_pair_stays_split_in_incremental_passes(engine) -> None:
    store(engine, A, [entry("nhse", "guide", GUIDE)])
    store(engine, B, [entry("pslhub", "r1", GUIDE)])
    assert dedupe_resources(engine, NOW).merged == 1
    from aggregator.dedupe.merge import split_merge

    with engine.begin() as conn:
        split_merge(conn, conn.execute(select(merges.c.id)).scalar_one(), editor="sam@example.org", now=NOW)
    assert dedupe_resources(engine, NOW).merged == 0
    with engine.begin() as conn:
        conn.execute(update(resources).values(deduped_at=None))
    assert dedupe_resources(engine, NOW).merged == 0
