"""A sent copy of the demo issue, end to end: the monthly pass over the partner-site fixtures, every resource
approved, the issue sent (to the outbox) at a fixed "now"; then every link to the site answers 200 from the
web app, events are right for that "now", and no tracking parameter, source id or "(RSS)" reaches the reader."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
from sqlalchemy import insert, select

from aggregator.cli.fetching import pass_over_sources
from aggregator.config.sources import load_sources, public_names
from aggregator.config.taxonomy import load_taxonomy
from aggregator.db.engine import create_db_engine
from aggregator.db.schema import resources, subscribers
from aggregator.digest.issue import prepare_draft
from aggregator.digest.mail.outbox import OutboxTransport
from aggregator.digest.send import send_issue
from aggregator.ingest.fetch import guarded_transport
from aggregator.jobs.demo import FixtureSites, RewritingTransport, demo_settings, sites_root
from aggregator.publish.archive import build_archive
from aggregator.review.lifecycle import change_issue_status, change_resource_status
from aggregator.text.clean import is_tracking_parameter
from aggregator.web import create_app
from tests.e2e.support import fast_passwords, web_settings
from tests.support.db import fresh_database

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # the send time: which events are still to come
BASE = "http://127.0.0.1:8000"

pytestmark = pytest.mark.slow


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        if tag == "a" and dict(attrs).get("href"):
            self.hrefs.append(dict(attrs)["href"])


@pytest.fixture(scope="module")
def sent(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("demo-copy")
    with fresh_database(tmp) as url:
        settings = demo_settings(web_settings(tmp, url), sites_root())
        settings = settings.model_copy(update={"fetch": settings.fetch.model_copy(update={"per_host_delay": 0})})
        with FixtureSites(sites_root()) as sites:
            pass_over_sources(
                settings, None, monthly=True, transport=RewritingTransport(guarded_transport(settings), sites.origin)
            )
        engine = create_db_engine(url)
        with engine.begin() as conn:
            for rid in conn.execute(
                select(resources.c.id).where(resources.c.status == "pending", resources.c.off_topic.is_(False))
            ).scalars():
                change_resource_status(conn, rid, "approved", user_id=None, now=NOW)
            issue_id = prepare_draft(conn, "2026-12", NOW)
            change_issue_status(conn, issue_id, "approved", user_id=None, now=NOW)
            conn.execute(
                insert(subscribers).values(
                    email="reader@example.org", status="active", audiences=[], themes=[], created_at=NOW, origin="form"
                )
            )
        names = public_names(load_sources(settings.sources_file).sources)
        report = send_issue(
            engine,
            issue_id,
            OutboxTransport(tmp / "out"),
            settings,
            now=lambda: NOW,
            taxonomy=load_taxonomy(settings.taxonomy_file),
            source_names=names,
        )
        assert report.sent == 1
        build_archive(engine, settings, NOW)
        (path,) = (tmp / "out").glob("*.eml")
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        yield settings, engine, message
        engine.dispose()


def test_every_site_link_in_a_sent_copy_answers_200(sent):
    settings, engine, message = sent
    parser = _Links()
    parser.feed(message.get_body(("html",)).get_content())
    site_links = sorted({h for h in parser.hrefs if h.startswith(BASE)})
    assert any("/events/" in h for h in site_links) and any("/archive/2026-12" in h for h in site_links)
    client = create_app(settings, engine, passwords=fast_passwords(), clock=lambda: NOW).test_client()
    answers = {h: client.get(h[len(BASE) :]).status_code for h in site_links}
    assert set(answers.values()) == {200}, answers
    calendar = next(h for h in parser.hrefs if h.startswith("webcal://"))
    assert client.get(calendar.split("127.0.0.1:8000", 1)[1]).status_code == 200


def test_events_are_right_for_the_send_time(sent):
    _, _, message = sent
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    upcoming = text.split("UPCOMING EVENTS", 1)[1].split("\n\n\n", 1)[0]
    # tests/sites: YQSR's next seminar and the December conversation for kindness, both after the send time
    assert "trauma-informed compassion in maternity care" in upcoming
    assert "When: Wed 16 December 2026, 12:30" in upcoming
    assert "Conversation for kindness, Thursday 17 December 2026" in upcoming
    assert "When: Thu 17 December 2026, 18:00" in upcoming
    assert "Finance" not in upcoming  # job adverts are news, never events
    html = message.get_body(("html",)).get_content()
    assert html.count(f'href="{BASE}/events/') == upcoming.count("Add to your calendar")  # none for past ones
    assert upcoming.count("Add to your calendar") >= 2
    # a past seminar is shown as its recording and slides, with no calendar or registration link
    past = html.split("Past event, 21 October 2026", 1)[1].split("</table>", 1)[0]
    assert "recording and slides" in past.split("Abstract", 1)[0] and "/events/" not in past


def test_no_tracking_parameters_source_ids_or_feed_names_reach_the_reader(sent):
    settings, _, message = sent
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    parser = _Links()
    parser.feed(html)
    for href in parser.hrefs + re.findall(r"https?://\S+", text):
        query = href.split("?", 1)[1] if "?" in href else ""
        assert not any(is_tracking_parameter(p.split("=")[0]) for p in query.split("&") if p), href
    for body in (html, text):
        assert "(RSS)" not in body and "(Atom)" not in body
        for config in load_sources(settings.sources_file).sources:
            assert f"Also listed on {config.id}" not in body and f", {config.id}" not in body
        assert "[…]" not in body and "Continue reading" not in body
    assert "Read more:" not in text  # the partner's tail; the mail's own "Read more" link has no colon


def test_the_demo_finds_the_repository_taxonomy_from_any_folder(tmp_path, monkeypatch):
    """`aggregator demo` started outside the checkout stopped with "taxonomy.yaml: file not found"."""
    from aggregator.settings import Settings

    monkeypatch.chdir(tmp_path)  # no taxonomy.yaml here: the default path is relative to the folder
    settings = demo_settings(Settings(_env_file=None, data_dir=tmp_path / "var"), sites_root())
    assert settings.taxonomy_file == sites_root().parents[1] / "taxonomy.yaml"
    assert load_taxonomy(settings.taxonomy_file).themes
    own = tmp_path / "taxonomy.yaml"
    own.write_text(settings.taxonomy_file.read_text(encoding="utf-8"), encoding="utf-8")
    assert demo_settings(Settings(_env_file=None, taxonomy_file=own), sites_root()).taxonomy_file == own
