"""Errors of the digest and its sending, in the aggregator's one hierarchy, each with a fix-it hint."""

from __future__ import annotations

from aggregator.digest.mail.base import FailureKind
from aggregator.errors import AggregatorError


class MailError(AggregatorError):
    """Base of the errors of building and sending mail."""

    hint = "check the AGGREGATOR_MAIL__* and AGGREGATOR_SMTP__* settings"


class AddressError(MailError):
    """An address that cannot be put into a header as it is (line breaks, or not-ASCII local part)."""

    hint = "the address is skipped; correct it in the subscriber list"


class TransportError(MailError):
    """The mail server could not be reached, refused the login, or dropped the connection."""

    hint = (
        "check AGGREGATOR_SMTP__HOST, PORT, SECURITY, USERNAME and PASSWORD; the send resumes where it "
        "stopped when `aggregator issue send` is run again"
    )


class UnconfirmedError(TransportError):
    """The connection was lost after the message's body went out and before the server's reply: it may
    have been delivered (RFC 5321 6.1 leaves the sender no way to know)."""


class DeliveryFailure(MailError):
    """The way out refused one message. `kind` says whether to retry; the message keeps the transport's own
    detail (an SMTP reply such as "450 mailbox busy")."""

    def __init__(self, message: str, *, kind: FailureKind, recipient_refused: bool = False) -> None:
        super().__init__(message)
        self.kind = kind
        self.recipient_refused = recipient_refused  # the address itself is bad (a bounce)

    @property
    def is_temporary(self) -> bool:
        return self.kind is FailureKind.TEMPORARY


class SenderRefusedError(TransportError):
    """The server refused our From address (MAIL FROM): nothing can be sent until that is fixed."""

    hint = "check AGGREGATOR_MAIL__FROM_ADDRESS: the mail server must allow sending from it"


class SendStateError(MailError):
    """The issue is not in a state that can be sent (a draft, or unknown)."""

    hint = "approve the issue first (composition screen), then run `aggregator issue send`"
