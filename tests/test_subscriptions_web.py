"""The public subscription pages through the real app: double opt-in by mail, abuse controls, forged links,
preferences and RFC 8058 one-click unsubscribe."""

from __future__ import annotations

import dataclasses
import email
import re
from datetime import UTC, datetime, timedelta
from email import policy
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import insert, select

from aggregator.db.schema import consent_events, deliveries, issues, subscribers
from aggregator.digest.errors import TransportError
from aggregator.people.tokens import Tokens
from aggregator.settings import Settings
from aggregator.web.app import create_app

ROOT = Path(__file__).resolve().parents[1]
SECRET = "test-secret-" + "x" * 40
EMAIL = "nurse@example.org"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        _env_file=None,
        data_dir=tmp_path,
        database_url=database_url,
        secret_key=SECRET,
        sources_file=ROOT / "sources.yaml",
        taxonomy_file=ROOT / "taxonomy.yaml",
        base_url="http://localhost",
        web={"subscribe_rate_limit": "100 per hour"},
    )


@pytest.fixture
def app(settings, engine, clock):
    app = create_app(settings, engine, clock=clock)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()


def outbox(settings: Settings) -> list[email.message.EmailMessage]:
    folder = settings.outbox_dir / "confirmations"
    return (
        [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in sorted(folder.glob("*.eml"))]
        if folder.is_dir()
        else []
    )


def confirm_path(message: email.message.EmailMessage) -> str:
    text = message.get_body(("plain",)).get_content()
    return urlsplit(re.search(r"http://localhost/subscribe/confirm/\S+", text).group(0)).path


def csrf_token(client, path: str) -> str:
    return CSRF.search(client.get(path).get_data(as_text=True)).group(1)


def post_subscribe(client, address: str = EMAIL, ip: str = "192.0.2.1", **fields):
    data = {"email": address, "csrf_token": csrf_token(client, "/subscribe"), **fields}
    # buffered: the response is closed as a server would, which sends the mail queued after the reply
    return client.post("/subscribe", data=data, buffered=True, environ_base={"REMOTE_ADDR": ip})


def rows(engine, table=subscribers):
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(table).order_by(table.c.id)).mappings()]


def active_subscriber(client, settings, engine, address: str = EMAIL) -> dict:
    post_subscribe(client, address)
    path = confirm_path(outbox(settings)[-1])
    client.post(path, data={"csrf_token": csrf_token(client, path)})
    return next(r for r in rows(engine) if r["email"] == address)


def make_token(purpose: str, row: dict) -> str:
    return Tokens(SECRET).make(purpose, row["id"], row["token_version"])


# --- subscribe and confirm -------------------------------------------------------------------------


def test_the_subscribe_page_has_the_form_and_the_versioned_consent_wording(client, settings):
    page = client.get("/subscribe")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'name="email"' in html and 'autocomplete="email"' in html and 'name="csrf_token"' in html
    assert 'name="theme" value="kindness"' in html and 'name="audience" value="frontline-staff"' in html
    assert f"Wording version {settings.mail.wording_version}" in html
    assert '<html lang="en-GB">' in html and 'name="viewport"' in html
    assert client.get("/public/style.css").headers["Content-Type"].startswith("text/css")


def test_double_opt_in_by_mail_and_only_the_post_confirms(client, settings, engine):
    reply = post_subscribe(client, "Nurse@Example.org", theme=["kindness"], audience=["frontline-staff"])
    assert reply.status_code == 200 and "Check your email" in reply.get_data(as_text=True)
    [row] = rows(engine)
    assert (row["email"], row["status"], row["themes"], row["audiences"]) == (
        EMAIL,
        "pending",
        ["kindness"],
        ["frontline-staff"],
    )
    [message] = outbox(settings)
    assert message["To"] == EMAIL and message["Subject"].startswith("Please confirm")
    assert "List-Unsubscribe" not in message  # not a list message
    path = confirm_path(message)

    page = client.get(path)  # what a mail scanner's prefetch does
    assert page.status_code == 200 and "Yes, send me the digest" in page.get_data(as_text=True)
    assert rows(engine)[0]["status"] == "pending"

    done = client.post(path, data={"csrf_token": csrf_token(client, path)})
    assert done.status_code == 200 and "You are subscribed" in done.get_data(as_text=True)
    assert "/preferences/" in done.get_data(as_text=True)
    assert rows(engine)[0]["status"] == "active"
    again = client.post(path, data={"csrf_token": csrf_token(client, "/subscribe")})
    assert again.status_code == 200 and "already subscribed" in again.get_data(as_text=True)
    ledger = rows(engine, consent_events)
    assert [(e["action"], e["origin"], e["wording_version"]) for e in ledger] == [
        ("opt-in", "form", settings.mail.wording_version),
        ("confirm", "link", settings.mail.wording_version),
    ]


def test_the_confirm_post_needs_the_csrf_token(client, settings, engine):
    post_subscribe(client)
    path = confirm_path(outbox(settings)[0])
    refused = client.post(path, data={})
    assert refused.status_code == 400 and "expired" in refused.get_data(as_text=True)
    assert rows(engine)[0]["status"] == "pending"


def test_replies_do_not_reveal_whether_an_address_is_known(client, settings, engine, clock):
    def reply(address: str):
        clock.advance(minutes=1)
        answer = post_subscribe(client, address)
        return answer.status_code, answer.get_data(as_text=True)

    new = reply("new@example.org")
    pending = reply("new@example.org")  # within the mail interval: no second mail
    active_subscriber(client, settings, engine)
    active = reply(EMAIL)
    assert new == pending == active
    assert new[0] == 200


def test_flooding_one_address_sends_one_mail(client, settings, engine, clock):
    for n in range(20):  # many IPs, one address, varying case: the per-address limit is stored state
        clock.advance(seconds=20)
        assert post_subscribe(client, EMAIL.upper() if n % 2 else EMAIL, ip=f"198.51.100.{n}").status_code == 200
    assert len(outbox(settings)) == 1
    assert len(rows(engine)) == 1
    assert [e["action"] for e in rows(engine, consent_events)] == ["opt-in"]
    clock.advance(minutes=11)
    post_subscribe(client, EMAIL, ip="198.51.100.99")
    assert len(outbox(settings)) == 2  # a real person asking again later gets another mail


def test_subscribe_is_rate_limited_per_ip(settings, engine, clock):
    settings = settings.model_copy(
        update={"web": settings.web.model_copy(update={"subscribe_rate_limit": "3 per hour"})}
    )
    client = create_app(settings, engine, clock=clock).test_client()
    answers = [post_subscribe(client, f"person{n}@example.org").status_code for n in range(4)]
    assert answers == [200, 200, 200, 429]
    refused = post_subscribe(client, "person9@example.org")
    assert refused.status_code == 429 and "Too many attempts" in refused.get_data(as_text=True)
    assert post_subscribe(client, "person9@example.org", ip="203.0.113.7").status_code == 200  # another IP
    assert len(rows(engine)) == 4


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("", "Enter your email address"),
        ("nurse@example.org\r\nBcc: everyone@example.org", "single line"),
        ("nurse@example.org\nSubject: hi", "single line"),
        ("a" * 300 + "@example.org", "too long"),
        ("a" * 100_000, "too long"),
        ("not-an-address", "Check the email address"),
        ("nurse@localhost", "Check the email address"),
        ("ñurse@example.org", "Check the email address"),
    ],
)
def test_bad_addresses_get_the_form_back_with_a_message(client, settings, engine, address, message):
    answer = post_subscribe(client, address)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400 and message in html and 'aria-invalid="true"' in html
    assert "\r" not in html and "Bcc: everyone@example.org\n" not in html
    assert rows(engine) == [] and outbox(settings) == []


def test_unknown_choices_are_refused(client, engine):
    answer = post_subscribe(client, theme=["kindness", "<script>"])
    assert answer.status_code == 400 and "Choose from the topics listed" in answer.get_data(as_text=True)
    assert "<script>" not in answer.get_data(as_text=True)
    assert rows(engine) == []


def test_subscribe_needs_the_csrf_token(client, engine, settings):
    answer = client.post("/subscribe", data={"email": EMAIL})
    assert answer.status_code == 400 and rows(engine) == [] and outbox(settings) == []
    foreign = client.post(
        "/subscribe",
        data={"email": EMAIL, "csrf_token": csrf_token(client, "/subscribe")},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 400 and rows(engine) == []


def test_a_failing_mail_server_does_not_change_the_reply(app, client, engine, monkeypatch):
    class Broken:
        def open(self):
            raise TransportError("cannot connect")

    monkeypatch.setitem(
        app.extensions, "aggregator", dataclasses.replace(app.extensions["aggregator"], mailer=Broken())
    )
    answer = post_subscribe(client)
    assert answer.status_code == 200 and "Check your email" in answer.get_data(as_text=True)
    assert rows(engine)[0]["status"] == "pending"


# --- forged, swapped and stale links --------------------------------------------------------------


def _flip(token: str, index: int) -> str:
    char = token[index]
    return token[:index] + ("A" if char != "A" else "B") + token[index + 1 :]


FORGED = {
    # case: (method, route, token maker taking (active row, erased row))
    "confirm byte flipped in signature": (
        "post",
        "/subscribe/confirm/",
        lambda a, e: _flip(make_token("confirm", a), -3),
    ),
    "confirm byte flipped in payload": ("post", "/subscribe/confirm/", lambda a, e: _flip(make_token("confirm", a), 2)),
    "unsubscribe byte flipped": ("post", "/unsubscribe/", lambda a, e: _flip(make_token("unsubscribe", a), -5)),
    "preferences byte flipped": ("post", "/preferences/", lambda a, e: _flip(make_token("preferences", a), -1)),
    "confirm token on unsubscribe": ("post", "/unsubscribe/", lambda a, e: make_token("confirm", a)),
    "preferences token on unsubscribe": ("post", "/unsubscribe/", lambda a, e: make_token("preferences", a)),
    "unsubscribe token on preferences": ("post", "/preferences/", lambda a, e: make_token("unsubscribe", a)),
    "unsubscribe token on preferences page": ("get", "/preferences/", lambda a, e: make_token("unsubscribe", a)),
    "other secret": (
        "post",
        "/unsubscribe/",
        lambda a, e: Tokens("another secret").make("unsubscribe", a["id"], a["token_version"]),
    ),
    "old token version": (
        "post",
        "/unsubscribe/",
        lambda a, e: make_token("unsubscribe", {**a, "token_version": a["token_version"] + 1}),
    ),
    "erased subscriber": ("post", "/unsubscribe/", lambda a, e: make_token("unsubscribe", e)),
    "erased subscriber page": ("get", "/unsubscribe/", lambda a, e: make_token("unsubscribe", e)),
    "garbage": ("post", "/unsubscribe/", lambda a, e: "not-a-token"),
    "truncated by a mail app": ("post", "/unsubscribe/", lambda a, e: make_token("unsubscribe", a)[:-12]),
    "id as a string": (
        "post",
        "/unsubscribe/",
        lambda a, e: Tokens(SECRET)._serializers["unsubscribe"].dumps([str(a["id"]), a["token_version"]]),
    ),
}


@pytest.mark.parametrize("case", list(FORGED))
def test_forged_or_swapped_links_change_nothing(client, settings, engine, case):
    from aggregator.people.subscribers import erase_subscriber

    active = active_subscriber(client, settings, engine)
    erased = active_subscriber(client, settings, engine, "gone@example.org")
    with engine.begin() as conn:
        erase_subscriber(conn, "gone@example.org")
    before = (rows(engine), rows(engine, consent_events))
    method, route, make = FORGED[case]
    path = route + make(active, erased)
    if method == "get":
        answer = client.get(path)
    else:
        answer = client.post(
            path,
            data={
                "List-Unsubscribe": "One-Click",
                "action": "unsubscribe",
                "csrf_token": csrf_token(client, "/subscribe"),
            },
        )
    assert answer.status_code in (400, 404)
    assert "This link does not work" in answer.get_data(as_text=True)
    assert (rows(engine), rows(engine, consent_events)) == before


def test_an_expired_confirmation_link_changes_nothing(client, settings, engine, monkeypatch):
    import itsdangerous.timed

    post_subscribe(client)
    path = confirm_path(outbox(settings)[0])
    real_time = itsdangerous.timed.time.time
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real_time() + 8 * 24 * 3600)
    answer = client.post(path, data={"csrf_token": csrf_token(client, "/subscribe")})
    assert answer.status_code == 400 and rows(engine)[0]["status"] == "pending"


def test_erased_then_same_id_reused_does_not_accept_old_links(client, settings, engine):
    from aggregator.people.subscribers import erase_subscriber

    old = active_subscriber(client, settings, engine)
    with engine.begin() as conn:
        erase_subscriber(conn, EMAIL)
    newcomer = active_subscriber(client, settings, engine, "newcomer@example.org")
    answer = client.post("/unsubscribe/" + make_token("unsubscribe", old))
    assert answer.status_code == 404 and rows(engine)[0]["status"] == "active"
    assert newcomer["status"] == "active"


# --- one-click unsubscribe (RFC 8058) -------------------------------------------------------------


def test_one_click_unsubscribe_needs_no_cookie_or_csrf_and_is_idempotent(app, client, settings, engine):
    row = active_subscriber(client, settings, engine)
    path = "/unsubscribe/" + make_token("unsubscribe", row)
    mail_client = app.test_client(use_cookies=False)  # as a mail provider sends it: no session, no token
    first = mail_client.post(path, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert first.status_code == 200 and "Location" not in first.headers
    assert rows(engine)[0]["status"] == "unsubscribed"
    assert rows(engine)[0]["unsubscribed_at"] is not None
    second = mail_client.post(path, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert second.status_code == 200 and "already unsubscribed" in second.get_data(as_text=True)
    unsubscribes = [e for e in rows(engine, consent_events) if e["action"] == "unsubscribe"]
    assert [(e["origin"], e["wording_version"]) for e in unsubscribes] == [("one-click", settings.mail.wording_version)]


def test_the_unsubscribe_page_shows_a_button_and_a_get_changes_nothing(client, settings, engine):
    row = active_subscriber(client, settings, engine)
    path = "/unsubscribe/" + make_token("unsubscribe", row)
    page = client.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and f'action="{path}"' in html and "/preferences/" in html
    assert page.headers["Cache-Control"] == "no-store"
    assert rows(engine)[0]["status"] == "active"
    button = client.post(path)  # the page's button: same endpoint, no extra fields
    assert button.status_code == 200 and rows(engine)[0]["status"] == "unsubscribed"
    assert [e["origin"] for e in rows(engine, consent_events) if e["action"] == "unsubscribe"] == ["link"]
    assert "You are unsubscribed" in client.get(path).get_data(as_text=True)


def test_an_unsubscribe_takes_effect_before_the_next_message(client, settings, engine):
    from aggregator.digest.deliveries import check_target

    row = active_subscriber(client, settings, engine)
    with engine.begin() as conn:
        issue_id = conn.execute(
            insert(issues)
            .values(month="2026-11", status="sending", intro="", created_at=T0, updated_at=T0)
            .returning(issues.c.id)
        ).scalar_one()
        delivery_id = conn.execute(
            insert(deliveries)
            .values(
                issue_id=issue_id,
                subscriber_id=row["id"],
                status="pending",
                attempts=0,
                lease_owner="w1",
                lease_until=T0 + timedelta(hours=1),
            )
            .returning(deliveries.c.id)
        ).scalar_one()
    client.post("/unsubscribe/" + make_token("unsubscribe", row), data={"List-Unsubscribe": "One-Click"})
    with engine.begin() as conn:
        assert check_target(conn, delivery_id, "w1", T0) is None
    assert rows(engine, deliveries)[0]["status"] == "skipped"


# --- preferences ---------------------------------------------------------------------------------


def test_preferences_change_choices_pause_resume_and_unsubscribe(client, settings, engine):
    row = active_subscriber(client, settings, engine)
    path = "/preferences/" + make_token("preferences", row)
    page = client.get(path)
    assert page.status_code == 200 and EMAIL in page.get_data(as_text=True)

    def send(**form):
        return client.post(path, data={"csrf_token": csrf_token(client, path), **form})

    saved = send(action="save", theme=["kindness", "teamwork"], audience=["leaders"])
    assert saved.status_code == 200 and "Your choices are saved" in saved.get_data(as_text=True)
    assert (rows(engine)[0]["themes"], rows(engine)[0]["audiences"]) == (["kindness", "teamwork"], ["leaders"])
    assert re.search(r'value="teamwork"[^>]*checked', saved.get_data(as_text=True))
    assert not re.search(r'value="inclusion"[^>]*checked', saved.get_data(as_text=True))
    assert send(action="pause").status_code == 200 and rows(engine)[0]["status"] == "paused"
    assert "Resume the digest" in client.get(path).get_data(as_text=True)
    assert send(action="resume").status_code == 200 and rows(engine)[0]["status"] == "active"
    assert send(action="save", theme=["made-up"]).status_code == 400
    assert rows(engine)[0]["themes"] == ["kindness", "teamwork"]
    gone = send(action="unsubscribe")
    assert gone.status_code == 200 and "You are unsubscribed" in gone.get_data(as_text=True)
    assert rows(engine)[0]["status"] == "unsubscribed"
    assert "You are unsubscribed" in client.get(path).get_data(as_text=True)
    assert [e["action"] for e in rows(engine, consent_events)] == [
        "opt-in",
        "confirm",
        "preferences",
        "pause",
        "resume",
        "unsubscribe",
    ]
    assert {e["wording_version"] for e in rows(engine, consent_events)} == {settings.mail.wording_version}


def test_preferences_post_needs_the_csrf_token(app, client, settings, engine):
    row = active_subscriber(client, settings, engine)
    path = "/preferences/" + make_token("preferences", row)
    answer = app.test_client(use_cookies=False).post(path, data={"action": "unsubscribe"})
    assert answer.status_code == 400 and rows(engine)[0]["status"] == "active"


def test_every_public_page_renders(client, settings, engine):
    row = active_subscriber(client, settings, engine)
    pages = [
        "/subscribe",
        "/preferences/" + make_token("preferences", row),
        "/unsubscribe/" + make_token("unsubscribe", row),
        "/subscribe/confirm/" + make_token("confirm", row),
    ]
    for path in pages:
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert "<h1>" in answer.get_data(as_text=True)
