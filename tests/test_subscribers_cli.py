"""`aggregator subscribers list|export|erase|import` against a real database."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from aggregator.cli import app, main
from aggregator.db.schema import consent_events, subscribers
from aggregator.people.subscribers import confirm, subscribe
from aggregator.people.tokens import TokenData

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
runner = CliRunner()  # Click 8.2+: stdout and stderr kept apart


@pytest.fixture
def env(monkeypatch, tmp_path: Path, database_url: str) -> Path:
    monkeypatch.setenv("AGGREGATOR_DATABASE_URL", database_url)
    monkeypatch.setenv("AGGREGATOR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AGGREGATOR_TAXONOMY_FILE", str(ROOT / "taxonomy.yaml"))
    monkeypatch.setenv("AGGREGATOR_SECRET_KEY", "cli-test-secret")
    return tmp_path


def _add(engine, email: str, *, active: bool = True) -> None:
    with engine.begin() as conn:
        outcome = subscribe(conn, email, [], ["kindness"], T0, wording_version="2026-11")
        if active:
            confirm(conn, TokenData(outcome.subscriber_id, outcome.token_version), T0, wording_version="2026-11")


def test_list_shows_subscribers_and_filters_by_status(env, engine):
    _add(engine, "nurse@example.org")
    _add(engine, "waiting@example.org", active=False)
    everyone = runner.invoke(app, ["subscribers", "list"])
    assert everyone.exit_code == 0, everyone.output
    assert "nurse@example.org" in everyone.output and "2 subscribers" in everyone.output
    pending = runner.invoke(app, ["subscribers", "list", "--status", "pending"])
    assert "waiting@example.org" in pending.output and "nurse@example.org" not in pending.output
    assert runner.invoke(app, ["subscribers", "list", "--status", "gone"]).exit_code != 0


def test_export_prints_json_with_the_ledger(env, engine):
    _add(engine, "nurse@example.org")
    result = runner.invoke(app, ["subscribers", "export", "Nurse@Example.org"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["subscriber"]["email"] == "nurse@example.org"
    assert [e["action"] for e in data["consent_events"]] == ["opt-in", "confirm"]
    assert data["consent_events"][0]["wording_version"] == "2026-11"


def test_export_of_an_unknown_address_is_an_error_in_words(env, engine, monkeypatch, capsys):
    monkeypatch.setattr("sys.argv", ["aggregator", "subscribers", "export", "nobody@example.org"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2 and "no subscriber with the address nobody@example.org" in capsys.readouterr().err


def test_erase_asks_first_unless_yes(env, engine):
    _add(engine, "nurse@example.org")
    kept = runner.invoke(app, ["subscribers", "erase", "nurse@example.org"], input="n\n")
    assert kept.exit_code != 0
    with engine.connect() as conn:
        assert conn.execute(select(subscribers.c.id)).first() is not None
    erased = runner.invoke(app, ["subscribers", "erase", "nurse@example.org", "--yes"])
    assert erased.exit_code == 0, erased.output
    with engine.connect() as conn:
        assert conn.execute(select(subscribers.c.id)).first() is None
        assert conn.execute(select(consent_events.c.id)).first() is None


def test_import_needs_a_basis_and_reports_bad_rows(env, engine, tmp_path):
    _add(engine, "known@example.org")
    csv_file = tmp_path / "old-list.csv"
    csv_file.write_text(
        "\ufeffEmail,Audiences,Themes,Name\n"
        "one@example.org,leaders,kindness;teamwork,Ann\n"
        "not an address,,,Bob\n"
        "known@example.org,,,Kim\n"
        "two@example.org,,,\n",
        encoding="utf-8",
    )
    assert runner.invoke(app, ["subscribers", "import", str(csv_file)]).exit_code != 0  # --basis is required
    result = runner.invoke(app, ["subscribers", "import", str(csv_file), "--basis", "old newsletter sign-ups"])
    assert result.exit_code == 1  # some rows were invalid
    assert "Imported 2" in result.stdout and "already known (left as they were): 1" in result.stdout
    assert f"{csv_file}:3:" in result.stderr
    with engine.connect() as conn:
        people = {r.email: r for r in conn.execute(select(subscribers))}
        ledger = conn.execute(select(consent_events).where(consent_events.c.action == "import")).mappings().all()
    assert people["one@example.org"].origin == "import" and people["one@example.org"].themes == ["kindness", "teamwork"]
    assert people["known@example.org"].origin == "form"
    assert {e["detail"]["basis"] for e in ledger} == {"old newsletter sign-ups"}


def test_import_refuses_a_file_without_an_email_column(env, engine, tmp_path, monkeypatch, capsys):
    csv_file = tmp_path / "list.csv"
    csv_file.write_text("address\none@example.org\n")
    monkeypatch.setattr("sys.argv", ["aggregator", "subscribers", "import", str(csv_file), "--basis", "x"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2 and "email" in capsys.readouterr().err
