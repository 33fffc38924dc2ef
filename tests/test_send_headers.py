"""Headers: fetched text never becomes one (encoded-word and CR/LF titles), fixed Subject, DKIM over List-Unsubscribe."""

from __future__ import annotations

import base64
import email
import email.policy
import shutil
import subprocess
from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from aggregator.config.taxonomy import load_taxonomy
from aggregator.db.schema import resources
from aggregator.digest.issue import load_issue
from aggregator.digest.mail.outbox import OutboxTransport
from aggregator.digest.mail.smtp import SMTPTransport
from aggregator.digest.send import SendOptions, send_issue
from aggregator.digest.single import send_test
from tests.test_send_helpers import TAXONOMY_FILE, Sink, add_subscribers, seed_issue, settings_for

ENCODED_WORD = "=?utf-8?q?Hi=0ABcc:_x@example.com?="
CRLF_TITLE = "Evil\r\nBcc: y@example.com\r\nX-Injected: 1"
EXPECTED_HEADERS = {
    "From",
    "Reply-To",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "MIME-Version",
    "Content-Type",
}


@pytest.mark.parametrize("policy", [email.policy.default, email.policy.compat32])
def test_hostile_titles_never_become_headers(engine, tmp_path, policy):
    issue_id = seed_issue(engine, titles=("first hostile", "second hostile"))
    with engine.begin() as conn:  # stored as fetched, past any cleaning on the way in
        conn.execute(update(resources).where(resources.c.title == "first hostile").values(title=ENCODED_WORD))
        conn.execute(
            update(resources)
            .where(resources.c.title == "second hostile")
            .values(title=CRLF_TITLE, summary="line\r\nBcc: z@example.com")
        )
    add_subscribers(engine, 2)
    with Sink() as sink:
        settings = settings_for(tmp_path, **sink.smtp_settings())
        send_issue(engine, issue_id, SMTPTransport(settings.smtp), settings, options=SendOptions(backoff=0))
    assert len(sink.handler.messages) == 2
    for received in sink.handler.messages:
        message = email.message_from_bytes(received.data, policy=policy)
        assert set(message.keys()) == EXPECTED_HEADERS
        assert message.get_all("Bcc") is None and message.get_all("X-Injected") is None
        assert str(message["Subject"]) == "Kindness in care digest: November 2026"
        assert received.rcpt_tos == [str(message["To"])]
        parsed = email.message_from_bytes(received.data, policy=email.policy.default)
        text = parsed.get_body(("plain",)).get_content()
        assert ENCODED_WORD in text and "Evil Bcc: y@example.com X-Injected: 1" in text  # shown, as text
        for header in parsed.keys():
            assert "\n" not in str(parsed[header]) and "example.com" not in str(parsed[header]).replace(
                "kindness-in-care.example", ""
            )


def test_subject_has_the_pattern_and_month_only(engine, tmp_path):
    issue_id = seed_issue(engine)
    add_subscribers(engine, 1)
    settings = settings_for(tmp_path).model_copy(
        update={
            "mail": settings_for(tmp_path).mail.model_copy(
                update={"subject_pattern": "Digest — {month_name} {year} =?x?"}
            )
        }
    )
    send_issue(engine, issue_id, OutboxTransport(tmp_path / "out"), settings)
    (path,) = (tmp_path / "out").glob("*.eml")
    raw = path.read_bytes()
    assert raw.isascii()
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["Subject"] == "Digest — November 2026 =?x?"


def test_send_test_is_marked_and_not_recorded(engine, tmp_path):
    issue_id = seed_issue(engine)
    settings = settings_for(tmp_path)
    with engine.connect() as conn:
        content = load_issue(conn, issue_id, datetime.now(UTC))
    data = send_test(
        content,
        "editor@example.org",
        OutboxTransport(tmp_path / "out"),
        settings,
        taxonomy=load_taxonomy(TAXONOMY_FILE),
        now=datetime.now(UTC),
    )
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert message["Subject"] == "[TEST] Kindness in care digest: November 2026"
    # issue 15: a test copy links to signed preview pages (they work before the issue is sent)
    text = message.get_body(("plain",)).get_content()
    assert "/preview/" in text and "/unsubscribe/" not in text and "/archive/preview/" in text
    with engine.connect() as conn:
        from sqlalchemy import func, select

        from aggregator.db.schema import deliveries

        assert conn.execute(select(func.count()).select_from(deliveries)).scalar_one() == 0


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl makes the test key")
def test_dkim_signature_verifies_and_covers_list_unsubscribe(engine, tmp_path):
    import dkim

    key = tmp_path / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-traditional", "-out", str(key), "2048"], check=True, capture_output=True)
    public = subprocess.run(
        ["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"], check=True, capture_output=True
    ).stdout
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    issue_id = seed_issue(engine)
    add_subscribers(engine, 2)
    with Sink() as sink:
        from aggregator.settings import DKIMSettings

        settings = settings_for(tmp_path, **sink.smtp_settings()).model_copy(
            update={"dkim": DKIMSettings(domain="kindness-in-care.example", selector="digest", private_key_file=key)}
        )
        send_issue(engine, issue_id, SMTPTransport(settings.smtp), settings, options=SendOptions(backoff=0))
    asked = []

    def dnsfunc(name, timeout=5):
        asked.append(name)
        return record

    for received in sink.handler.messages:
        assert dkim.verify(received.data, dnsfunc=dnsfunc)
        signature = email.message_from_bytes(received.data, policy=email.policy.default)["DKIM-Signature"]
        signed = {h.strip().lower() for h in signature.split("h=")[1].split(";")[0].replace(" ", "").split(":")}
        assert {"from", "subject", "date", "message-id", "list-unsubscribe", "list-unsubscribe-post"} <= signed
        tampered = received.data.replace(
            b"List-Unsubscribe-Post: List-Unsubscribe=One-Click", b"List-Unsubscribe-Post: List-Unsubscribe=Two-Click"
        )
        assert not dkim.verify(tampered, dnsfunc=dnsfunc)
    assert asked and asked[0].startswith(b"digest._domainkey.kindness-in-care.example")
