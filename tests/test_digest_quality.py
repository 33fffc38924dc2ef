"""The quality gate: dead and login-walled links, repeats of the last 3 issues, missing alt text; the confirmation mail."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime

from sqlalchemy import select, update

from aggregator.config.taxonomy import load_taxonomy
from aggregator.db.schema import issues, resources
from aggregator.digest.quality import FetcherLinkChecker, LinkResult, check_issue, classify_final, images_without_alt
from aggregator.digest.single import confirmation_message
from aggregator.settings import Settings
from tests.support.httpserver import http_server  # noqa: F401
from tests.test_send_helpers import TAXONOMY_FILE, seed_issue, settings_for

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


class FakeChecker:
    def __init__(self, verdicts: dict[str, str]) -> None:
        self.verdicts, self.asked = verdicts, []

    def check(self, url: str) -> LinkResult:
        self.asked.append(url)
        return LinkResult(url, self.verdicts.get(url, "ok"), "fake")


def test_dead_and_login_links_are_flagged(engine, tmp_path):
    issue_id = seed_issue(engine)
    checker = FakeChecker({"https://pslhub.example/a": "dead", "https://pslhub.example/b": "login"})
    with engine.connect() as conn:
        report = check_issue(
            conn, issue_id, checker, NOW, settings=settings_for(tmp_path), taxonomy=load_taxonomy(TAXONOMY_FILE)
        )
    kinds = {(p.kind, p.title) for p in report.problems}
    assert ("dead-link", "Kindness toolkit") in kinds and ("login-link", "Leadership guide") in kinds
    assert not report.ok and report.links_checked == len(set(checker.asked)) == 3


def test_links_not_checked_are_said_so_and_the_issue_does_not_pass(engine, tmp_path):
    # issue 15: offline, `issue check` said the issue passes with every link unchecked
    issue_id = seed_issue(engine)
    checker = FakeChecker({"https://pslhub.example/a": "unchecked"})
    with engine.connect() as conn:
        report = check_issue(
            conn, issue_id, checker, NOW, settings=settings_for(tmp_path), taxonomy=load_taxonomy(TAXONOMY_FILE)
        )
    (problem,) = report.unchecked
    assert problem.detail == "https://pslhub.example/a: not checked (fake)"
    assert not report.ok and not report.passes() and report.passes(accept_unchecked=True)


def test_an_empty_issue_fails_the_gate_and_cannot_be_approved(engine, tmp_path):
    import pytest

    from aggregator.db.schema import issue_items
    from aggregator.review.lifecycle import EmptyIssueError, change_issue_status

    issue_id = seed_issue(engine)
    with engine.begin() as conn:
        conn.execute(update(issues).where(issues.c.id == issue_id).values(status="draft"))
        conn.execute(update(issue_items).where(issue_items.c.issue_id == issue_id).values(section="removed"))
    with engine.connect() as conn:
        report = check_issue(
            conn, issue_id, FakeChecker({}), NOW, settings=settings_for(tmp_path), taxonomy=load_taxonomy(TAXONOMY_FILE)
        )
    assert [p.kind for p in report.problems] == ["empty"] and not report.passes(accept_unchecked=True)
    with engine.begin() as conn, pytest.raises(EmptyIssueError):
        change_issue_status(conn, issue_id, "approved", user_id=None, now=NOW)


def test_resources_sent_in_recent_issues_and_images_without_alt_are_flagged(engine, tmp_path):
    issue_id = seed_issue(engine)
    with engine.begin() as conn:  # pretend this issue went out in October and a new one repeats it
        conn.execute(update(issues).where(issues.c.id == issue_id).values(status="sent", month="2026-10"))
        conn.execute(update(resources).values(title=""))  # an image with an empty title would get no alt text
        conn.execute(
            update(resources)
            .where(resources.c.url == "https://pslhub.example/a")
            .values(image_url="https://pslhub.example/a.png")
        )
        from sqlalchemy import insert

        from aggregator.db.schema import issue_items
        from aggregator.digest.issue import prepare_draft

        new_id = prepare_draft(conn, "2026-11", NOW)
        conn.execute(
            insert(issue_items).from_select(
                ["issue_id", "resource_id", "section", "position"],
                select(new_id, issue_items.c.resource_id, issue_items.c.section, issue_items.c.position).where(
                    issue_items.c.issue_id == issue_id
                ),
            )
        )
    with engine.connect() as conn:
        report = check_issue(
            conn, new_id, FakeChecker({}), NOW, settings=settings_for(tmp_path), taxonomy=load_taxonomy(TAXONOMY_FILE)
        )
    assert sum(p.kind == "repeat" for p in report.problems) == 3
    assert all("2026-10" in p.detail for p in report.problems if p.kind == "repeat")
    assert [p.kind for p in report.problems if p.kind == "missing-alt"] == []  # "(untitled)" is the alt
    assert images_without_alt('<p><img src="a.png"><img src="b.png" alt=" "><img src="c.png" alt="c"></p>') == [
        "a.png",
        "b.png",
    ]


def test_classify_final_spots_login_pages():
    assert classify_final("https://x.example/r", "https://x.example/login?next=/r").verdict == "login"
    assert classify_final("https://x.example/r", "https://idp.x.example/saml/sso").verdict == "login"
    assert classify_final("https://x.example/r", "https://x.example/r", b'<input type="password">').verdict == "login"
    assert classify_final("https://x.example/r", "https://x.example/blog/authoring-tips").verdict == "ok"


def test_fetcher_checker_against_a_local_server(http_server):  # noqa: F811
    from aggregator.ingest.fetch import Fetcher

    http_server.add("/ok", body=b"<p>fine</p>")
    http_server.add("/gone", status=404)
    http_server.add("/members", status=302, headers={"Location": "/account/login?returnUrl=/members"})
    http_server.add("/account/login", body=b"<form><input type=password></form>")
    http_server.add("/forbidden", status=403)
    settings = Settings(allow_private_addresses=True, fetch={"per_host_delay": 0, "robots_txt": False})
    with Fetcher(settings) as fetcher:
        checker = FetcherLinkChecker(fetcher)
        verdicts = {
            path: checker.check(http_server.url(path)).verdict for path in ("/ok", "/gone", "/members", "/forbidden")
        }
        verdicts["refused"] = checker.check("http://127.0.0.1:9/nothing").verdict
        unresolved = checker.check("http://no-such-host.invalid/page")  # offline looks like this too
    assert verdicts == {"/ok": "ok", "/gone": "dead", "/members": "login", "/forbidden": "login", "refused": "dead"}
    assert unresolved.verdict == "unchecked" and "resolve" in unresolved.detail


def test_confirmation_mail_has_the_link_and_no_list_headers(tmp_path):
    settings = settings_for(tmp_path)
    url = "http://127.0.0.1:8000/subscribe/confirm/abc.def"
    message = email.message_from_bytes(
        confirmation_message("new@example.org", url, settings, now=NOW), policy=email.policy.default
    )
    assert message["To"] == "new@example.org" and message["List-Unsubscribe"] is None
    assert message["Subject"] == "Please confirm your subscription to Kindness in care digest"
    assert url in message.get_body(("plain",)).get_content() and url in message.get_body(("html",)).get_content()
