"""Golden seeds: `aggregator demo` stores each partner page of ../shared/seeds/ with its fields, checked one by one."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from aggregator.cli import app
from aggregator.db.engine import create_db_engine
from aggregator.db.schema import entries, labels, resources

EXPECTED: dict[str, dict[str, Any]] = json.loads(
    (Path(__file__).parent / "golden" / "seeds" / "expected.json").read_text(encoding="utf-8")
)


@pytest.fixture(scope="module")
def demo_database(tmp_path_factory):
    """A real `aggregator demo` run (fixture server, monthly pass) in a fresh data directory."""
    data_dir = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AGGREGATOR_DATA_DIR", str(data_dir))
        patch.setenv("AGGREGATOR_FETCH__PER_HOST_DELAY", "0")
        patch.delenv("AGGREGATOR_DATABASE_URL", raising=False)
        result = CliRunner().invoke(app, ["demo"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    engine = create_db_engine(f"sqlite:///{data_dir / 'demo' / 'aggregator.db'}")
    yield engine, result.output, data_dir
    engine.dispose()


def _utc(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


def stored(engine, canonical_url: str) -> dict[str, Any]:
    with engine.connect() as conn:
        rows = (
            conn.execute(
                select(resources).where(
                    resources.c.canonical_url == canonical_url, resources.c.merged_into_id.is_(None)
                )
            )
            .mappings()
            .all()
        )
        assert len(rows) == 1, f"{canonical_url}: {len(rows)} stored resources"
        row = dict(rows[0])
        row["extra"] = {
            k: v
            for e in conn.execute(select(entries.c.extra).where(entries.c.resource_id == row["id"])).scalars()
            for k, v in (e or {}).items()
        }
        row["labels"] = conn.execute(
            select(labels.c.kind, labels.c.label_id, labels.c.reasons).where(labels.c.resource_id == row["id"])
        ).all()
    return row


@pytest.mark.parametrize("canonical_url", sorted(EXPECTED))
def test_seed_resource_has_its_golden_fields(demo_database, canonical_url):
    engine, _, _ = demo_database
    expected = EXPECTED[canonical_url]
    row = stored(engine, canonical_url)
    assert row["title"] == expected["title"]
    assert row["type"] == expected["type"]
    assert row["summary"].startswith(expected["summary_starts"]), row["summary"][:120]
    for field, column in (("published", "published_at"), ("updated", "updated_at"), ("event_start", "event_start")):
        if field in expected:
            assert _utc(row[column]) == expected[field], field
    for field in ("speaker", "affiliation"):
        if field in expected:
            assert row["extra"].get(field) == expected[field], field
    if "authors" in expected:
        assert list(row["authors"]) == expected["authors"]
    if "tags" in expected:
        assert list(row["tags"]) == expected["tags"]
    assert row["doi"] == expected.get("doi")
    for kind, ids in expected["labels"].items():
        assert set(ids) <= {label_id for k, label_id, _ in row["labels"] if k == kind}, kind
    partner_tags = {r["detail"] for _, _, reasons in row["labels"] for r in reasons if r["signal"] == "partner-tag"}
    for tag in expected.get("partner_tag_reasons", ()):
        assert f'tag "{tag}"' in partner_tags, tag


def test_the_monthly_conversations_are_one_event_without_a_recurrence(demo_database):
    # The data model has no recurrence rule: the series is one event resource, its schedule in the page.
    engine, _, _ = demo_database
    row = stored(engine, "https://kindnessinhealthcare.world/index.php/monthly-conversations/")
    assert row["type"] == "event" and row["event_start"] is None
    assert "event_recurrence" not in resources.c


def test_the_lse_uri_of_the_seed_leads_to_the_stored_item():
    import httpx

    from aggregator.jobs.demo import FixtureSites, sites_root

    with FixtureSites(sites_root()) as sites:
        reply = httpx.get(sites.url_for("http://eprints.lse.ac.uk/id/eprint/114349"))
    assert reply.status_code == 303 and reply.headers["location"] == "http://eprints.lse.ac.uk/114349/"
    assert "http://eprints.lse.ac.uk/114349/" in EXPECTED


def test_demo_ends_by_saying_how_to_open_its_data_in_the_web_app(demo_database):
    engine, output, data_dir = demo_database
    tail = output.rstrip().splitlines()[-4:]
    assert (
        tail[0]
        == f"The demo's data is in {data_dir / 'demo'} (database sqlite:///{data_dir / 'demo' / 'aggregator.db'})."
    )
    assert tail[2].strip() == ".venv/bin/aggregator users add you@example.org --role admin --demo"
    assert tail[3].strip().startswith(".venv/bin/aggregator serve --demo     # then open http://127.0.0.1:8000/editor/")


def test_users_add_and_serve_with_demo_use_the_demo_database(demo_database, monkeypatch):
    from aggregator.cli.web import web_settings
    from aggregator.db.schema import users

    engine, _, data_dir = demo_database
    monkeypatch.setenv("AGGREGATOR_DATA_DIR", str(data_dir))
    monkeypatch.delenv("AGGREGATOR_DATABASE_URL", raising=False)
    result = CliRunner().invoke(
        app, ["users", "add", "newcomer@example.org", "--role", "admin", "--demo"], input="a long enough password\n"
    )
    assert result.exit_code == 0, result.output
    with engine.connect() as conn:
        assert conn.execute(select(users.c.email)).scalars().all() == ["newcomer@example.org"]
    assert web_settings(demo=True).resolved_database_url == f"sqlite:///{data_dir / 'demo' / 'aggregator.db'}"
    assert web_settings(demo=False).resolved_database_url != web_settings(demo=True).resolved_database_url
