"""A mailer that lets one send job send at most N messages, so that an issue is cut into bounded jobs.

send_issue has no "at most N" option; this wraps the transport instead of changing the engine. Once
the budget is spent every send and open raises BatchBudgetSpent (a TransportError): the engine then
stops that connection, releases the rows it had leased at once, and the next job takes them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from aggregator.digest.errors import TransportError
from aggregator.digest.mail.base import Mailer, Session

BUDGET_SPENT = "this send job's share of messages is sent; the rest is left to the next job"


class BatchBudgetSpent(TransportError):
    """Not a failure: the job sent its N messages."""


class Budget:
    """N sends, shared by the engine's connection threads."""

    def __init__(self, messages: int, sleep: Callable[[float], None] = time.sleep) -> None:
        self._left = messages
        self._lock = threading.Lock()
        self._sleep = sleep

    def take(self) -> bool:
        with self._lock:
            if self._left <= 0:
                return False
            self._left -= 1
            return True

    @property
    def is_spent(self) -> bool:
        with self._lock:
            return self._left <= 0

    def sleep(self, seconds: float) -> None:
        """The engine's back-off sleep, skipped once the budget is spent (its 'retries' would be pointless)."""
        if not self.is_spent:
            self._sleep(seconds)


class BudgetedMailer:
    """Wraps a Mailer; its sessions refuse to send once the shared budget is spent."""

    def __init__(self, mailer: Mailer, budget: Budget) -> None:
        self._mailer, self._budget = mailer, budget

    def open(self) -> Session:
        if self._budget.is_spent:
            raise BatchBudgetSpent(BUDGET_SPENT)
        return _BudgetedSession(self._mailer.open(), self._budget)


class _BudgetedSession:
    def __init__(self, session: Session, budget: Budget) -> None:
        self._session, self._budget = session, budget

    def send(self, sender: str, recipient: str, data: bytes) -> None:
        if not self._budget.take():
            raise BatchBudgetSpent(BUDGET_SPENT)
        self._session.send(sender, recipient, data)

    def close(self) -> None:
        self._session.close()
