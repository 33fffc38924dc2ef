"""The database bench/load_public.py serves: N stored resources with labels, some of them events, three monthly
issues sent, the rest approved since, and subscribers; built through the store as the pipeline would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select, update

from aggregator.config.sources import SourceConfig, load_sources
from aggregator.db.engine import create_db_engine, upgrade_database
from aggregator.db.schema import labels, resources, subscribers
from aggregator.db.store import store_resources, sync_sources
from aggregator.digest.issue import prepare_draft
from aggregator.digest.mail.outbox import OutboxTransport
from aggregator.digest.send import SendOptions, send_issue
from aggregator.ingest.normalize import normalize_entry
from aggregator.model import Event, RawEntry
from aggregator.review.lifecycle import change_issue_status, change_resource_status
from aggregator.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
THEMES = ("kindness", "compassionate-leadership", "staff-wellbeing", "culture-change", "teamwork")
AUDIENCES = ("frontline-staff", "leaders", "educators", "researchers")
MONTHS = ("2026-08", "2026-09", "2026-10")
ISSUE_SIZE = 60  # resources in a monthly issue
EVENT_EVERY = 500  # one resource in so many is an upcoming event


def populate(settings: Settings, resource_count: int, subscriber_count: int) -> tuple[list[tuple[int, int]], int]:
    """Store, label and approve resources, send three monthly issues (to the outbox), add subscribers;
    returns (id, token_version) of each subscriber and the id of an approved event."""
    engine = create_db_engine(settings.resolved_database_url)
    upgrade_database(engine)
    configs = _sources()
    now = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    with engine.begin() as conn:
        sync_sources(conn, configs)
        for s, config in enumerate(configs):
            entries = [
                RawEntry(
                    url=f"https://{config.id}.example/r/{n}",
                    title=f"Kindness in care, resource {n}",
                    summary_html=f"<p>How small acts of compassion help staff and patients ({n}).</p>",
                    published=now - timedelta(hours=n),
                    event=Event(start=now + timedelta(days=10 + n % 30), timezone="Europe/London", online=True)
                    if n % EVENT_EVERY == 0
                    else None,
                )
                for n in range(s, resource_count, len(configs))
            ]
            store_resources(conn, config.id, [normalize_entry(e, config) for e in entries], now)
        ids = conn.execute(select(resources.c.id).order_by(resources.c.id)).scalars().all()
        conn.execute(
            insert(labels),
            [
                {
                    "resource_id": rid,
                    "kind": kind,
                    "label_id": label,
                    "confidence": 0.9,
                    "reasons": [],
                    "origin": "classifier",
                }
                for rid in ids
                for kind, label in (("theme", THEMES[rid % 5]), ("audience", AUDIENCES[rid % 4]))
            ],
        )
    for m, month in enumerate(MONTHS):  # an issue of ISSUE_SIZE resources a month, as editors make them
        with engine.begin() as conn:
            for rid in ids[m * ISSUE_SIZE : (m + 1) * ISSUE_SIZE]:
                change_resource_status(conn, rid, "approved", user_id=None, now=now)
            issue_id = prepare_draft(conn, month, now)
            change_issue_status(conn, issue_id, "approved", user_id=None, now=now)
        send_issue(
            engine, issue_id, OutboxTransport(settings.outbox_dir / month), settings, options=SendOptions(backoff=0.0)
        )
    with engine.begin() as conn:  # the rest approved since, in bulk: in the feeds, not yet in an issue
        rest = ids[len(MONTHS) * ISSUE_SIZE :]
        for start in range(0, len(rest), 10_000):
            conn.execute(
                update(resources)
                .where(resources.c.id.in_(rest[start : start + 10_000]))
                .values(status="approved", decided_at=now + timedelta(minutes=1))
            )
    with engine.begin() as conn:
        conn.execute(
            insert(subscribers),
            [
                {
                    "email": f"reader{n}@example.org",
                    "status": "active",
                    "audiences": [AUDIENCES[n % 4]],
                    "themes": [],
                    "created_at": now,
                    "origin": "form",
                }
                for n in range(subscriber_count)
            ],
        )
        ids = [tuple(row) for row in conn.execute(select(subscribers.c.id, subscribers.c.token_version))]
        event_id = conn.execute(
            select(resources.c.id).where(resources.c.event_start.is_not(None), resources.c.status == "approved")
        ).scalar()
    engine.dispose()
    return ids, event_id


def _sources() -> list[SourceConfig]:
    try:
        return list(load_sources(ROOT / "sources.yaml").sources)[:8]
    except Exception:  # noqa: BLE001 - a bench without sources.yaml still runs, with made-up partners
        return [
            SourceConfig(id=f"partner-{n}", name=f"Partner {n}", url=f"https://p{n}.example/feed", adapter="feed")
            for n in range(8)
        ]
