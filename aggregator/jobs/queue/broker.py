"""Dramatiq on RabbitMQ: the broker, the two actors and the queue Dispatcher, built from values (no globals).

Why RabbitMQ: a message is acknowledged only after its actor returns, so when a worker dies (even by
SIGKILL) the broker sees its connection close and at once hands its unacknowledged messages to
another worker. Dramatiq's Redis broker gives them back only after a heartbeat timeout.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.middleware import CurrentMessage

from aggregator.config.sources import SourceConfig
from aggregator.errors import AggregatorError
from aggregator.jobs.queue import jobs
from aggregator.jobs.queue.config import QueueSettings
from aggregator.jobs.queue.dispatch import FetchJob, SendPlan

logger = logging.getLogger(__name__)
FETCH_TIME_LIMIT_MS = 10 * 60_000  # a source: total_deadline per request, a few pages at most
SEND_TIME_LIMIT_MS = 60 * 60_000  # a batch at the per-job rate; keep batches far below this (see config.py)


class BatchIncomplete(AggregatorError):
    """A send job stopped on an error (relay down, refused sender); its deliveries stay pending for the retry."""

    hint = "check the SMTP settings and the relay; the job is retried with back-off"


def make_broker(queue: QueueSettings) -> RabbitmqBroker:
    """A RabbitMQ broker with publisher confirms (an enqueued job is on the broker when send() returns)."""
    broker = RabbitmqBroker(url=queue.broker_url, confirm_delivery=True)
    broker.add_middleware(CurrentMessage())
    return broker


@dataclass(frozen=True, slots=True)
class Actors:
    fetch: dramatiq.Actor
    send: dramatiq.Actor


def declare_actors(broker: dramatiq.Broker, queue: QueueSettings, context: Callable[[], jobs.WorkerContext]) -> Actors:
    """The fetch and send actors on `broker`; `context` is only called when a worker runs a job."""

    def fetch_source(config: dict) -> None:
        jobs.fetch_source(context(), SourceConfig.model_validate(config))

    def send_batch(issue_id: int, max_messages: int) -> None:
        message = CurrentMessage.get_current_message()
        # the job's identity, not the process's: a redelivered job takes back its dead worker's leases
        worker_id = f"job-{message.message_id}" if message else "job-unknown"
        report = jobs.send_batch(context(), issue_id, max_messages, worker_id)
        if report.errors:
            raise BatchIncomplete("; ".join(report.errors))
        if report.more:  # retries of 4xx answers spent budget: one more job drains what is left
            send.send(issue_id, max_messages)

    fetch = dramatiq.actor(
        fetch_source,
        broker=broker,
        actor_name="fetch_source",
        queue_name=queue.fetch_queue,
        max_retries=5,
        min_backoff=2_000,
        max_backoff=300_000,
        time_limit=FETCH_TIME_LIMIT_MS,
    )
    send = dramatiq.actor(
        send_batch,
        broker=broker,
        actor_name="send_batch",
        queue_name=queue.send_queue,
        max_retries=10,
        min_backoff=5_000,
        max_backoff=600_000,
        time_limit=SEND_TIME_LIMIT_MS,
    )
    return Actors(fetch, send)


class QueueDispatcher:
    """Enqueues jobs on the broker: one message per source, ceil(pending / N) messages per issue."""

    def __init__(self, actors: Actors) -> None:
        self._actors = actors

    def fetch(self, jobs_: Sequence[FetchJob]) -> None:
        for job in jobs_:
            self._actors.fetch.send_with_options(
                args=(source_message(job.config),), delay=int(job.delay * 1000) or None
            )

    def send(self, plan: SendPlan) -> None:
        for _ in range(plan.batches):
            self._actors.send.send(plan.issue_id, plan.batch_size)


def source_message(config: SourceConfig) -> dict:
    """The source as JSON for a message (the interval in seconds: sources.yaml's parser reads that back)."""
    return {**config.model_dump(mode="json"), "interval": config.interval.total_seconds()}


def _no_context() -> jobs.WorkerContext:
    raise RuntimeError("jobs run in `aggregator worker`, not in the process that enqueues them")


def open_queue_dispatcher(queue: QueueSettings) -> tuple[QueueDispatcher, dramatiq.Broker]:
    """A dispatcher on its own broker connection (close the broker when done)."""
    broker = make_broker(queue)
    return QueueDispatcher(declare_actors(broker, queue, _no_context)), broker
