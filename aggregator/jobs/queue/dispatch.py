"""Cutting work into jobs and handing them to a Dispatcher: the queue in scale mode, this process otherwise."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from urllib.parse import urlsplit

from sqlalchemy import Engine

from aggregator.config.sources import SourceConfig
from aggregator.digest import deliveries as store
from aggregator.ingest.run import run_fetch
from aggregator.jobs.queue.jobs import WorkerContext, send_batch
from aggregator.model import DeliveryStatus, IssueStatus


@dataclass(frozen=True, slots=True)
class FetchJob:
    """One source to fetch, `delay` seconds from now (sources of one host are spaced by per_host_delay)."""

    config: SourceConfig
    delay: float = 0.0


@dataclass(frozen=True, slots=True)
class SendPlan:
    """An issue's send cut into `batches` jobs of up to `batch_size` messages."""

    issue_id: int
    pending: int
    batches: int
    batch_size: int


class Dispatcher(Protocol):
    """Runs or enqueues jobs; the enqueue commands and the scheduler are its users."""

    def fetch(self, jobs: Sequence[FetchJob]) -> None: ...

    def send(self, plan: SendPlan) -> None: ...


def plan_fetch(configs: Sequence[SourceConfig], per_host_delay: float) -> list[FetchJob]:
    """A job per enabled source. Workers do not share the fetcher's per-host pacing, so the k-th source
    of a host starts k x per_host_delay seconds after the first: one host is not hit by every worker at once."""
    seen: dict[str, int] = defaultdict(int)
    jobs = []
    for config in configs:
        if not config.enabled:
            continue
        host = urlsplit(config.url).netloc.lower()
        jobs.append(FetchJob(config, seen[host] * per_host_delay))
        seen[host] += 1
    return jobs


def plan_send(engine: Engine, issue_id: int, batch_size: int, now: datetime) -> SendPlan:
    """Start sending (approved -> sending, a pending delivery per active subscriber; nothing if already
    started) and cut what is pending into ceil(pending / batch_size) jobs. An issue sending with nothing
    pending still gets one job, which marks it sent; a sent issue gets none."""
    with engine.begin() as conn:
        status = store.start_sending(conn, issue_id, now)
        pending = store.count_by_status(conn, issue_id).get(DeliveryStatus.PENDING, 0)
    if status == IssueStatus.SENT:
        return SendPlan(issue_id, 0, 0, batch_size)
    return SendPlan(issue_id, pending, max(1, math.ceil(pending / batch_size)), batch_size)


class InProcessDispatcher:
    """The embedded default: the same job functions, run here and now, no broker.

    Fetching runs all sources through one run_fetch (hosts in parallel, one transaction per source);
    sending runs the whole issue in one send_issue call, as `aggregator issue send` does.
    """

    def __init__(self, context: WorkerContext, worker_id: str = "in-process") -> None:
        self._context, self._worker_id = context, worker_id

    def fetch(self, jobs: Sequence[FetchJob]) -> None:
        context = self._context
        run_fetch(context.settings, [job.config for job in jobs], context.engine, context.fetcher)

    def send(self, plan: SendPlan) -> None:
        if plan.batches:
            send_batch(self._context, plan.issue_id, None, self._worker_id)
