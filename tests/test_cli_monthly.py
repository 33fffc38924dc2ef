"""The CLI over a real monthly pass on the partner-site fixtures: listing, showing, splitting, .ics, status."""

from __future__ import annotations

from pathlib import Path

import icalendar
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from aggregator.cli import app
from aggregator.cli.fetching import pass_over_sources
from aggregator.db.engine import create_db_engine
from aggregator.db.schema import merges, resources
from aggregator.ingest.fetch import guarded_transport
from aggregator.jobs.demo import FixtureSites, RewritingTransport, demo_settings, sites_root
from aggregator.settings import Settings

runner = CliRunner()


@pytest.fixture
def monthly_db(tmp_path, monkeypatch, database_url):
    from aggregator.cli import console

    monkeypatch.setattr(console, "width", 250)  # the console measured its width when first imported
    monkeypatch.setenv("AGGREGATOR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AGGREGATOR_DATABASE_URL", database_url)
    monkeypatch.setenv("AGGREGATOR_FETCH__PER_HOST_DELAY", "0")
    settings = demo_settings(Settings(), sites_root())
    monkeypatch.setenv("AGGREGATOR_SOURCES_FILE", str(settings.sources_file))
    with FixtureSites(sites_root()) as sites:
        pass_over_sources(
            settings, None, monthly=True, transport=RewritingTransport(guarded_transport(settings), sites.origin)
        )
    engine = create_db_engine(database_url)
    yield engine
    engine.dispose()


def invoke(*args: str):
    result = runner.invoke(app, list(args), env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    return result.output


def test_list_show_split_ics_status(monthly_db):
    listing = invoke("resources", "list", "--theme", "kindness", "--limit", "200")
    assert "theme:kindness" in listing
    with monthly_db.connect() as conn:
        merged = conn.execute(select(merges).order_by(merges.c.id)).all()
        event = conn.execute(select(resources.c.id).where(resources.c.registration_url.is_not(None))).scalar()
    assert merged
    # Which merge comes first depends on the order the fetch threads finish in, and an off-topic
    # resource (a maintenance notice) has no theme: every merge is shown, one at least with its labels.
    shown = {merge.id: invoke("resources", "show", str(merge.kept_id)) for merge in merged}
    assert all("listed by" in shown[merge.id] and f"merge {merge.id}" in shown[merge.id] for merge in merged)
    assert any("theme:" in text and "phrase" in text for text in shown.values())
    merge = merged[0]
    invoke("resources", "split", str(merge.id), "--editor", "sam")
    with monthly_db.connect() as conn:
        absorbed = conn.execute(select(resources.c.status).where(resources.c.id == merge.absorbed_id)).scalar_one()
    assert absorbed == "pending"
    ics = invoke("resources", "ics", str(event))
    (vevent,) = icalendar.Calendar.from_ical(ics).walk("VEVENT")
    assert "eventbrite" in str(vevent.get("description"))
    status = invoke("sources", "status")
    assert "lse-research-online" in status and "ALARM" not in status


def test_retrain_then_classify_again(monthly_db, tmp_path):
    out = invoke("classify", "retrain")
    assert "trained on" in out
    saved = Path(out.split("saved ", 1)[1].split()[0].strip())
    assert saved.is_file() and saved.suffix == ".bin"
    out = invoke("classify", "--all")
    assert "labelled" in out
