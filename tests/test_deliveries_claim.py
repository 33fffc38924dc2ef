"""Claiming deliveries: a claim leases at most `size` free rows, never one another worker holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select

from aggregator.db.schema import deliveries, issues, subscribers
from aggregator.digest.deliveries import claim_batch

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def seed(engine, count: int) -> int:
    with engine.begin() as conn:
        issue_id = conn.execute(
            insert(issues)
            .values(month="2026-11", status="sending", intro="", created_at=NOW, updated_at=NOW)
            .returning(issues.c.id)
        ).scalar_one()
        conn.execute(
            insert(subscribers),
            [
                {
                    "email": f"r{n}@example.org",
                    "status": "active",
                    "audiences": [],
                    "themes": [],
                    "created_at": NOW,
                    "origin": "form",
                    "token_version": 1,
                }
                for n in range(count)
            ],
        )
        ids = conn.execute(select(subscribers.c.id)).scalars().all()
        conn.execute(
            insert(deliveries),
            [{"issue_id": issue_id, "subscriber_id": sid, "status": "pending", "attempts": 0} for sid in ids],
        )
    return issue_id


def test_a_claim_takes_at_most_its_size_and_two_claims_never_overlap(engine):
    issue_id = seed(engine, 120)
    with engine.begin() as conn:
        first = claim_batch(conn, issue_id, "w1/0", NOW, timedelta(minutes=10), 50)
    with engine.begin() as conn:
        second = claim_batch(conn, issue_id, "w2/0", NOW, timedelta(minutes=10), 50)
        third = claim_batch(conn, issue_id, "w3/0", NOW, timedelta(minutes=10), 50)
    assert (len(first), len(second), len(third)) == (50, 50, 20)
    assert not set(first) & set(second) and not set(second) & set(third)
    with engine.connect() as conn:
        leased = conn.execute(select(func.count()).where(deliveries.c.lease_owner.is_not(None))).scalar_one()
    assert leased == 120
    with engine.begin() as conn:  # once the leases expire the rows are free again
        again = claim_batch(conn, issue_id, "w4/0", NOW + timedelta(minutes=11), timedelta(minutes=10), 500)
    assert len(again) == 120
