"""The way out as the sending engine uses it: sessions reused and reopened as the SendPolicy says, and one
throttle pacing them all."""

from __future__ import annotations

import threading
from collections.abc import Callable

from aggregator.digest.errors import TransportError
from aggregator.digest.mail.base import Mailer, SendPolicy, Session


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
    """A session reopened when it broke or after policy.messages_per_session messages, paced by the throttle;
    `sender` is the envelope sender used when a message names none."""

    def __init__(self, mailer: Mailer, policy: SendPolicy, throttle: Throttle, sender: str) -> None:
        self._mailer, self._policy, self._throttle = mailer, policy, throttle
        self._session: Session | None = None
        self._used = 0
        self._sender = sender

    def send(self, recipient: str, data: bytes, sender: str | None = None) -> None:
        if self._session is not None and self._used >= self._policy.messages_per_session:
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
