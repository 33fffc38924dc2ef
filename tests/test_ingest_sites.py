"""End to end: the five partner sites, served from their fixtures on 127.0.0.1, flow through the real
fetcher, every adapter, the normaliser and the store (SQLite, or PostgreSQL when configured)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from aggregator.config.sources import load_sources
from aggregator.db.schema import entries, resources, sources
from aggregator.ingest.fetch import Fetcher, guarded_transport
from aggregator.ingest.run import run_fetch, utcnow
from aggregator.jobs.demo import FixtureSites, RewritingTransport, demo_settings, sites_root
from aggregator.review.health import source_health
from aggregator.settings import Settings


@pytest.fixture(scope="module")
def sites():
    with FixtureSites(sites_root()) as served:
        yield served


@pytest.fixture
def setup(sites, database_url, tmp_path):
    settings = demo_settings(Settings(data_dir=tmp_path, database_url=database_url), sites_root())
    settings = settings.model_copy(update={"fetch": settings.fetch.model_copy(update={"per_host_delay": 0})})
    configs = load_sources(settings.sources_file).sources
    return settings, configs


def fetch_all(settings, configs, engine, sites, now):
    transport = RewritingTransport(inner=guarded_transport(settings), origin=sites.origin)
    with Fetcher(settings, transport=transport) as fetcher:
        return {o.source_id: o for o in run_fetch(settings, configs, engine, fetcher, clock=lambda: now)}


def test_every_partner_site_flows_into_the_database(setup, engine, sites):
    settings, configs = setup
    outcomes = fetch_all(settings, configs, engine, sites, utcnow())
    assert {o.outcome for o in outcomes.values()} == {"new-data"}, {k: o.error for k, o in outcomes.items()}
    assert all(o.result.new > 0 for o in outcomes.values())

    with engine.connect() as conn:
        rows = conn.execute(select(resources)).all()
        by_source = Counter(conn.execute(select(entries.c.source_id)).scalars())
    assert set(by_source) == {c.id for c in configs}
    by_title = {r.title: r for r in rows}
    # no tracking parameters survive canonicalisation
    assert not [r.canonical_url for r in rows if "utm_" in r.canonical_url]
    # the EPrints record sharing a DOI with a hub page
    assert any(r.doi == "10.5555/kih.2026.0117" for r in rows)
    # GOV.UK items carry their organisation and type
    with engine.connect() as conn:
        api_ids = set(
            conn.execute(
                select(entries.c.resource_id).where(entries.c.source_id == "govuk-dhsc-publications")
            ).scalars()
        )
    govuk = [r for r in rows if r.id in api_ids]
    assert len(govuk) == 1 and all("Department of Health and Social Care" in r.authors for r in govuk)
    # seminars are events with their start time, and the fields read from their titles are kept on the entry
    events = [r for r in rows if r.type == "event" and r.event_start is not None]
    assert len(events) >= 8
    with engine.connect() as conn:
        extras = (
            conn.execute(select(entries.c.extra).where(entries.c.source_id == "yqsr-previous-seminars")).scalars().all()
        )
    assert len(extras) == 8 and all(e.get("speaker") and e.get("affiliation") for e in extras)
    # the monthly conversation announced in a post: start time and registration link from its text
    december = [
        r for r in rows if r.event_start is not None and r.registration_url and "eventbrite" in r.registration_url
    ]
    assert december and december[0].event_start.isoformat() == "2026-12-17T18:00:00+00:00"
    assert december[0].event_online is True
    # summaries are plain text; HTML kept only sanitised
    assert all("<script" not in r.summary_html.lower() for r in rows)
    assert all("<" not in r.summary for r in rows if r.summary)
    assert "Kindness" in " ".join(by_title)


def test_rerun_on_unchanged_sites_adds_no_rows(setup, engine, sites):
    settings, configs = setup
    now = utcnow()
    fetch_all(settings, configs, engine, sites, now)
    with engine.connect() as conn:
        before = (len(conn.execute(select(resources.c.id)).all()), len(conn.execute(select(entries.c.id)).all()))
    again = fetch_all(settings, configs, engine, sites, now + timedelta(hours=1))
    assert all(o.outcome in ("not-modified", "new-data") for o in again.values())
    assert sum(o.outcome == "not-modified" for o in again.values()) >= 5  # conditional GET answered 304
    assert all(o.result.new == 0 and o.result.updated == 0 for o in again.values())
    with engine.connect() as conn:
        after = (len(conn.execute(select(resources.c.id)).all()), len(conn.execute(select(entries.c.id)).all()))
    assert before == after


def test_health_after_a_run(setup, engine, sites):
    settings, configs = setup
    fetch_all(settings, configs, engine, sites, utcnow())
    health = source_health(engine, configs)
    assert all(h.state == "ok" and not h.alarm and h.last_count for h in health), health
    with engine.connect() as conn:
        assert all(r.last_status == 200 for r in conn.execute(select(sources)))
