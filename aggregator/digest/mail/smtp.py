"""SMTP as a Mailer: STARTTLS/TLS, login, one connection per session; replies mapped to failure kinds."""

from __future__ import annotations

import logging
import smtplib
import ssl

from aggregator.digest.errors import DeliveryFailure, SenderRefusedError, TransportError, UnconfirmedError
from aggregator.digest.mail.base import FailureKind
from aggregator.settings import SMTPSettings

logger = logging.getLogger(__name__)


class _BodyTracking:
    """Notes when a message's body has gone out in full: a connection lost after that leaves its fate unknown."""

    body_sent = False
    _data_replies: int | None = None

    def data(self, msg):  # type: ignore[no-untyped-def]
        self.body_sent, self._data_replies = False, 0
        try:
            return super().data(msg)  # type: ignore[misc]
        finally:
            self._data_replies = None

    def getreply(self):  # type: ignore[no-untyped-def]
        if self._data_replies is not None:  # smtplib's data(): the reply to DATA (354), then the one to the body
            self._data_replies += 1
            self.body_sent = self._data_replies == 2
        return super().getreply()  # type: ignore[misc]


class _Client(_BodyTracking, smtplib.SMTP):
    pass


class _TLSClient(_BodyTracking, smtplib.SMTP_SSL):
    pass


class SMTPSession:
    """One open SMTP connection; `send` raises DeliveryFailure for a refused message and TransportError
    when the connection is gone (open a new session then)."""

    def __init__(self, client: smtplib.SMTP) -> None:
        self._client = client

    def send(self, sender: str, recipient: str, data: bytes) -> None:
        try:
            self._send(sender, recipient, data)
        except TransportError as exc:
            if getattr(self._client, "body_sent", False):
                raise UnconfirmedError(
                    f"{exc.message}, after the message's body went out (it may have been delivered)", hint=exc.hint
                ) from None
            raise

    def _send(self, sender: str, recipient: str, data: bytes) -> None:
        try:
            self._client.sendmail(sender, [recipient], data)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            raise _refused(code, reply, recipient_refused=code >= 500) from None
        except smtplib.SMTPSenderRefused as exc:
            if 400 <= exc.smtp_code < 500:
                raise _refused(exc.smtp_code, exc.smtp_error) from None
            raise SenderRefusedError(
                f"the server refused the sender {sender}: {exc.smtp_code} {_text(exc.smtp_error)}"
            ) from None
        except smtplib.SMTPServerDisconnected as exc:
            raise TransportError(f"the mail server closed the connection: {exc}") from None
        except smtplib.SMTPResponseException as exc:  # SMTPDataError and the rest carry a reply code
            raise _refused(exc.smtp_code, exc.smtp_error) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise TransportError(f"sending failed: {type(exc).__name__}: {exc}") from None

    def close(self) -> None:
        try:
            self._client.quit()
        except (OSError, smtplib.SMTPException):
            self._client.close()


class SMTPTransport:
    """Opens SMTP sessions as the settings say (host, port, starttls|tls|none, optional login)."""

    def __init__(self, smtp: SMTPSettings) -> None:
        if not smtp.host:
            raise TransportError(
                "no SMTP host configured",
                hint="set AGGREGATOR_SMTP__HOST, or leave it empty to write the outbox folder",
            )
        self._smtp = smtp

    def open(self) -> SMTPSession:
        smtp = self._smtp
        context = ssl.create_default_context() if smtp.security != "none" else None  # 40 ms each: only when used
        try:
            if smtp.security == "tls":
                client: smtplib.SMTP = _TLSClient(smtp.host, smtp.port, timeout=smtp.timeout, context=context)
            else:
                client = _Client(smtp.host, smtp.port, timeout=smtp.timeout)
                if smtp.security == "starttls":
                    client.starttls(context=context)
            client.ehlo_or_helo_if_needed()
            if smtp.username:
                client.login(smtp.username, smtp.password.get_secret_value() if smtp.password else "")
        except smtplib.SMTPAuthenticationError as exc:
            raise TransportError(
                f"the mail server refused the login: {exc.smtp_code} {_text(exc.smtp_error)}",
                hint="check AGGREGATOR_SMTP__USERNAME and AGGREGATOR_SMTP__PASSWORD",
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise TransportError(
                f"the mail server does not support {smtp.security}: {exc}",
                hint="set AGGREGATOR_SMTP__SECURITY to what the server offers",
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise TransportError(f"cannot connect to {smtp.host}:{smtp.port}: {type(exc).__name__}: {exc}") from None
        return SMTPSession(client)


def _refused(code: int, reply: bytes | str, *, recipient_refused: bool = False) -> DeliveryFailure:
    """A refusal in transport-neutral terms (RFC 5321 4.2.1: 4yz transient, 5yz permanent); the reply stays as text."""
    if 400 <= code < 500:
        kind = FailureKind.TEMPORARY
    elif 500 <= code < 600:
        kind = FailureKind.PERMANENT
    else:
        kind = FailureKind.UNKNOWN
    return DeliveryFailure(f"{code} {_text(reply)}", kind=kind, recipient_refused=recipient_refused)


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
