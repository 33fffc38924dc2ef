"""Subscribers' domain: address checks, double opt-in, mail limits, the consent ledger, export, erase and import."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from aggregator.config.taxonomy import load_taxonomy
from aggregator.db.schema import consent_events, deliveries, issues, metadata, subscribers
from aggregator.people.subscribers import (
    IMPORT_WORDING,
    EmailInputError,
    StaleLinkError,
    SubscriberError,
    confirm,
    erase_subscriber,
    export_subscriber,
    find_subscriber,
    import_csv,
    list_subscribers,
    normalize_email,
    pause,
    resume,
    subscribe,
    subscriber_for_token,
    unsubscribe,
    update_preferences,
)
from aggregator.people.tokens import TokenData

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
WORDING = "2026-11"
EMAIL = "nurse@example.org"


@pytest.fixture(scope="module")
def taxonomy():
    return load_taxonomy(ROOT / "taxonomy.yaml")


def _subscribe(conn, email=EMAIL, now=T0, audiences=(), themes=()):
    return subscribe(conn, email, audiences, themes, now, wording_version=WORDING)


def _token(outcome) -> TokenData:
    return TokenData(outcome.subscriber_id, outcome.token_version)


def _ledger(conn, subscriber_id=None):
    query = select(consent_events).order_by(consent_events.c.id)
    if subscriber_id is not None:
        query = query.where(consent_events.c.subscriber_id == subscriber_id)
    return conn.execute(query).mappings().all()


def _active(conn, email=EMAIL) -> TokenData:
    outcome = _subscribe(conn, email)
    confirm(conn, _token(outcome), T0, wording_version=WORDING)
    return _token(outcome)


# --- addresses ------------------------------------------------------------------------------------

BAD_EMAILS = [
    ("", "Enter your email address"),
    ("   ", "Enter your email address"),
    ("no-at-sign.example.org", "Check the email address"),
    ("two@@example.org", "Check the email address"),
    ("name@localhost", "Check the email address"),
    ("space in@example.org", "Check the email address"),
    ("<nurse@example.org>", "Check the email address"),
    ("a@example.org, b@example.org", "Check the email address"),
    ("nurse@example.org\r\nBcc: everyone@example.org", "single line"),
    ("nurse@example.org\n", "single line"),
    ("nurse@exa\rmple.org", "single line"),
    ("nurse\x00@example.org", "control character"),
    ("n\x7f@example.org", "control character"),
    ("a" * 250 + "@example.org", "too long"),
    ("x@" + "a" * 300 + ".org", "too long"),
    ("ñurse@example.org", "Check the email address"),  # needs SMTPUTF8, which the digest does not use
    ("nurse@-example.org", "Check the email address"),
]


@pytest.mark.parametrize(("text", "message"), BAD_EMAILS, ids=[repr(t[0])[:40] for t in BAD_EMAILS])
def test_bad_addresses_are_refused_with_a_clear_message(text, message):
    with pytest.raises(EmailInputError) as refused:
        normalize_email(text)
    assert message in refused.value.message


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("  Nurse@Example.ORG ", "nurse@example.org"),
        ("ward.7+digest@nhs.example.uk", "ward.7+digest@nhs.example.uk"),
        ("care@bücher.example", "care@bücher.example"),  # internationalised domains are fine (IDNA on sending)
    ],
)
def test_good_addresses_are_normalised(text, stored):
    assert normalize_email(text) == stored


# --- double opt-in --------------------------------------------------------------------------------


def test_subscribe_makes_a_pending_subscriber_and_records_the_opt_in(engine):
    with engine.begin() as conn:
        outcome = _subscribe(conn, "Nurse@Example.org", audiences=["frontline-staff"], themes=["kindness"])
        person = find_subscriber(conn, EMAIL)
        ledger = _ledger(conn)
    assert outcome.result == "new" and outcome.should_mail
    assert (person.status, person.origin, person.audiences, person.themes) == (
        "pending",
        "form",
        ("frontline-staff",),
        ("kindness",),
    )
    assert [(e["action"], e["origin"], e["wording_version"]) for e in ledger] == [("opt-in", "form", WORDING)]
    assert ledger[0]["detail"] == {"audiences": ["frontline-staff"], "themes": ["kindness"]}


def test_confirm_works_once(engine):
    with engine.begin() as conn:
        token = _token(_subscribe(conn))
        first = confirm(conn, token, T0 + timedelta(minutes=3), wording_version=WORDING)
        second = confirm(conn, token, T0 + timedelta(minutes=4), wording_version=WORDING)
        actions = [e["action"] for e in _ledger(conn)]
    assert first.changed and first.subscriber.status == "active"
    assert first.subscriber.confirmed_at == T0 + timedelta(minutes=3)
    assert not second.changed and second.subscriber.confirmed_at == T0 + timedelta(minutes=3)
    assert actions == ["opt-in", "confirm"]


def test_confirm_does_not_undo_a_later_pause_or_unsubscribe(engine):
    with engine.begin() as conn:
        token = _token(_subscribe(conn))
        confirm(conn, token, T0, wording_version=WORDING)
        pause(conn, token, T0, wording_version=WORDING)
        assert not confirm(conn, token, T0, wording_version=WORDING).changed
        unsubscribe(conn, token, T0, wording_version=WORDING)
        again = confirm(conn, token, T0, wording_version=WORDING)
    assert not again.changed and again.subscriber.status == "unsubscribed"


def test_mail_limits_per_address_come_from_the_ledger(engine):
    with engine.begin() as conn:
        results = [_subscribe(conn, now=T0 + timedelta(minutes=m)).result for m in (0, 1, 5, 9)]
        results.append(_subscribe(conn, now=T0 + timedelta(minutes=11)).result)  # interval passed: mail again
        results.append(_subscribe(conn, now=T0 + timedelta(minutes=25)).result)
        results.append(_subscribe(conn, now=T0 + timedelta(minutes=50)).result)  # a fourth mail in a day: no
        results.append(_subscribe(conn, now=T0 + timedelta(hours=25)).result)
        opt_ins = [e for e in _ledger(conn) if e["action"] == "opt-in"]
    assert results == ["new", "throttled", "throttled", "throttled", "resend", "resend", "throttled", "resend"]
    assert len(opt_ins) == 4  # one per mail sent


def test_an_active_address_is_left_alone_and_gets_no_mail(engine):
    with engine.begin() as conn:
        token = _active(conn)
        outcome = _subscribe(conn, now=T0 + timedelta(days=2), themes=["kindness"])
        person = subscriber_for_token(conn, token)
    assert outcome.result == "active" and not outcome.should_mail
    assert person.status == "active" and person.themes == ()


def test_subscribing_again_after_leaving_starts_a_new_opt_in_and_revokes_old_links(engine):
    with engine.begin() as conn:
        old = _active(conn)
        unsubscribe(conn, old, T0, wording_version=WORDING)
        again = _subscribe(conn, now=T0 + timedelta(days=1))
        person = find_subscriber(conn, EMAIL)
        assert again.result == "resend" and person.status == "pending"
        assert again.token_version != old.token_version
        for action in (confirm, pause, unsubscribe):
            with pytest.raises(StaleLinkError):
                action(conn, old, T0, wording_version=WORDING)
        assert confirm(conn, _token(again), T0 + timedelta(days=1), wording_version=WORDING).changed


# --- preferences, pause, unsubscribe and the ledger ------------------------------------------------


def test_every_change_is_in_the_ledger_with_its_origin_and_wording(engine):
    with engine.begin() as conn:
        token = _token(_subscribe(conn, themes=["kindness"]))
        confirm(conn, token, T0, wording_version=WORDING)
        update_preferences(conn, token, ["frontline-staff"], [], T0, wording_version="2026-12")
        update_preferences(conn, token, ["frontline-staff"], [], T0, wording_version="2026-12")  # no-op: no row
        pause(conn, token, T0, wording_version="2026-12")
        resume(conn, token, T0, wording_version="2026-12")
        unsubscribe(conn, token, T0, wording_version="2026-12", origin="one-click")
        unsubscribe(conn, token, T0, wording_version="2026-12", origin="one-click")  # idempotent: no row
        ledger = _ledger(conn)
    assert [(e["action"], e["origin"], e["wording_version"]) for e in ledger] == [
        ("opt-in", "form", WORDING),
        ("confirm", "link", WORDING),
        ("preferences", "link", "2026-12"),
        ("pause", "link", "2026-12"),
        ("resume", "link", "2026-12"),
        ("unsubscribe", "one-click", "2026-12"),
    ]
    assert ledger[2]["detail"] == {
        "audiences": ["frontline-staff"],
        "themes": [],
        "before": {"audiences": [], "themes": ["kindness"]},
    }
    assert all(e["at"] == T0 for e in ledger)


def test_unsubscribe_is_immediate_and_idempotent(engine):
    with engine.begin() as conn:
        token = _active(conn)
        first = unsubscribe(conn, token, T0, wording_version=WORDING)
        second = unsubscribe(conn, token, T0 + timedelta(hours=1), wording_version=WORDING)
    assert first.changed and first.subscriber.status == "unsubscribed"
    assert not second.changed and second.subscriber.unsubscribed_at == T0


def test_pause_and_resume_only_from_the_right_status(engine):
    with engine.begin() as conn:
        token = _token(_subscribe(conn))
        assert not pause(conn, token, T0, wording_version=WORDING).changed  # pending: nothing to pause
        confirm(conn, token, T0, wording_version=WORDING)
        assert not resume(conn, token, T0, wording_version=WORDING).changed  # active already
        assert pause(conn, token, T0, wording_version=WORDING).subscriber.status == "paused"
        assert resume(conn, token, T0, wording_version=WORDING).subscriber.status == "active"
        unsubscribe(conn, token, T0, wording_version=WORDING)
        with pytest.raises(SubscriberError):
            update_preferences(conn, token, [], ["kindness"], T0, wording_version=WORDING)


def test_a_token_with_another_version_changes_nothing(engine):
    with engine.begin() as conn:
        token = _active(conn)
        forged = TokenData(token.subscriber_id, token.token_version + 1)
        with pytest.raises(StaleLinkError):
            unsubscribe(conn, forged, T0, wording_version=WORDING)
        with pytest.raises(StaleLinkError):
            update_preferences(conn, forged, ["frontline-staff"], [], T0, wording_version=WORDING)
        assert subscriber_for_token(conn, token).status == "active"


# --- export and erase -----------------------------------------------------------------------------


def _add_delivery(conn, subscriber_id):
    issue_id = conn.execute(
        insert(issues)
        .values(month="2026-11", status="sent", intro="", created_at=T0, updated_at=T0)
        .returning(issues.c.id)
    ).scalar_one()
    conn.execute(
        insert(deliveries).values(
            issue_id=issue_id,
            subscriber_id=subscriber_id,
            status="sent",
            attempts=1,
            message_id="<1@example.org>",
            sent_at=T0,
        )
    )


def test_export_holds_the_record_the_whole_ledger_and_the_deliveries(engine):
    with engine.begin() as conn:
        token = _active(conn)
        pause(conn, token, T0, wording_version=WORDING)
        _add_delivery(conn, token.subscriber_id)
        data = export_subscriber(conn, "NURSE@example.org")
    parsed = json.loads(json.dumps(data))
    assert parsed["subscriber"]["email"] == EMAIL and parsed["subscriber"]["status"] == "paused"
    assert [e["action"] for e in parsed["consent_events"]] == ["opt-in", "confirm", "pause"]
    assert all(e["wording_version"] == WORDING for e in parsed["consent_events"])
    assert parsed["deliveries"] == [
        {"month": "2026-11", "status": "sent", "sent_at": T0.isoformat(), "message_id": "<1@example.org>"}
    ]


def _every_value(conn) -> str:
    """Every row of every table as text, to look for an address anywhere in the database."""
    return "\n".join(str(tuple(row)) for table in metadata.sorted_tables for row in conn.execute(select(table)))


def test_erase_leaves_nothing_with_the_address_anywhere(engine):
    with engine.begin() as conn:
        token = _active(conn)
        _active(conn, "someone.else@example.org")
        _add_delivery(conn, token.subscriber_id)
        assert EMAIL in _every_value(conn)
        erase_subscriber(conn, EMAIL)
        everything = _every_value(conn)
        assert EMAIL not in everything and "someone.else@example.org" in everything
        assert (
            conn.execute(select(consent_events).where(consent_events.c.subscriber_id == token.subscriber_id)).first()
            is None
        )
        assert conn.execute(select(deliveries)).first() is None
        with pytest.raises(StaleLinkError):
            unsubscribe(conn, token, T0, wording_version=WORDING)
        with pytest.raises(SubscriberError):
            export_subscriber(conn, EMAIL)


def test_an_erased_subscribers_links_do_not_work_for_whoever_gets_their_id(engine):
    with engine.begin() as conn:
        token = _active(conn)
        erase_subscriber(conn, EMAIL)
        newcomer = _token(_subscribe(conn, "newcomer@example.org"))
        if newcomer.subscriber_id == token.subscriber_id:  # SQLite reuses the highest rowid
            assert newcomer.token_version != token.token_version
        with pytest.raises(StaleLinkError):
            confirm(conn, token, T0, wording_version=WORDING)
        assert find_subscriber(conn, "newcomer@example.org").status == "pending"


# --- import ---------------------------------------------------------------------------------------


def test_import_adds_valid_rows_reports_bad_ones_and_leaves_known_addresses(engine, taxonomy):
    rows = [
        {"email": "one@example.org", "audiences": "frontline-staff", "themes": "kindness; compassionate-care"},
        {"email": "not an address"},
        {"email": "two@example.org", "themes": "no-such-theme"},
        {"email": EMAIL, "themes": "kindness"},  # already subscribed: untouched
        {"email": "ONE@example.org"},  # twice in the file
        {"email": "three@example.org", "audiences": None, "themes": ""},
        {"email": "four@example.org\r\nBcc: x@example.org"},
    ]
    with engine.begin() as conn:
        token = _active(conn)
        pause(conn, token, T0, wording_version=WORDING)
        report = import_csv(conn, rows, "  opted in to the old newsletter, 2024 ", T0, taxonomy=taxonomy)
        one = find_subscriber(conn, "one@example.org")
        existing = find_subscriber(conn, EMAIL)
        ledger = _ledger(conn, one.id)
        emails = {s.email for s in list_subscribers(conn)}
    assert (report.imported, report.existing) == (2, 2)
    assert [(p.line, p.reason.split(":")[0]) for p in report.invalid] == [
        (3, "Check the email address"),
        (4, "unknown themes"),
        (8, "An email address is a single line"),
    ]
    assert (one.status, one.origin, one.audiences, one.themes) == (
        "active",
        "import",
        ("frontline-staff",),
        ("compassionate-care", "kindness"),
    )
    assert (existing.status, existing.origin, existing.themes) == ("paused", "form", ())
    assert [(e["action"], e["origin"], e["wording_version"]) for e in ledger] == [("import", "import", IMPORT_WORDING)]
    assert ledger[0]["detail"]["basis"] == "opted in to the old newsletter, 2024"
    assert emails == {EMAIL, "one@example.org", "three@example.org"}


@pytest.mark.parametrize("basis", ["", "   ", "line one\nline two", "x" * 501])
def test_import_needs_a_one_line_consent_basis(engine, taxonomy, basis):
    with engine.begin() as conn, pytest.raises(SubscriberError):
        import_csv(conn, [{"email": "one@example.org"}], basis, T0, taxonomy=taxonomy)


def test_list_filters_by_status(engine):
    with engine.begin() as conn:
        _active(conn)
        _subscribe(conn, "waiting@example.org")
        assert [s.email for s in list_subscribers(conn, "pending")] == ["waiting@example.org"]
        assert [s.email for s in list_subscribers(conn, "active")] == [EMAIL]
        assert conn.execute(select(subscribers.c.email).order_by(subscribers.c.email)).scalars().all() == [
            EMAIL,
            "waiting@example.org",
        ]
