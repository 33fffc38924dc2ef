"""Scale mode commands: `aggregator worker` (Dramatiq worker processes) and `aggregator enqueue ...`."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from aggregator.settings import Settings

from aggregator.cli.base import app, app_ctx, console, open_database

enqueue_app = typer.Typer(
    help="Put fetch and send jobs on the queue for `aggregator worker` (scale mode), "
    "or run the same jobs here with --in-process.",
    no_args_is_help=True,
)
app.add_typer(enqueue_app, name="enqueue")

IN_PROCESS = typer.Option(False, "--in-process", help="Run the jobs in this process instead (no broker).")


@app.command()
def worker(
    processes: int = typer.Option(2, "--processes", "-p", min=1, help="Worker processes."),
    threads: int = typer.Option(4, "--threads", "-t", min=1, help="Jobs run at once by each process."),
    queue: list[str] | None = typer.Option(
        None, "--queue", "-q", help="Only these queues: fetch and/or send (repeatable)."
    ),
) -> None:
    """Run queue workers (scale mode: PostgreSQL + RabbitMQ at AGGREGATOR_BROKER_URL); start one per machine."""
    from aggregator.jobs.queue.config import QueueSettings

    names = QueueSettings()
    queues = {"fetch": names.fetch_queue, "send": names.send_queue}
    for name in queue or ():
        if name not in queues:
            raise typer.BadParameter(f"{name!r}: the queues are fetch and send", param_hint="--queue")
    open_database(app_ctx().settings).dispose()  # upgrade the schema once, before the processes start
    argv = [
        sys.executable,
        "-m",
        "dramatiq",
        "aggregator.jobs.queue.worker:broker",
        "--processes",
        str(processes),
        "--threads",
        str(threads),
        "--worker-shutdown-timeout",
        "60000",
    ]
    if queue:
        argv += ["--queues", *(queues[name] for name in queue)]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, argv)  # signals (SIGTERM from systemd) go straight to dramatiq's supervisor


@enqueue_app.command("fetch")
def enqueue_fetch(
    source: list[str] | None = typer.Option(None, "--source", "-s", help="Only this source id (repeatable)."),
    in_process: bool = IN_PROCESS,
) -> None:
    """One fetch job per enabled source (sources of one host spaced by the per-host delay)."""
    from aggregator.jobs.queue.dispatch import plan_fetch

    settings = app_ctx().settings
    sources_file = app_ctx().sources_file()
    configs = [sources_file.get(s) for s in source] if source else list(sources_file.sources)
    jobs = plan_fetch(configs, settings.fetch.per_host_delay)
    with _OpenDispatcher(settings, in_process) as dispatcher:
        dispatcher.fetch(jobs)
    console.print(f"{'ran' if in_process else 'enqueued'} {len(jobs)} fetch jobs")


@enqueue_app.command("send")
def enqueue_send(
    issue: int = typer.Option(..., "--issue", help="The approved (or sending) issue's id."),
    batch: int | None = typer.Option(None, "--batch", min=1, help="Messages per job; default AGGREGATOR_SEND_BATCH."),
    in_process: bool = IN_PROCESS,
    allow_insecure_links: bool = typer.Option(
        False, "--allow-insecure-links", help="Send through SMTP even though AGGREGATOR_BASE_URL is not https://."
    ),
) -> None:
    """Start sending an issue and enqueue ceil(pending / batch) send jobs (run again to resume: idempotent)."""
    from aggregator.cli.delivery import require_https_links
    from aggregator.ingest.run import utcnow
    from aggregator.jobs.queue.config import QueueSettings
    from aggregator.jobs.queue.dispatch import plan_send

    settings = app_ctx().settings
    require_https_links(settings, allow_insecure=allow_insecure_links)
    plan = plan_send(app_ctx().engine, issue, batch or QueueSettings().send_batch, utcnow())
    with _OpenDispatcher(settings, in_process) as dispatcher:
        dispatcher.send(plan)
    console.print(
        f"issue {issue}: {plan.pending} pending; {'ran' if in_process else 'enqueued'} "
        f"{plan.batches} send job(s) of up to {plan.batch_size}"
    )


@enqueue_app.command("schedule")
def enqueue_schedule() -> None:
    """The single scheduler of scale mode: enqueue due fetch jobs every minute, prepare the draft on its day."""
    from aggregator.jobs.queue.broker import open_queue_dispatcher
    from aggregator.jobs.queue.config import QueueSettings
    from aggregator.jobs.queue.scheduler import make_queue_scheduler
    from aggregator.jobs.schedule import TransportNotifier, scheduler_lock
    from aggregator.jobs.stopping import run_until_stopped

    settings = app_ctx().settings
    engine = app_ctx().engine
    configs = app_ctx().sources()
    dispatcher, broker = open_queue_dispatcher(QueueSettings())
    try:
        with scheduler_lock(engine, settings):
            # the sources are asked for at each look: an edited sources.yaml is followed without a restart
            scheduler = make_queue_scheduler(
                engine, settings, app_ctx().sources, dispatcher, TransportNotifier(settings)
            )
            console.print(f"scheduling {len(configs)} sources onto the queue (Ctrl+C to stop)")
            run_until_stopped(scheduler, wait=False)
    finally:
        broker.close()


class _OpenDispatcher:
    """The queue dispatcher (its broker closed afterwards), or the in-process one (its context closed)."""

    def __init__(self, settings: Settings, in_process: bool) -> None:
        self._settings, self._in_process = settings, in_process
        self._close = lambda: None

    def __enter__(self):
        if self._in_process:
            from aggregator.jobs.queue.dispatch import InProcessDispatcher
            from aggregator.jobs.queue.jobs import WorkerContext

            open_database(self._settings).dispose()
            context = WorkerContext.open(self._settings)
            self._close = context.close
            return InProcessDispatcher(context)
        from aggregator.jobs.queue.broker import open_queue_dispatcher
        from aggregator.jobs.queue.config import QueueSettings

        dispatcher, broker = open_queue_dispatcher(QueueSettings())
        self._close = broker.close
        return dispatcher

    def __exit__(self, *exc) -> None:
        self._close()
