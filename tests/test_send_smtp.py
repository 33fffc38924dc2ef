"""Sending an issue to a real SMTP server (aiosmtpd on 127.0.0.1) and reading back what it received."""

from __future__ import annotations

import re

from sqlalchemy import select

from aggregator.db.schema import deliveries, issues, subscribers
from aggregator.digest.addresses import MailToken, read_address
from aggregator.digest.mail.outbox import OutboxTransport
from aggregator.digest.mail.smtp import SMTPTransport
from aggregator.digest.send import SendOptions, send_issue
from aggregator.people.tokens import Tokens
from tests.support.resources import NOW
from tests.test_send_helpers import SECRET, Sink, SinkHandler, add_subscribers, seed_issue, settings_for

NO_WAIT = SendOptions(backoff=0.0)
LINK = re.compile(r"https?://[^\s\"<>]+/(unsubscribe|preferences)/([A-Za-z0-9_.\-]+)")


def test_digests_arrive_as_valid_multipart_alternative_with_personal_links(engine, tmp_path):
    issue_id = seed_issue(engine)
    ids = add_subscribers(engine, 8)
    with Sink() as sink:
        settings = settings_for(tmp_path, **sink.smtp_settings(), connections=2)
        report = send_issue(engine, issue_id, SMTPTransport(settings.smtp), settings, options=NO_WAIT)
    assert (report.sent, report.pending, report.finished) == (8, 0, True)
    assert report.copies == 4  # one render per distinct preference combination
    assert sink.handler.copies() == {f"s{n}@example.org": 1 for n in range(8)}
    tokens = Tokens(SECRET)
    by_email = dict(zip((f"s{n}@example.org" for n in range(8)), ids))
    for received in sink.handler.messages:
        message = received.message
        (to,) = received.rcpt_tos
        assert message.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
        assert message["To"] == to
        assert message["Subject"] == "Kindness in care digest: November 2026"
        assert message["From"] == "Kindness in care digest <digest@kindness-in-care.example>"
        assert message["List-Id"] and message["Date"] and message["Message-ID"].endswith("@kindness-in-care.example>")
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        header_links = re.findall(r"<([^>]+)>", message["List-Unsubscribe"])  # unfolded by the parser
        # issue 15: the mailto and the return path name their subscriber (signed), so mail-in can act on them
        mailto = header_links[1].removeprefix("mailto:").removesuffix("?subject=unsubscribe")
        assert read_address(mailto, SECRET, ("unsubscribe@kindness-in-care.example",)) == MailToken(
            "unsubscribe", subscriber_id=by_email[to], token_version=1
        )
        assert read_address(received.mail_from, SECRET, ("bounces@kindness-in-care.example",)) == MailToken(
            "bounce", subscriber_id=by_email[to], issue_id=issue_id
        )
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert "Kindness in care digest" in text and "Unsubscribe:" in text
        found = LINK.findall(text) + LINK.findall(html) + LINK.findall(header_links[0])
        assert {purpose for purpose, _ in found} == {"unsubscribe", "preferences"}
        for purpose, token in found:
            assert tokens.read(purpose, token).subscriber_id == by_email[to]
    with engine.connect() as conn:
        assert conn.execute(select(issues.c.status).where(issues.c.id == issue_id)).scalar_one() == "sent"
        rows = conn.execute(select(deliveries.c.status, deliveries.c.message_id)).all()
    assert {r.status for r in rows} == {"sent"} and len({r.message_id for r in rows}) == 8


def test_preferences_shape_each_copy(engine, tmp_path):
    issue_id = seed_issue(engine)
    add_subscribers(engine, 4)  # s0 everything, s1 leaders, s2 kindness theme, s3 frontline + kindness
    with Sink() as sink:
        settings = settings_for(tmp_path, **sink.smtp_settings())
        # sent at a fixed time before the event (issue 15: an event past at send time has no calendar link)
        send_issue(
            engine,
            issue_id,
            SMTPTransport(settings.smtp),
            settings,
            options=NO_WAIT,
            now=lambda: NOW,
            source_names={"pslhub": "PSL hub", "nhse": "NHS England"},
        )
    texts = {m.rcpt_tos[0]: m.message.get_body(("plain",)).get_content() for m in sink.handler.messages}
    assert "Leadership guide" in texts["s0@example.org"] and "Kindness toolkit" in texts["s0@example.org"]
    assert "Leadership guide" in texts["s1@example.org"] and "Kindness toolkit" not in texts["s1@example.org"]
    assert "Kindness toolkit" in texts["s2@example.org"] and "Leadership guide" not in texts["s2@example.org"]
    assert "Also listed on NHS England" in texts["s0@example.org"]  # the partner's name, never its source id
    assert "/events/" in texts["s0@example.org"] and ".ics" in texts["s0@example.org"]


def test_temporary_failure_is_retried_and_permanent_one_bounces_without_stopping(engine, tmp_path):
    issue_id = seed_issue(engine)
    add_subscribers(engine, 5)
    handler = SinkHandler(
        refuse_once={"s1@example.org": "451 try again later"}, refuse={"s3@example.org": "550 no such user"}
    )
    with Sink(handler) as sink:
        settings = settings_for(tmp_path, **sink.smtp_settings(), hard_bounce_after=1)
        report = send_issue(engine, issue_id, SMTPTransport(settings.smtp), settings, options=NO_WAIT)
    assert (report.sent, report.bounced, report.retried, report.finished) == (4, 1, 1, True)
    assert set(handler.copies()) == {"s0@example.org", "s1@example.org", "s2@example.org", "s4@example.org"}
    with engine.connect() as conn:
        bounced = conn.execute(
            select(subscribers.c.status, subscribers.c.bounce_count).where(subscribers.c.email == "s3@example.org")
        ).one()
        failed = conn.execute(select(deliveries.c.last_error).where(deliveries.c.status == "bounced")).scalar_one()
    assert tuple(bounced) == ("bounced", 1) and failed.startswith("550")


def test_outbox_transport_writes_one_eml_per_subscriber(engine, tmp_path):
    issue_id = seed_issue(engine)
    add_subscribers(engine, 3)
    settings = settings_for(tmp_path)
    folder = settings.outbox_dir / "2026-11"
    report = send_issue(engine, issue_id, OutboxTransport(folder), settings, options=NO_WAIT)
    files = sorted(folder.glob("*.eml"))
    assert report.sent == 3 and len(files) == 3
    import email
    import email.policy

    message = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert message["Subject"] == "Kindness in care digest: November 2026"
    assert not list(folder.glob(".*.tmp"))


def test_sending_again_after_it_is_sent_sends_nothing(engine, tmp_path):
    issue_id = seed_issue(engine)
    add_subscribers(engine, 2)
    settings = settings_for(tmp_path)
    transport = OutboxTransport(tmp_path / "out")
    assert send_issue(engine, issue_id, transport, settings).sent == 2
    again = send_issue(engine, issue_id, transport, settings)
    assert (again.sent, again.finished) == (0, True)
    assert len(list((tmp_path / "out").glob("*.eml"))) == 2
