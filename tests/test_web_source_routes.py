"""The Sources page's "Add a site" and "Check route", over the partner-site fixtures."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from aggregator.config.sources import load_sources
from aggregator.db.schema import audit_log
from aggregator.ingest.fetch import Fetcher, guarded_transport
from aggregator.jobs.demo import FixtureSites, RewritingTransport, demo_settings, sites_root
from aggregator.web import create_app
from tests.e2e.support import add_account, fast_passwords, post, sign_in, web_settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def admin(tmp_path, engine, database_url):
    passwords = fast_passwords()
    add_account(engine, "admin@example.org", "admin", passwords, name="Ada")
    add_account(engine, "editor@example.org", "editor", passwords, name="Eddie")
    sources_file = tmp_path / "sources.yaml"
    shutil.copy(ROOT / "sources.yaml", sources_file)
    settings = demo_settings(web_settings(tmp_path, database_url), sites_root()).model_copy(
        update={"sources_file": sources_file}
    )
    with FixtureSites(sites_root()) as sites:
        app = create_app(
            settings,
            engine,
            passwords=passwords,
            fetcher_factory=lambda s: Fetcher(s, transport=RewritingTransport(guarded_transport(s), sites.origin)),
        )
        yield app, engine, sources_file


def test_add_a_site_shows_the_platform_routes_and_samples_then_writes_sources_yaml(admin):
    app, engine, sources_file = admin
    client = app.test_client()
    sign_in(client, "admin@example.org")
    page = client.get("/editor/sources/add?url=https://yqsr.org/category/previous-seminars/").get_data(as_text=True)
    assert "Platform: <strong>wordpress</strong>" in page
    assert "https://yqsr.org/wp-json/wp/v2/posts" in page and "category-feed" in page
    assert "THE KING\u2019S FUND" in page or "THE KING&#8217;S FUND" in page or "COMPASSION CIRCLES" in page
    assert 'value="yqsr-previous-seminars-2"' in page  # the suggested id is free
    reply = post(
        client,
        "/editor/sources/add",
        {
            "url": "https://yqsr.org/category/previous-seminars/",
            "route": "0",
            "source_id": "yqsr-web-added",
            "name": "Seminars",
        },
        page="/editor/sources/add",
        follow_redirects=True,
    )
    assert "Added yqsr-web-added (api, wordpress)" in reply.get_data(as_text=True)
    added = load_sources(sources_file).get("yqsr-web-added")
    assert added.adapter == "wordpress" and added.wordpress.category == "previous-seminars"
    with engine.connect() as conn:
        assert "source-add" in set(conn.execute(select(audit_log.c.action)).scalars())


def test_add_a_site_refuses_a_taken_id_and_writes_nothing(admin):
    app, _, sources_file = admin
    before = sources_file.read_text(encoding="utf-8")
    client = app.test_client()
    sign_in(client, "admin@example.org")
    reply = post(
        client,
        "/editor/sources/add",
        {"url": "https://yqsr.org/category/previous-seminars/", "route": "0", "source_id": "yqsr-news"},
        page="/editor/sources/add",
        follow_redirects=True,
    )
    assert "was not added" in reply.get_data(as_text=True)
    assert sources_file.read_text(encoding="utf-8") == before


def test_check_route_reports_in_plain_words(admin):
    app, _, _ = admin
    client = app.test_client()
    sign_in(client, "admin@example.org")
    reply = post(
        client, "/editor/sources/yqsr-previous-seminars/doctor", page="/editor/sources/", follow_redirects=True
    )
    assert "its route is the richest that works" in reply.get_data(as_text=True)


def test_editors_cannot_add_sites_or_check_routes(admin):
    app, _, _ = admin
    client = app.test_client()
    sign_in(client, "editor@example.org")
    assert client.get("/editor/sources/add?url=https://yqsr.org/").status_code == 403
    assert post(client, "/editor/sources/yqsr-news/doctor", page="/editor/sources/").status_code == 403
