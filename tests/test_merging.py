"""Cross-source merging in the database: one resource, every source kept, decisions respected, splits final."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from aggregator.db.schema import entries, merges, resources
from aggregator.dedupe.merge import dedupe_resources, split_merge
from aggregator.model import RawEntry
from tests.support.resources import NOW, source, store

A, B = source("nhse"), source("pslhub")
GUIDE_A = RawEntry(
    url="https://nhse.example/guide?utm_source=page",
    title="Leading with compassion: a practical guide for teams",
    summary_html="<p>Short.</p>",
    published=datetime(2026, 3, 2, tzinfo=UTC),
)
GUIDE_B = RawEntry(
    url="https://pslhub.example/r4633",
    title="Leading with Compassion – A Practical Guide for Teams",
    summary_html="<p>A much longer summary of the practical guide for team leaders.</p>",
    published=datetime(2026, 3, 1, tzinfo=UTC),
    tags=("Health and care staff",),
)
PAPER_A = RawEntry(url="https://nhse.example/paper", title="Kindness and patient safety", doi="10.5555/kih.2026.0117")
PAPER_B = RawEntry(
    url="https://pslhub.example/r4610",
    title="Summary: why kindness matters for safety",
    doi="https://doi.org/10.5555/KIH.2026.0117",
)
OTHER = RawEntry(url="https://pslhub.example/parking", title="Car park closure on Saturday")


def live_titles(engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(select(resources.c.title).where(resources.c.status != "merged")).scalars())


def test_duplicates_across_sources_merge_keeping_every_source(engine):
    store(engine, A, [GUIDE_A, PAPER_A])
    store(engine, B, [GUIDE_B, PAPER_B, OTHER])
    report = dedupe_resources(engine, NOW)
    assert report.merged == 2
    assert live_titles(engine) == [
        "Car park closure on Saturday",
        "Kindness and patient safety",
        "Leading with compassion: a practical guide for teams",
    ]
    with engine.connect() as conn:
        guide = conn.execute(
            select(resources).where(resources.c.title.like("Leading%"), resources.c.status == "pending")
        ).one()
        sources = set(conn.execute(select(entries.c.source_id).where(entries.c.resource_id == guide.id)).scalars())
        reasons = set(conn.execute(select(merges.c.reason)).scalars())
    assert sources == {"nhse", "pslhub"}
    assert "longer summary" in guide.summary  # the most complete summary
    assert guide.published_at == datetime(2026, 3, 1, tzinfo=UTC)  # the earliest date
    assert "Health and care staff" in guide.tags
    assert "doi" in " ".join(reasons)
    assert dedupe_resources(engine, NOW).merged == 0  # idempotent


def test_same_source_lookalikes_are_not_merged(engine):
    march = RawEntry(url="https://nhse.example/c-march", title="Conversation for kindness: March 2026")
    april = RawEntry(url="https://nhse.example/c-april", title="Conversation for kindness: April 2026")
    store(engine, A, [march, april, GUIDE_A, RawEntry(url="https://nhse.example/guide-2", title=GUIDE_A.title)])
    assert dedupe_resources(engine, NOW).merged == 0


def test_approved_resource_gets_a_proposed_title_not_a_new_one(engine):
    store(engine, A, [GUIDE_A])
    with engine.begin() as conn:
        conn.execute(update(resources).values(status="approved"))
    store(engine, B, [GUIDE_B], now=NOW + timedelta(days=1))
    dedupe_resources(engine, NOW + timedelta(days=1))
    with engine.connect() as conn:
        kept = conn.execute(select(resources).where(resources.c.status == "approved")).one()
    assert kept.title == GUIDE_A.title
    assert kept.proposed_title == GUIDE_B.title
    assert kept.summary == "Short."  # a decided resource keeps its fields


def test_split_restores_both_and_is_not_undone_by_the_next_run(engine):
    store(engine, A, [GUIDE_A])
    store(engine, B, [GUIDE_B])
    dedupe_resources(engine, NOW)
    with engine.begin() as conn:
        merge_id = conn.execute(select(merges.c.id)).scalar_one()
        restored = split_merge(conn, merge_id, editor="sam@example.org", now=NOW)
    assert len(live_titles(engine)) == 2
    with engine.connect() as conn:
        assert (
            set(conn.execute(select(entries.c.resource_id)).scalars()) == {restored, restored - 1}
            or len(set(conn.execute(select(entries.c.resource_id)).scalars())) == 2
        )
        assert conn.execute(select(merges.c.split_by)).scalar_one() == "sam@example.org"
    assert dedupe_resources(engine, NOW).merged == 0
    assert len(live_titles(engine)) == 2
