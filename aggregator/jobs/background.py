"""Sends started from the web app: the sending engine in a daemon thread, one per issue in this process, that
stops when an editor pauses the send (from any process: the pause is read from the database)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime

from sqlalchemy import Engine

from aggregator.config.taxonomy import Taxonomy
from aggregator.digest.errors import TransportError
from aggregator.digest.mail.factory import make_mailer as make_transport
from aggregator.digest.send import Mailer, SendReport, Session, send_issue
from aggregator.digest.sending import is_paused, send_progress
from aggregator.settings import Settings

logger = logging.getLogger(__name__)
PAUSED = "an editor paused this send; the rest waits for a resume"


class SendPaused(TransportError):
    """Not a failure: the engine stops the connection and gives its leased deliveries back at once."""

    hint = "resume it on the issue's sending page"


class PauseWatch:
    """Whether the issue's send is paused, read from the database at most every `interval` seconds."""

    def __init__(
        self,
        engine: Engine,
        issue_id: int,
        interval: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._engine, self._issue_id, self._interval, self._clock, self._sleep = (
            engine,
            issue_id,
            interval,
            clock,
            sleep,
        )
        self._lock = threading.Lock()
        self._seen_at = float("-inf")
        self._paused = False

    def is_paused(self) -> bool:
        with self._lock:
            if not self._paused and self._clock() - self._seen_at >= self._interval:
                with self._engine.connect() as conn:
                    self._paused = is_paused(conn, self._issue_id)
                self._seen_at = self._clock()
            return self._paused

    def pause(self) -> None:
        """Paused in this process: stop at once, without waiting for the next look at the database."""
        with self._lock:
            self._paused = True

    def sleep(self, seconds: float) -> None:
        """The engine's back-off sleep, skipped once paused (its retries would only raise SendPaused again)."""
        if not self.is_paused():
            self._sleep(seconds)


class PausableMailer:
    """Wraps a Mailer: once the watch says paused, opening or sending raises SendPaused."""

    def __init__(self, mailer: Mailer, watch: PauseWatch) -> None:
        self._mailer, self._watch = mailer, watch

    def open(self) -> Session:
        if self._watch.is_paused():
            raise SendPaused(PAUSED)
        return _PausableSession(self._mailer.open(), self._watch)


class _PausableSession:
    def __init__(self, session: Session, watch: PauseWatch) -> None:
        self._session, self._watch = session, watch

    def send(self, sender: str, recipient: str, data: bytes) -> None:
        if self._watch.is_paused():
            raise SendPaused(PAUSED)
        self._session.send(sender, recipient, data)

    def close(self) -> None:
        self._session.close()


class BackgroundSender:
    """Starts and tracks the web app's sends; `start` is idempotent while a send of that issue runs here."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        taxonomy: Taxonomy,
        source_names: Mapping[str, str],
        make_mailer: Callable[[Settings, str], Mailer] = make_transport,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self._engine, self._settings, self._taxonomy, self._names = engine, settings, taxonomy, source_names
        self._make_mailer, self._now = make_mailer, now
        self._threads: dict[int, threading.Thread] = {}
        self._reports: dict[int, SendReport] = {}
        self._watches: dict[int, PauseWatch] = {}
        self._lock = threading.Lock()

    def start(self, issue_id: int) -> bool:
        """Run the send of `issue_id` (already moved to sending) in a thread; False when one runs already."""
        with self._lock:
            running = self._threads.get(issue_id)
            if running is not None and running.is_alive():
                return False
            thread = threading.Thread(target=self._run, args=(issue_id,), name=f"web-send-{issue_id}", daemon=True)
            self._threads[issue_id] = thread
            thread.start()
            return True

    def pause(self, issue_id: int) -> None:
        """Tell this process's send of the issue, if any, that it was paused (others see it in the database)."""
        watch = self._watches.get(issue_id)
        if watch is not None:
            watch.pause()

    def is_running(self, issue_id: int) -> bool:
        with self._lock:
            thread = self._threads.get(issue_id)
            return thread is not None and thread.is_alive()

    def last_errors(self, issue_id: int) -> tuple[str, ...]:
        """What stopped this process's last send of the issue (a pause is not an error)."""
        report = self._reports.get(issue_id)
        return tuple(e for e in report.errors if PAUSED not in e) if report else ()

    def join(self, issue_id: int, timeout: float | None = None) -> None:
        thread = self._threads.get(issue_id)
        if thread is not None:
            thread.join(timeout)

    def _run(self, issue_id: int) -> None:
        try:
            with self._engine.connect() as conn:
                month = send_progress(conn, issue_id).month
            watch = self._watches[issue_id] = PauseWatch(self._engine, issue_id)
            extra = {"now": self._now} if self._now else {}
            report = send_issue(
                self._engine,
                issue_id,
                PausableMailer(self._make_mailer(self._settings, month), watch),
                self._settings,
                taxonomy=self._taxonomy,
                source_names=self._names,
                sleep=watch.sleep,
                **extra,
            )
        except Exception:  # a daemon thread's exception would vanish: log it for the operator
            logger.exception("the web app's send stopped", extra={"issue_id": issue_id})
            return
        self._reports[issue_id] = report
        logger.info(
            "web send done: %d sent, %d pending",
            report.sent,
            report.pending,
            extra={"issue_id": issue_id, "count": report.sent},
        )
