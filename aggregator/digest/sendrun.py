"""What one send of an issue shares: its options, the state its worker threads share, and its report."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from aggregator.digest.compose import Copies
from aggregator.digest.mail.base import Mailer, SendPolicy
from aggregator.digest.pacing import Throttle
from aggregator.settings import Settings


@dataclass(frozen=True, slots=True)
class SendOptions:
    batch_size: int = 200  # deliveries leased at once by each connection's worker
    lease: timedelta = timedelta(minutes=10)
    backoff: float = 2.0  # seconds before the first retry of a 4xx; doubled for each next one


@dataclass(frozen=True, slots=True)
class SendReport:
    issue_id: int
    sent: int
    skipped: int  # subscribers who left before their message went
    failed: int
    bounced: int  # refused addresses (5xx to RCPT)
    retried: int
    pending: int  # left for a resume (a stopped connection, another worker's leases)
    finished: bool  # the issue is marked sent
    errors: tuple[str, ...] = ()
    copies: int = 0  # distinct copies rendered
    parked: int = 0  # set aside after policy.park_after tries with no reply seen


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class SendRun:
    """What the worker threads share."""

    engine: Engine
    issue_id: int
    mailer: Mailer
    settings: Settings
    policy: SendPolicy
    copies: Copies
    options: SendOptions
    now: Callable[[], datetime]
    sleep: Callable[[float], None]
    throttle: Throttle
    progress: Callable[[int], None] | None
    counts: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)
    sqlite_writes: threading.Lock = field(default_factory=threading.Lock)  # see statements.SendStatements

    def count(self, key: str) -> None:
        with self.lock:
            self.counts[key] += 1
        if key == "sent" and self.progress is not None:
            self.progress(1)
