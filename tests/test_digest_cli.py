"""`aggregator issue send|check|preview|send-test`: help text, a dry run, a preview, a send to the outbox."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from aggregator.cli import app
from tests.test_send_helpers import SECRET, TAXONOMY_FILE, add_subscribers, seed_issue


@pytest.fixture
def cli_env(monkeypatch, database_url, tmp_path):
    for key, value in {
        "AGGREGATOR_DATABASE_URL": database_url,
        "AGGREGATOR_SECRET_KEY": SECRET,
        "AGGREGATOR_DATA_DIR": str(tmp_path / "var"),
        "AGGREGATOR_TAXONOMY_FILE": str(TAXONOMY_FILE),
        "AGGREGATOR_SOURCES_FILE": str(tmp_path / "none.yaml"),
    }.items():
        monkeypatch.setenv(key, value)
    return tmp_path


@pytest.mark.parametrize("command", ["send", "check", "preview", "send-test", "approve"])
def test_every_issue_command_has_help(command):
    result = CliRunner().invoke(app, ["issue", command, "--help"])
    assert result.exit_code == 0 and len(result.output) > 100


def test_dry_run_preview_and_send_to_the_outbox(engine, cli_env):
    seed_issue(engine)
    add_subscribers(engine, 8)
    runner = CliRunner()
    dry = runner.invoke(app, ["issue", "send", "--month", "2026-11", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "8 messages would go in 4 distinct copies" in dry.output
    preview = runner.invoke(app, ["issue", "preview", "--subscriber", "s1@example.org", "--text"])
    assert preview.exit_code == 0 and "Leadership guide" in preview.output and "Kindness toolkit" not in preview.output
    sent = runner.invoke(app, ["issue", "send", "--month", "2026-11", "--worker-id", "cli"])
    assert sent.exit_code == 0, sent.output
    assert "issue 2026-11 is sent" in sent.output
    assert len(list((cli_env / "var" / "outbox" / "2026-11").glob("*.eml"))) == 8
    test = runner.invoke(app, ["issue", "send-test", "--to", "editor@example.org"])
    assert test.exit_code == 0 and len(list((cli_env / "var" / "outbox" / "2026-11").glob("*.eml"))) == 9


def test_approve_shows_recipients_and_their_preferences(engine, cli_env):
    from sqlalchemy import select

    from aggregator.db.schema import issues

    issue_id = seed_issue(engine)
    with engine.begin() as conn:
        conn.execute(issues.update().where(issues.c.id == issue_id).values(status="draft"))
    add_subscribers(engine, 8)
    result = CliRunner().invoke(app, ["issue", "approve", "--month", "2026-11", "--yes"])
    assert result.exit_code == 0, result.output
    assert "8 recipients in 4 preference sets" in result.output and "(all)" in result.output
    with engine.connect() as conn:
        assert conn.execute(select(issues.c.status).where(issues.c.id == issue_id)).scalar_one() == "approved"


def test_an_empty_issue_cannot_be_approved(engine, cli_env):
    from aggregator.db.schema import issue_items, issues

    issue_id = seed_issue(engine)
    with engine.begin() as conn:
        conn.execute(issues.update().where(issues.c.id == issue_id).values(status="draft"))
        conn.execute(issue_items.delete().where(issue_items.c.issue_id == issue_id))
    result = CliRunner().invoke(app, ["issue", "approve", "--month", "2026-11", "--yes"])
    assert result.exit_code != 0
    assert "has no resources and cannot be approved" in str(result.exception)


def test_a_real_send_refuses_plain_http_links(engine, cli_env, monkeypatch):
    seed_issue(engine)
    add_subscribers(engine, 2)
    monkeypatch.setenv("AGGREGATOR_SMTP__HOST", "127.0.0.1")
    monkeypatch.setenv("AGGREGATOR_SMTP__PORT", "9")  # nothing listens: a send that got past the check fails
    monkeypatch.setenv("AGGREGATOR_SMTP__RETRIES", "0")
    monkeypatch.setenv("AGGREGATOR_BASE_URL", "http://127.0.0.1:8000")
    refused = CliRunner().invoke(app, ["issue", "send", "--month", "2026-11"])
    assert refused.exit_code != 0 and "not an https:// address" in str(refused.exception)
    assert "--allow-insecure-links" in refused.exception.hint
    allowed = CliRunner().invoke(app, ["issue", "send", "--month", "2026-11", "--allow-insecure-links"])
    assert "not an https:// address" not in str(allowed.exception)
