"""Commands of the publishing stage: `feeds build`, `archive build` and `schedule`."""

from __future__ import annotations

from pathlib import Path

import typer

from aggregator.cli.base import app, app_ctx, console, err_console

feeds_app = typer.Typer(help="The public feeds (RSS 2.0, Atom, JSON Feed) of approved resources.", no_args_is_help=True)
archive_app = typer.Typer(help="The public archive of sent issues.", no_args_is_help=True)
app.add_typer(feeds_app, name="feeds")
app.add_typer(archive_app, name="archive")


@feeds_app.command("build")
def feeds_build(
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Folder to write into (default: <data_dir>/feeds)."
    ),
) -> None:
    """Write the combined feed and one per theme and audience, in every format, with index.html and index.opml."""
    from aggregator.ingest.run import utcnow
    from aggregator.publish.feeds import build_feeds

    settings = app_ctx().settings
    report = build_feeds(app_ctx().engine, settings, utcnow(), output=output)
    console.print(
        f"[green]✓[/green] {report.feeds} feeds ({report.entries} resources in the combined feed) "
        f"in {report.output_dir}: {report.written} files written, {report.unchanged} unchanged"
    )


@archive_app.command("build")
def archive_build(
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Folder to write into (default: <data_dir>/archive)."
    ),
) -> None:
    """Write every sent issue as a web page, the archive index and the archive's feeds."""
    from aggregator.ingest.run import utcnow
    from aggregator.publish.archive import build_archive

    settings = app_ctx().settings
    report = build_archive(app_ctx().engine, settings, utcnow(), output=output)
    console.print(
        f"[green]✓[/green] {report.issues} issues in {report.output_dir}: "
        f"{report.written} files written, {report.unchanged} unchanged"
    )


@app.command()
def schedule(once: bool = typer.Option(False, "--once", help="Run whatever is due now, then exit (for cron).")) -> None:
    """Fetch each source at its own interval and prepare the month's draft on the draft day, notifying
    editors; one scheduler per database (a second one is refused)."""
    from aggregator.db.robots_store import DatabaseRobotsStore
    from aggregator.ingest.fetch import Fetcher
    from aggregator.jobs.schedule import TransportNotifier, run_due, run_scheduler, scheduler_lock

    settings = app_ctx().settings
    configs = list(app_ctx().sources_file().sources)
    engine = app_ctx().engine
    notifier = TransportNotifier(settings)
    with scheduler_lock(engine, settings), Fetcher(settings, robots_store=DatabaseRobotsStore(engine)) as fetcher:
        if not once:
            err_console.print(
                f"scheduler running: {sum(1 for c in configs if c.enabled)} sources, draft on day "
                f"{settings.schedule.draft_day} at {settings.schedule.draft_hour}:00 "
                f"{settings.schedule.timezone}; Ctrl-C to stop",
                highlight=False,
            )
            run_scheduler(engine, settings, configs, fetcher, notifier, reload=app_ctx().sources)
            return
        report = run_due(engine, settings, configs, fetcher, notifier)
    failed = [o for o in report.fetched if o.outcome == "failed"]
    console.print(f"fetched {len(report.fetched)} due sources ({len(failed)} failed)")
    for outcome in failed:
        err_console.print(f"[red]✗ {outcome.source_id}[/red]: {outcome.error}", highlight=False)
    if report.draft:
        told = "editors notified" if report.draft.notified else "editors not notified"
        console.print(f"prepared the {report.draft.month} draft ({report.draft.items} resources; {told})")
