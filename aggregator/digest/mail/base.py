"""What the sending code needs from a way out, whatever the transport: a Mailer that opens Sessions, the
SendPolicy that paces and retries, and the kind of a refusal (permanent, temporary, unknown)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class FailureKind(StrEnum):
    """How a refused message should be treated; the transport's own detail (an SMTP reply, an HTTP status)
    stays in the failure's text."""

    PERMANENT = "permanent"  # retrying cannot help
    TEMPORARY = "temporary"  # retry with backoff
    UNKNOWN = "unknown"  # the transport said no, in a way it does not classify: recorded, not retried


class Session(Protocol):
    """One open way out (an SMTP connection, the outbox folder, an HTTP client)."""

    def send(self, sender: str, recipient: str, data: bytes) -> None:
        """Return once the message is accepted; raise DeliveryFailure (this message refused) or
        TransportError (the way out is gone: open a new session)."""

    def close(self) -> None: ...


class Mailer(Protocol):
    """Opens sessions; built by `mail.factory.make_mailer` from the settings."""

    def open(self) -> Session: ...


@dataclass(frozen=True, slots=True)
class SendPolicy:
    """How the sending engine paces, retries and gives up, whichever transport carries the messages."""

    rate_per_second: float = 20.0  # messages per second across all sessions
    sessions: int = 2  # sessions used at once (one worker thread each)
    messages_per_session: int = 500  # reopen after this many messages
    retries: int = 3  # retries of a temporary failure or a lost session, with backoff
    attempt_timeout: float = 30.0  # the longest one try may take (bounds the lease margin)
    hard_bounce_after: int = 3  # permanent refusals of an address before it is marked bounced
    park_after: int = 3  # tries with no reply seen before a delivery is parked
