"""The whole monthly pass (what `make run` does) twice over the partner-site fixtures: the second pass
sends the issue editors approved to every subscriber exactly once and publishes it."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime

import feedparser
import pytest
from sqlalchemy import insert, select

from aggregator.cli.fetching import pass_over_sources
from aggregator.db.engine import create_db_engine
from aggregator.db.schema import issues, resources, subscribers
from aggregator.ingest.fetch import guarded_transport
from aggregator.jobs.demo import FixtureSites, RewritingTransport, demo_settings, sites_root
from aggregator.jobs.monthly import current_month
from aggregator.people.tokens import Tokens
from aggregator.review.lifecycle import change_issue_status, change_resource_status
from aggregator.settings import Settings


@pytest.fixture
def setup(tmp_path, monkeypatch, database_url):
    for name, value in {
        "AGGREGATOR_DATA_DIR": str(tmp_path),
        "AGGREGATOR_DATABASE_URL": database_url,
        "AGGREGATOR_FETCH__PER_HOST_DELAY": "0",
        "AGGREGATOR_BASE_URL": "https://digest.example",
    }.items():
        monkeypatch.setenv(name, value)
    settings = demo_settings(Settings(), sites_root())
    engine = create_db_engine(database_url)
    with FixtureSites(sites_root()) as sites:

        def run_pass():
            pass_over_sources(
                settings, None, monthly=True, transport=RewritingTransport(guarded_transport(settings), sites.origin)
            )

        yield settings, engine, run_pass
    engine.dispose()


def outbox_messages(settings: Settings, month: str) -> list[email.message.Message]:
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in sorted((settings.outbox_dir / month).glob("*.eml"))
    ]


def test_two_passes_send_the_approved_issue_once_and_publish_it(setup):
    settings, engine, run_pass = setup
    run_pass()
    now = datetime.now(UTC)
    month = current_month(settings, now)
    with engine.begin() as conn:
        chosen = conn.execute(
            select(resources.c.id, resources.c.title)
            .where(resources.c.status == "pending", resources.c.off_topic.is_(False))
            .order_by(resources.c.id)
            .limit(5)
        ).all()
        for row in chosen:
            change_resource_status(conn, row.id, "approved", user_id=None, now=now)
        conn.execute(
            insert(subscribers),
            [
                {
                    "email": f"reader{n}@example.org",
                    "status": "active",
                    "audiences": [],
                    "themes": [],
                    "created_at": now,
                    "origin": "form",
                    "token_version": 1,
                }
                for n in range(3)
            ],
        )
    run_pass()  # refreshes the draft with the approved resources
    with engine.begin() as conn:
        issue_id = conn.execute(select(issues.c.id).where(issues.c.month == month)).scalar_one()
        change_issue_status(conn, issue_id, "approved", user_id=None, now=now)
    assert outbox_messages(settings, month) == []

    run_pass()  # sends it
    messages = outbox_messages(settings, month)
    assert sorted(m["To"] for m in messages) == [f"reader{n}@example.org" for n in range(3)]
    with engine.connect() as conn:
        assert conn.execute(select(issues.c.status).where(issues.c.id == issue_id)).scalar_one() == "sent"
    body = messages[0].get_body(("plain",)).get_content()
    assert all(row.title.split(":")[0] in body for row in chosen)
    token = messages[0]["List-Unsubscribe"].split("/unsubscribe/")[1].split(">")[0]
    assert Tokens(settings.secret()).read("unsubscribe", token).subscriber_id >= 1

    combined = feedparser.parse((settings.feeds_dir / "all.rss").read_bytes())
    assert {row.title for row in chosen} <= {e.title for e in combined.entries}
    page = (settings.archive_dir / month / "index.html").read_text()
    assert chosen[0].title.split(":")[0] in page

    run_pass()  # nothing goes out twice
    assert len(outbox_messages(settings, month)) == 3
