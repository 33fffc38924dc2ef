"""`aggregator mail-in`: unsubscribe mail, DSN bounces (flufl.bounce) and ARF complaints name their subscriber
by the signed addresses the digest carries, are applied once and recorded in the consent ledger; tested
against a real IMAP server (Debian's dovecot) on 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from aggregator.cli import app
from aggregator.db.schema import consent_events, subscribers
from aggregator.digest.addresses import bounce_address, read_address, unsubscribe_address
from aggregator.digest.mailin import apply_mail, read_mail
from aggregator.settings import Settings
from tests.support.imapserver import imap_server  # noqa: F401 (a fixture)
from tests.test_send_helpers import SECRET, add_subscribers

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
MAIL = Path(__file__).resolve().parent / "data" / "mailin"
BOUNCES, UNSUBSCRIBE = "bounces@kindness-in-care.example", "unsubscribe@kindness-in-care.example"
HARD = {"action": "failed", "status": "5.1.1", "code": "550 5.1.1 <x>: Recipient address rejected: User unknown"}
SOFT = {"action": "delayed", "status": "4.2.2", "code": "452 4.2.2 Mailbox full"}


def settings(**mail) -> Settings:
    return Settings(secret_key=SECRET, smtp={"hard_bounce_after": 2}, mail=mail)


def dsn(subscriber_id: int, email: str, message: str, kind: dict, issue_id: int = 1) -> bytes:
    template = (MAIL / "dsn.eml.template").read_text()
    return template.format(
        verp=bounce_address(BOUNCES, SECRET, issue_id, subscriber_id), id=message, rcpt=email, **kind
    ).encode()


def arf(subscriber_id: int, email: str, message: str) -> bytes:
    template = (MAIL / "arf-complaint.eml.template").read_text()
    return template.format(
        verp="fbl-reports@kindness-in-care.example",
        id=message,
        rcpt=email,
        mailto=unsubscribe_address(UNSUBSCRIBE, SECRET, subscriber_id, 1),
    ).encode()


def unsubscribe_mail(subscriber_id: int, email: str, message: str, version: int = 1) -> bytes:
    template = (MAIL / "unsubscribe.eml.template").read_text()
    return template.format(
        mailto=unsubscribe_address(UNSUBSCRIBE, SECRET, subscriber_id, version), id=message, rcpt=email
    ).encode()


def state(engine, subscriber_id: int) -> tuple[str, int, list[str]]:
    with engine.connect() as conn:
        row = conn.execute(
            select(subscribers.c.status, subscribers.c.bounce_count).where(subscribers.c.id == subscriber_id)
        ).one()
        ledger = (
            conn.execute(
                select(consent_events.c.action)
                .where(consent_events.c.subscriber_id == subscriber_id, consent_events.c.origin == "mail-in")
                .order_by(consent_events.c.id)
            )
            .scalars()
            .all()
        )
    return row.status, row.bounce_count, list(ledger)


def test_signed_addresses_name_their_subscriber_and_refuse_forgeries():
    verp = bounce_address(BOUNCES, SECRET, 12, 345)
    assert verp.startswith("bounces+b12-345-") and verp.endswith("@kindness-in-care.example")
    assert read_address(verp.upper().replace("BOUNCES", "bounces"), SECRET, (BOUNCES,)).subscriber_id == 345
    forged = verp.replace("-345-", "-346-")
    assert read_address(forged, SECRET, (BOUNCES,)) is None
    assert read_address(verp, "another secret", (BOUNCES,)) is None
    assert read_address(verp, SECRET, ("other@kindness-in-care.example",)) is None


@pytest.mark.parametrize(("kind", "expected"), [(HARD, "hard-bounce"), (SOFT, "soft-bounce")])
def test_read_mail_tells_bounces_apart(kind, expected):
    mail = read_mail(dsn(7, "s1@example.org", "d1", kind), settings(), SECRET)
    assert mail.kind == expected and mail.token.subscriber_id == 7 and mail.addresses == ("s1@example.org",)


def test_read_mail_finds_complaints_and_unsubscribe_requests():
    complaint = read_mail(arf(9, "s2@example.org", "c1"), settings(), SECRET)
    assert complaint.kind == "complaint" and complaint.token.subscriber_id == 9
    request = read_mail(unsubscribe_mail(4, "s3@example.org", "u1"), settings(), SECRET)
    assert request.kind == "unsubscribe" and request.token.subscriber_id == 4
    assert read_mail(b"From: a@b.example\r\nSubject: hello\r\n\r\nhi\r\n", settings(), SECRET).kind == "unknown"


def test_hard_bounces_suppress_at_the_count_soft_ones_back_off(engine):
    (sid,) = add_subscribers(engine, 1)
    config = settings()
    with engine.begin() as conn:
        for n in range(2):  # soft bounces: recorded, no count yet
            apply_mail(conn, read_mail(dsn(sid, "s0@example.org", f"soft{n}", SOFT), config, SECRET), NOW, config)
    assert state(engine, sid) == ("active", 0, ["soft-bounce", "soft-bounce"])
    with engine.begin() as conn:
        first = read_mail(dsn(sid, "s0@example.org", "hard1", HARD), config, SECRET)
        assert apply_mail(conn, first, NOW, config).changed
        assert not apply_mail(conn, first, NOW, config).changed  # the same message again: no second count
    assert state(engine, sid)[:2] == ("active", 1)
    with engine.begin() as conn:
        apply_mail(conn, read_mail(dsn(sid, "s0@example.org", "hard2", HARD, issue_id=2), config, SECRET), NOW, config)
    assert state(engine, sid) == ("bounced", 2, ["soft-bounce", "soft-bounce", "bounce", "bounce"])


def test_a_stale_unsubscribe_address_names_nobody(engine):
    (sid,) = add_subscribers(engine, 1)
    config = settings()
    with engine.begin() as conn:
        outcome = apply_mail(
            conn, read_mail(unsubscribe_mail(sid, "s0@example.org", "u1", version=99), config, SECRET), NOW, config
        )
    assert not outcome.changed and state(engine, sid) == ("active", 0, [])


def test_mail_in_reads_a_real_imap_mailbox_twice_without_double_effects(
    engine, database_url, imap_server, monkeypatch, tmp_path
):
    bounced, complained, leaving, kept = add_subscribers(engine, 4)
    for key, value in {
        "AGGREGATOR_DATABASE_URL": database_url,
        "AGGREGATOR_SECRET_KEY": SECRET,
        "AGGREGATOR_DATA_DIR": str(tmp_path / "var"),
        "AGGREGATOR_MAILIN__HOST": "127.0.0.1",
        "AGGREGATOR_MAILIN__PORT": str(imap_server.port),
        "AGGREGATOR_MAILIN__SECURITY": "none",
        "AGGREGATOR_MAILIN__USERNAME": imap_server.user,
        "AGGREGATOR_MAILIN__PASSWORD": imap_server.password,
        "AGGREGATOR_SMTP__HARD_BOUNCE_AFTER": "1",
    }.items():
        monkeypatch.setenv(key, value)
    imap_server.deliver(dsn(bounced, "s0@example.org", "bounce-1", HARD))
    imap_server.deliver(arf(complained, "s1@example.org", "complaint-1"))
    imap_server.deliver(unsubscribe_mail(leaving, "s2@example.org", "unsubscribe-1"))
    imap_server.deliver(
        b"From: someone@example.net\r\nTo: bounces@kindness-in-care.example\r\n"
        b"Subject: out of office\r\nMessage-ID: <ooo@example.net>\r\n\r\nAway until Monday.\r\n"
    )
    runner = CliRunner()
    first = runner.invoke(app, ["mail-in"])
    assert first.exit_code == 0, first.output
    assert "4 messages read" in first.output
    expected = {
        bounced: ("bounced", 1, ["bounce"]),
        complained: ("unsubscribed", 0, ["complaint"]),
        leaving: ("unsubscribed", 0, ["unsubscribe"]),
        kept: ("active", 0, []),
    }
    assert {sid: state(engine, sid) for sid in expected} == expected

    again = runner.invoke(app, ["mail-in"])  # nothing unread
    assert again.exit_code == 0 and "0 messages read" in again.output
    imap_server.mark_all_unread()  # every message read a second time: the ledger knows them
    third = runner.invoke(app, ["mail-in"])
    assert third.exit_code == 0 and "4 messages read" in third.output
    assert {sid: state(engine, sid) for sid in expected} == expected
