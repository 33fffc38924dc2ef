"""The sources page (health in plain words, disable/enable, fetch now), the audit log, people, and the CLI commands."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from aggregator.cli import app as cli_app
from aggregator.db.schema import audit_log, resources, sources, users
from aggregator.ingest.fetch import Fetcher, guarded_transport
from aggregator.jobs.demo import FixtureSites, RewritingTransport, demo_settings, sites_root
from aggregator.web import create_app
from aggregator.web.sources import explain_problem
from tests.e2e.support import PASSWORD, add_account, fast_passwords, post, seed_resources, sign_in, web_settings


@pytest.fixture
def admin(tmp_path, engine, database_url):
    passwords = fast_passwords()
    seed_resources(engine)
    add_account(engine, "admin@example.org", "admin", passwords, name="Ada")
    sites = FixtureSites(sites_root()).start()
    settings = demo_settings(web_settings(tmp_path, database_url), sites_root())
    app = create_app(
        settings,
        engine,
        passwords=passwords,
        fetcher_factory=lambda s: Fetcher(s, transport=RewritingTransport(guarded_transport(s), sites.origin)),
    )
    client = app.test_client()
    sign_in(client, "admin@example.org")
    yield client, engine
    sites.stop()


@pytest.mark.parametrize(
    "error, words",
    [
        ("HTTP 404 (check that the source's URL opens in a browser)", "was not found"),
        ("timed out: ReadTimeout", "took too long"),
        ("cannot resolve www.example.org: [Errno -2]", "could not reach the site"),
        ("robots.txt disallows https://x", "asks robots not to read"),
        ("layout drift: the page's selectors matched no entries (up to 8 before)", "looks different"),
        ("internal error (please report): KeyError: 'x'", "inside the aggregator"),
        ("something unheard of", "technical details below"),
    ],
)
def test_errors_are_explained_in_plain_words(error, words):
    assert words in explain_problem(error).lower()


def test_sources_page_shows_health_and_problems(admin):
    client, engine = admin
    with engine.begin() as conn:
        conn.execute(
            update(sources)
            .where(sources.c.id == "pslhub-good-practice")
            .values(last_error="HTTP 404 (check the URL)", consecutive_failures=3, last_status=404)
        )
    html = client.get("/editor/sources/").get_data(as_text=True)
    assert "The address was not found (404)" in html and "needs attention" in html
    assert "Fetch now" in html and "Turn off" in html


def test_disable_then_enable(admin):
    client, engine = admin
    post(client, "/editor/sources/pslhub-good-practice/disable", page="/editor/sources/")
    with engine.connect() as conn:
        reason = conn.execute(select(sources.c.disabled_reason).where(sources.c.id == "pslhub-good-practice")).scalar()
    assert reason.startswith("disabled by Ada on ")
    html = client.get("/editor/sources/").get_data(as_text=True)
    assert "An admin turned this source off" in html and "Turn on" in html
    skipped = post(client, "/editor/sources/pslhub-good-practice/fetch", page="/editor/sources/", follow_redirects=True)
    assert "was not fetched: disabled" in skipped.get_data(as_text=True)
    post(client, "/editor/sources/pslhub-good-practice/enable", page="/editor/sources/")
    with engine.connect() as conn:
        assert (
            conn.execute(select(sources.c.disabled_reason).where(sources.c.id == "pslhub-good-practice")).scalar()
            is None
        )
        assert {"source-disable", "source-enable"} <= set(conn.execute(select(audit_log.c.action)).scalars())


def test_fetch_now_stores_and_labels_new_resources(admin):
    client, engine = admin
    reply = post(client, "/editor/sources/kindness-in-healthcare/fetch", page="/editor/sources/", follow_redirects=True)
    assert "Fetched Kindness in Healthcare" in reply.get_data(as_text=True) or "Fetched" in reply.get_data(as_text=True)
    with engine.connect() as conn:
        fetched = conn.execute(select(sources.c.last_status).where(sources.c.id == "kindness-in-healthcare")).scalar()
        unlabelled = conn.execute(
            select(resources.c.id).where(resources.c.classified_at.is_(None), resources.c.status == "pending")
        ).all()
    assert fetched == 200
    assert len(unlabelled) <= 5  # only the seeded ones; the fetched ones were labelled


def test_audit_log_lists_actions_with_names(admin):
    client, engine = admin
    post(client, "/editor/sources/pslhub-good-practice/disable", page="/editor/sources/")
    html = client.get("/editor/audit/").get_data(as_text=True)
    assert "turned off" in html and "Ada" in html and "signed in" in html
    only = client.get("/editor/audit/?action=source-disable").get_data(as_text=True)
    assert "signed in</td>" not in only


def test_admin_adds_people_with_validation(admin):
    client, engine = admin
    short = post(
        client,
        "/editor/users",
        {"email": "new@example.org", "role": "editor", "password": "short"},
        page="/editor/users",
    )
    assert short.status_code == 400 and "too short" in short.get_data(as_text=True)
    ok = post(
        client,
        "/editor/users",
        {"email": "New@Example.org", "role": "editor", "password": PASSWORD, "name": "Nia"},
        page="/editor/users",
    )
    assert ok.status_code == 303
    dup = post(
        client,
        "/editor/users",
        {"email": "new@example.org", "role": "editor", "password": PASSWORD},
        page="/editor/users",
    )
    assert "already an account" in dup.get_data(as_text=True)
    with engine.connect() as conn:
        me = conn.execute(select(users.c.id).where(users.c.email == "admin@example.org")).scalar_one()
    last = post(client, f"/editor/users/{me}", {"change": "editor"}, page="/editor/users", follow_redirects=True)
    assert "last active admin" in last.get_data(as_text=True)


def test_cli_users_add_reads_the_password_from_stdin(tmp_path, monkeypatch, database_url):
    monkeypatch.setenv("AGGREGATOR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AGGREGATOR_DATABASE_URL", database_url)
    runner = CliRunner()
    result = runner.invoke(
        cli_app, ["users", "add", "Sam@Example.org", "--role", "editor", "--name", "Sam"], input=PASSWORD + "\n"
    )
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    listing = runner.invoke(cli_app, ["users", "list"], env={"COLUMNS": "200"})
    assert "sam@example.org" in listing.output and "editor" in listing.output
    weak = runner.invoke(cli_app, ["users", "add", "x@example.org", "--role", "editor"], input="short\n")
    assert weak.exit_code != 0
    bad_role = runner.invoke(cli_app, ["users", "add", "y@example.org", "--role", "boss"], input=PASSWORD + "\n")
    assert bad_role.exit_code != 0


def test_cli_serve_has_help():
    result = CliRunner().invoke(cli_app, ["serve", "--help"])
    assert result.exit_code == 0 and "--port" in result.output
