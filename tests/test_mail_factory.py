"""The one mail factory and the transport-neutral failure kinds: SMTP replies mapped, outbox by default."""

from __future__ import annotations

import smtplib

import pytest

from aggregator.digest.errors import DeliveryFailure
from aggregator.digest.mail import FailureKind, SendPolicy, make_mailer, send_policy
from aggregator.digest.mail.outbox import OutboxTransport
from aggregator.digest.mail.smtp import SMTPSession, SMTPTransport
from aggregator.settings import Settings


def test_no_smtp_host_means_the_outbox_subfolder(tmp_path):
    mailer = make_mailer(Settings(data_dir=tmp_path), "confirmations")
    assert isinstance(mailer, OutboxTransport)
    assert mailer.folder == tmp_path / "outbox" / "confirmations"


def test_an_smtp_host_means_smtp(tmp_path):
    assert isinstance(make_mailer(Settings(data_dir=tmp_path, smtp={"host": "mail.example"}), "2026-11"), SMTPTransport)


def test_the_send_policy_comes_from_the_settings(tmp_path):
    settings = Settings(data_dir=tmp_path, smtp={"rate_per_second": 5, "connections": 3, "retries": 1, "park_after": 2})
    policy = send_policy(settings)
    assert policy == SendPolicy(
        rate_per_second=5, sessions=3, messages_per_session=500, retries=1, attempt_timeout=30.0, park_after=2
    )


class _Refusing:
    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def sendmail(self, *args):
        raise self.exc


@pytest.mark.parametrize(
    ("exc", "kind", "refused", "text"),
    [
        (
            smtplib.SMTPRecipientsRefused({"a@x": (550, b"no such user")}),
            FailureKind.PERMANENT,
            True,
            "550 no such user",
        ),
        (smtplib.SMTPRecipientsRefused({"a@x": (450, b"busy")}), FailureKind.TEMPORARY, False, "450 busy"),
        (smtplib.SMTPDataError(554, b"spam"), FailureKind.PERMANENT, False, "554 spam"),
        (smtplib.SMTPDataError(421, b"later"), FailureKind.TEMPORARY, False, "421 later"),
        (smtplib.SMTPDataError(399, b"odd"), FailureKind.UNKNOWN, False, "399 odd"),
        (smtplib.SMTPSenderRefused(451, b"try again", "me@x"), FailureKind.TEMPORARY, False, "451 try again"),
    ],
)
def test_smtp_replies_become_failure_kinds_with_the_reply_kept_as_text(exc, kind, refused, text):
    session = SMTPSession(_Refusing(exc))
    with pytest.raises(DeliveryFailure) as raised:
        session.send("me@x", "a@x", b"data")
    assert raised.value.kind is kind
    assert raised.value.is_temporary is (kind is FailureKind.TEMPORARY)
    assert raised.value.recipient_refused is refused
    assert str(raised.value).startswith(text)
