"""The web app's defences: CSRF and foreign origins, roles, escaping, `next=`, sign-in limits, sessions, headers."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from aggregator.db.schema import resources, sources
from aggregator.web import create_app
from aggregator.web.security import is_safe_next
from tests.e2e.support import (
    PASSWORD,
    XSS_TITLE,
    add_account,
    fast_passwords,
    post,
    seed_resources,
    sign_in,
    token,
    web_settings,
)


@pytest.fixture
def site(tmp_path, engine, database_url):
    passwords = fast_passwords()
    ids = seed_resources(engine)
    add_account(engine, "admin@example.org", "admin", passwords)
    add_account(engine, "editor@example.org", "editor", passwords)
    app = create_app(web_settings(tmp_path, database_url), engine, passwords=passwords)
    app.config["TESTING"] = True
    return app, engine, ids


def status_of(engine, resource_id):
    with engine.connect() as conn:
        return conn.execute(select(resources.c.status).where(resources.c.id == resource_id)).scalar_one()


def test_post_without_csrf_token_is_refused_and_changes_nothing(site):
    app, engine, ids = site
    client = app.test_client()
    sign_in(client, "editor@example.org")
    reply = client.post(f"/editor/resources/{ids['Kindness toolkit']}/approve", data={})
    assert reply.status_code == 403
    assert "nothing was changed" in reply.get_data(as_text=True).lower()
    assert status_of(engine, ids["Kindness toolkit"]) == "pending"


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Referer": "https://evil.example/page"},
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
def test_post_from_another_site_is_refused_even_with_a_token(site, headers):
    app, engine, ids = site
    client = app.test_client()
    sign_in(client, "editor@example.org")
    reply = post(client, f"/editor/resources/{ids['Kindness toolkit']}/approve", headers=headers)
    assert reply.status_code == 403
    assert status_of(engine, ids["Kindness toolkit"]) == "pending"


def test_same_origin_post_with_token_works(site):
    app, engine, ids = site
    client = app.test_client()
    sign_in(client, "editor@example.org")
    reply = post(client, f"/editor/resources/{ids['Kindness toolkit']}/approve", headers={"Origin": "http://localhost"})
    assert reply.status_code == 303
    assert status_of(engine, ids["Kindness toolkit"]) == "approved"


def test_get_never_changes_state(site):
    app, engine, ids = site
    client = app.test_client()
    sign_in(client, "admin@example.org")
    for path in (f"/editor/resources/{ids['Kindness toolkit']}/approve", "/editor/undo", "/editor/logout"):
        assert client.get(path).status_code == 405
    assert status_of(engine, ids["Kindness toolkit"]) == "pending"


@pytest.mark.parametrize(
    "path",
    ["/editor/", "/editor/users", "/editor/sources/", "/editor/audit/", "/editor/issues/", "/editor/resources/1"],
)
def test_signed_out_visitors_are_sent_to_sign_in(site, path):
    app, _, _ = site
    reply = app.test_client().get(path)
    assert reply.status_code == 302
    assert reply.headers["Location"].startswith("/editor/login?next=")


def test_signed_out_post_with_a_token_is_sent_to_sign_in(site):
    app, engine, ids = site
    client = app.test_client()
    html = client.get("/editor/login").get_data(as_text=True)
    reply = client.post(f"/editor/resources/{ids['Kindness toolkit']}/approve", data={"csrf_token": token(html)})
    assert reply.status_code == 302 and "/editor/login" in reply.headers["Location"]
    assert status_of(engine, ids["Kindness toolkit"]) == "pending"


def test_editor_is_refused_admin_pages_and_actions(site):
    app, engine, _ = site
    client = app.test_client()
    sign_in(client, "editor@example.org")
    assert client.get("/editor/users").status_code == 403
    assert (
        post(client, "/editor/users", {"email": "x@example.org", "role": "admin", "password": PASSWORD}).status_code
        == 403
    )
    reply = post(client, "/editor/sources/pslhub-good-practice/disable")
    assert reply.status_code == 403 and "Only an admin" in reply.get_data(as_text=True)
    assert post(client, "/editor/sources/pslhub-good-practice/fetch").status_code == 403
    with engine.connect() as conn:
        assert (
            conn.execute(select(sources.c.disabled_reason).where(sources.c.id == "pslhub-good-practice")).scalar()
            is None
        )


def test_admin_may_use_admin_pages(site):
    app, _, _ = site
    client = app.test_client()
    sign_in(client, "admin@example.org")
    assert client.get("/editor/users").status_code == 200


def test_stored_markup_in_a_title_renders_inert(site):
    app, _, ids = site
    client = app.test_client()
    sign_in(client, "editor@example.org")
    for path in ("/editor/", f"/editor/resources/{ids[XSS_TITLE]}", "/editor/audit/merges"):
        html = client.get(path).get_data(as_text=True)
        assert "<img src=x onerror" not in html
    queue = client.get("/editor/").get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt;" in queue
    assert "<script>alert(1)</script>" not in queue and "<strong>toolkit</strong>" in queue


@pytest.mark.parametrize(
    "target, allowed",
    [
        ("//evil.com", False),
        ("/\\evil.com", False),
        ("https://evil.com", False),
        ("javascript:alert(1)", False),
        ("/\t/evil.com", False),
        ("http:/evil.com", False),
        ("", False),
        ("evil.com", False),
        ("/ok", True),
        ("/editor/?status=approved#r-3", True),
    ],
)
def test_next_targets(site, target, allowed):
    assert is_safe_next(target) is allowed
    app, _, _ = site
    client = app.test_client()
    reply = sign_in(client, "editor@example.org", next_url=target)
    assert reply.status_code == 303
    assert reply.headers["Location"] == (target if allowed else "/editor/")


def _normalised(html: str) -> str:
    return re.sub(r'value="[^"]*"', 'value=""', html)


def test_same_reply_for_unknown_address_and_wrong_password(site):
    app, _, _ = site
    unknown = sign_in(app.test_client(), "nobody@example.org", "whatever password 1")
    wrong = sign_in(app.test_client(), "editor@example.org", "whatever password 1")
    assert unknown.status_code == wrong.status_code == 200
    assert _normalised(unknown.get_data(as_text=True)) == _normalised(wrong.get_data(as_text=True))
    assert "do not match an active account" in wrong.get_data(as_text=True)


def test_sign_in_is_rate_limited(site):
    app, _, _ = site
    client = app.test_client()
    for _ in range(5):  # settings.web.login_rate_limit: 5 per minute
        assert sign_in(client, "editor@example.org", "wrong password here").status_code == 200
    limited = sign_in(client, "editor@example.org")  # even the right password, until the minute is over
    assert limited.status_code == 429
    assert "Too many attempts" in limited.get_data(as_text=True)


def test_successful_sign_ins_do_not_use_up_the_limit(site):
    app, _, _ = site
    for _ in range(7):
        client = app.test_client()
        assert sign_in(client, "editor@example.org").status_code == 303


def _cookie(client, app) -> str:
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    return cookie.value if cookie else ""


def test_session_is_renewed_at_sign_in_and_revoked_at_sign_out(site):
    app, _, _ = site
    client = app.test_client()
    client.get("/editor/login")
    before = _cookie(client, app)
    assert before  # the anonymous session holding the CSRF token
    sign_in(client, "editor@example.org")
    after = _cookie(client, app)
    assert after and after != before
    assert client.get("/editor/").status_code == 200
    post(client, "/editor/logout")
    replay = app.test_client()
    replay.set_cookie(app.config["SESSION_COOKIE_NAME"], after)
    assert replay.get("/editor/").status_code == 302  # the copied cookie no longer signs anyone in


def test_a_new_password_ends_other_sessions(site):
    app, _, _ = site
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop, "editor@example.org")
    stolen = _cookie(laptop, app)
    reply = post(
        laptop,
        "/editor/account",
        {"current": PASSWORD, "new": "a brand new passphrase", "confirm": "a brand new passphrase"},
        page="/editor/account",
    )
    assert reply.status_code == 303
    assert laptop.get("/editor/").status_code == 200  # this session was renewed
    phone.set_cookie(app.config["SESSION_COOKIE_NAME"], stolen)
    assert phone.get("/editor/").status_code == 302


def test_cookie_flags(tmp_path, engine, database_url):
    passwords = fast_passwords()
    add_account(engine, "editor@example.org", "editor", passwords)
    settings = web_settings(tmp_path, database_url).model_copy(update={"base_url": "https://digest.example"})
    app = create_app(settings, engine, passwords=passwords)
    client = app.test_client()
    page = client.get("/editor/login", base_url="https://digest.example")
    header = page.headers["Set-Cookie"]
    assert header.startswith("__Host-aggregator=") and "Secure" in header and "HttpOnly" in header
    assert "SameSite=Lax" in header


def test_security_headers(site):
    app, _, _ = site
    reply = app.test_client().get("/editor/login")
    csp = reply.headers["Content-Security-Policy"]
    script_src = next(part for part in csp.split(";") if part.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert reply.headers["Referrer-Policy"] == "same-origin"
    assert "<script>" not in reply.get_data(as_text=True)  # no inline script anywhere


def test_deactivated_account_is_signed_out(site):
    app, engine, _ = site
    client = app.test_client()
    sign_in(client, "editor@example.org")
    from aggregator.people.users import find_user_by_email, set_active

    with engine.begin() as conn:
        set_active(conn, find_user_by_email(conn, "editor@example.org").id, False)
    assert client.get("/editor/").status_code == 302


def test_forwarded_client_address_is_trusted_only_behind_a_configured_proxy(tmp_path, database_url):
    from flask import request

    from aggregator.db.engine import create_db_engine
    from aggregator.settings import Settings
    from aggregator.web.app import create_app

    for proxies, expected in ((0, "127.0.0.1"), (1, "203.0.113.7")):
        settings = Settings(data_dir=tmp_path, database_url=database_url, web={"trusted_proxies": proxies})
        app = create_app(settings, create_db_engine(database_url))
        seen = []
        app.before_request(lambda seen=seen: seen.append(request.remote_addr))
        app.test_client().get(
            "/healthz", headers={"X-Forwarded-For": "203.0.113.7"}, environ_base={"REMOTE_ADDR": "127.0.0.1"}
        )
        assert seen == [expected]


@pytest.mark.parametrize("storage, kind", [(None, "DatabaseStorage"), ("memory://", "MemoryStorage")])
def test_rate_limit_counters_live_in_the_database_unless_a_storage_is_configured(
    tmp_path, engine, database_url, storage, kind
):
    settings = web_settings(tmp_path, database_url)
    settings = settings.model_copy(update={"web": settings.web.model_copy(update={"rate_limit_storage": storage})})
    app = create_app(settings, engine, passwords=fast_passwords())
    assert type(app.extensions["aggregator"].limiter.storage).__name__ == kind


def test_database_rate_limit_counters_count_per_key_and_start_again_after_the_window(engine):
    from sqlalchemy import update

    from aggregator.db.ratelimit import DatabaseStorage
    from aggregator.db.schema import rate_limits

    storage = DatabaseStorage("aggregator-db://", engine=engine)
    assert [storage.incr("a", 60) for _ in range(3)] == [1, 2, 3] and storage.incr("b", 60) == 1
    assert storage.get("a") == 3 and storage.get_expiry("a") > 0
    long_key = "x" * 400  # an attacker-chosen email address is part of the key
    assert storage.incr(long_key, 60) == 1 and storage.get(long_key) == 1
    with engine.begin() as conn:
        conn.execute(update(rate_limits).values(expires_at=0))  # every window is over
    assert storage.get("a") == 0 and storage.incr("a", 60) == 1
    storage.clear("a")
    assert storage.get("a") == 0 and storage.check()
