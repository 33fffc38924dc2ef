"""Running a scheduler until Ctrl-C or a service manager's SIGTERM, then letting the jobs in flight finish.

The stop signals are blocked in this thread before the scheduler starts its threads (which inherit the
mask) and then taken synchronously with `signal.sigwait`. A process-directed signal is otherwise delivered
to whichever thread the kernel picks: when that is a job's thread, CPython only runs the handler once the
main thread wakes, which in a scheduler's wait can be a minute later (seen as a scheduler that ignored
Ctrl-C on a busy machine).
"""

from __future__ import annotations

import logging
import signal

from apscheduler.schedulers.background import BackgroundScheduler

logger = logging.getLogger(__name__)
STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})


def run_until_stopped(scheduler: BackgroundScheduler, *, wait: bool = True) -> signal.Signals:
    """Start `scheduler`, block until SIGINT or SIGTERM arrives, then shut it down (with `wait`, after the
    jobs running at that moment end; none starts meanwhile). Returns the signal that stopped it."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        scheduler.start()
        try:
            received = signal.Signals(signal.sigwait(STOP_SIGNALS))
        finally:
            logger.info("scheduler stopping: letting the jobs in flight finish")
            scheduler.shutdown(wait=wait)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    return received
