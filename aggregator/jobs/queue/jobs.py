"""The job functions of scale mode, the same whether a worker or the embedded process runs them.

Both are idempotent, so a job run twice (redelivered after a worker died, retried after an error)
does no harm: a fetch stores one source in one transaction and matches entries by key; a send batch
only sends deliveries still pending under its own lease and records each one after the server's 250.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import Engine, select

from aggregator.config.sources import SourceConfig
from aggregator.config.taxonomy import Taxonomy
from aggregator.db.schema import issues
from aggregator.digest.mail import Mailer, make_mailer
from aggregator.digest.send import SendReport, send_issue
from aggregator.errors import ConfigError
from aggregator.ingest.harvest import Fetcher
from aggregator.ingest.run import SourceOutcome, run_fetch
from aggregator.jobs.queue.budget import BUDGET_SPENT, Budget, BudgetedMailer
from aggregator.settings import Settings

logger = logging.getLogger(__name__)


@dataclass
class WorkerContext:
    """What jobs need, made once per process: settings, the engine, one fetcher, the taxonomy, source names."""

    settings: Settings
    engine: Engine
    fetcher: Fetcher
    taxonomy: Taxonomy
    source_names: Mapping[str, str]
    make_mailer: Callable[[Settings, str], Mailer] = make_mailer

    @classmethod
    def open(cls, settings: Settings) -> WorkerContext:
        """From the process's AppContext; the schema is not upgraded here (`aggregator worker` did it once)."""
        from aggregator.context import AppContext
        from aggregator.db.engine import create_db_engine

        app = AppContext.create(settings, engine=create_db_engine(settings.resolved_database_url))
        try:
            names = app.public_source_names()
        except ConfigError:  # a worker can send without sources.yaml; messages then show source ids
            names = {}
        return cls(settings, app.engine, app.fetcher(), app.taxonomy(), names)

    def close(self) -> None:
        close = getattr(self.fetcher, "close", None)
        if close is not None:
            close()
        self.engine.dispose()


class LazyContext:
    """A WorkerContext made on first use in the process that uses it (after the worker forked, never before)."""

    def __init__(self, make: Callable[[], WorkerContext]) -> None:
        self._make = make
        self._context: WorkerContext | None = None
        self._lock = threading.Lock()

    def __call__(self) -> WorkerContext:
        with self._lock:
            if self._context is None:
                self._context = self._make()
            return self._context


@dataclass(frozen=True, slots=True)
class BatchReport:
    """What one send job did; `more` says the job spent its budget while deliveries were still pending."""

    issue_id: int
    sent: int
    skipped: int
    failed: int
    bounced: int
    pending: int
    finished: bool
    budget_spent: bool
    errors: tuple[str, ...] = field(default=())

    @property
    def more(self) -> bool:
        return self.budget_spent and not self.finished and self.pending > 0


def fetch_source(context: WorkerContext, config: SourceConfig) -> SourceOutcome:
    """Fetch and store one source: run_fetch over that source alone (its own transaction)."""
    [outcome] = run_fetch(context.settings, [config], context.engine, context.fetcher)
    logger.info("fetched source: %s", outcome.outcome, extra={"source_id": config.id, "count": outcome.seen})
    return outcome


def send_batch(context: WorkerContext, issue_id: int, max_messages: int | None, worker_id: str) -> BatchReport:
    """Send up to `max_messages` pending messages of an issue (all of them when None) under `worker_id`.

    A job redelivered after its worker died runs under the same worker_id and so takes back that
    worker's leases at once, instead of waiting for them to expire.
    """
    with context.engine.connect() as conn:
        month = conn.execute(select(issues.c.month).where(issues.c.id == issue_id)).scalar_one()
    mailer = context.make_mailer(context.settings, month)
    budget = Budget(max_messages) if max_messages is not None else None
    report: SendReport = send_issue(
        context.engine,
        issue_id,
        BudgetedMailer(mailer, budget) if budget else mailer,
        context.settings,
        worker_id=worker_id,
        taxonomy=context.taxonomy,
        source_names=context.source_names,
        **({"sleep": budget.sleep} if budget else {}),
    )
    errors = tuple(e for e in report.errors if BUDGET_SPENT not in e)
    logger.info(
        "send batch done: %d sent, %d pending",
        report.sent,
        report.pending,
        extra={"issue_id": issue_id, "count": report.sent},
    )
    return BatchReport(
        issue_id,
        report.sent,
        report.skipped,
        report.failed,
        report.bounced,
        report.pending,
        report.finished,
        budget is not None and budget.is_spent,
        errors,
    )
