"""The way out as the sending engine uses it: the Mailer and Session it needs, connections reused and reopened,
and one throttle pacing them all."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

from aggregator.digest.errors import TransportError
from aggregator.digest.message import envelope_sender
from aggregator.settings import Settings


class Session(Protocol):
    """One open way out (an SMTP connection, the outbox folder)."""

    def send(self, sender: str, recipient: str, data: bytes) -> None:
        """Return after the server accepted (250); raise DeliveryFailure or TransportError."""

    def close(self) -> None: ...


class Mailer(Protocol):
    def open(self) -> Session: ...


class Throttle:
    """Spaces messages 1/rate seconds apart across all connections."""

    def __init__(self, rate: float, clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
        self._interval, self._clock, self._sleep = 1.0 / rate, clock, sleep
        self._next = clock()
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self._interval
        if slot > now:
            self._sleep(slot - now)


class PacedConnection:
    """A session reopened when it broke or after messages_per_connection messages, paced by the throttle."""

    def __init__(self, mailer: Mailer, settings: Settings, throttle: Throttle) -> None:
        self._mailer, self._settings, self._throttle = mailer, settings, throttle
        self._session: Session | None = None
        self._used = 0
        self._sender = envelope_sender(settings)

    def send(self, recipient: str, data: bytes, sender: str | None = None) -> None:
        if self._session is not None and self._used >= self._settings.smtp.messages_per_connection:
            self.close()
        if self._session is None:
            self._session = self._mailer.open()
            self._used = 0
        self._throttle.wait()
        self._used += 1
        self._session.send(sender or self._sender, recipient, data)

    def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            try:
                session.close()
            except (TransportError, OSError):
                pass
