"""Commands that fetch: `run` (the monthly pass), `fetch` and `demo`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

if TYPE_CHECKING:
    from aggregator.settings import Settings

from aggregator.cli.base import app, app_ctx, console, err_console, open_database

OFFLINE_LINE = (
    "No source could be reached over the network: this machine seems to be offline. "
    "`make demo` runs the same pipeline on the partner-site fixtures, with no network needed."
)


@app.command()
def run() -> None:
    """One pass of the monthly pipeline on the configured (by default embedded) setup:
    fetch every source, merge duplicates, label new resources."""
    pass_over_sources(app_ctx().settings, only=None, monthly=True)


@app.command()
def fetch(
    source: list[str] | None = typer.Option(None, "--source", "-s", help="Only this source id (repeatable)."),
) -> None:
    """Fetch sources now, store new and changed resources, and print a summary per source."""
    pass_over_sources(app_ctx().settings, only=source, monthly=False)


@app.command()
def demo() -> None:
    """Serve the partner-site fixtures locally and run the monthly pass against them (no network needed)."""
    from aggregator.jobs.demo import run_demo

    settings = demo_data_settings(app_ctx().settings)
    run_demo(
        lambda s, only, transport: pass_over_sources(s, only, monthly=True, transport=transport), settings=settings
    )
    console.print(
        f"\nThe demo's data is in {settings.data_dir} (database {settings.resolved_database_url}).\n"
        "To open it in the web app, make an account in it and serve it:\n"
        "  .venv/bin/aggregator users add you@example.org --role admin --demo\n"
        f"  .venv/bin/aggregator serve --demo     # then open http://{settings.web.host}:{settings.web.port}/editor/",
        highlight=False,
        soft_wrap=True,
    )


def demo_data_settings(settings: Settings) -> Settings:
    """The settings of the demo's own data: `<data_dir>/demo`, SQLite, never the real database."""
    return settings.model_copy(update={"data_dir": settings.data_dir / "demo", "database_url": None})


def pass_over_sources(settings: Settings, only: list[str] | None, *, monthly: bool, transport=None) -> None:
    """Fetch (and with `monthly`, de-duplicate and label), then print what happened."""
    from aggregator.config.sources import read_sources
    from aggregator.db.robots_store import DatabaseRobotsStore
    from aggregator.ingest.fetch import Fetcher
    from aggregator.ingest.run import run_fetch
    from aggregator.jobs.monthly import run_monthly

    sources_file = read_sources(settings.sources_file)
    configs = [sources_file.get(s) for s in only] if only else list(sources_file.sources)
    engine = open_database(settings)
    robots_store = DatabaseRobotsStore(engine)
    with Fetcher(settings, transport=transport, robots_store=robots_store) as fetcher, _progress() as progress:
        task = progress.add_task("fetching", total=sum(1 for c in configs if c.enabled))

        def advance(outcome) -> None:
            progress.advance(task)

        if monthly:
            report = run_monthly(settings, configs, engine, fetcher, on_done=advance)
            outcomes = report.outcomes
        else:
            outcomes = run_fetch(settings, configs, engine, fetcher, on_done=advance, retry_now=bool(only))
    console.print(_summary_table(outcomes))
    if monthly:
        console.print(
            f"merged {report.merges.merged} duplicates among {report.merges.compared} resources; "
            f"labelled {report.labels.classified} ({report.labels.off_topic} off-topic)"
        )
        console.print(
            f"this month's draft is issue {report.draft_id}; feeds: {report.feeds.feeds} built in "
            f"{report.feeds.output_dir}; archive in {settings.archive_dir}"
        )
        for sent in report.sends:
            console.print(
                f"issue {sent.issue_id}: sent {sent.sent}, failed {sent.failed}, pending {sent.pending}"
                f"{' (finished)' if sent.finished else ''}"
            )
    for outcome in outcomes:
        if outcome.outcome == "failed":
            err_console.print(f"[red]✗ {outcome.source_id}[/red]: {outcome.error}", highlight=False)
    attempted = [o for o in outcomes if o.outcome != "skipped"]
    if attempted and all(o.outcome == "failed" for o in attempted):
        if all(o.network_error for o in attempted):
            err_console.print(OFFLINE_LINE, highlight=False)
        raise typer.Exit(1)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description:<32}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )


def _summary_table(outcomes: Sequence) -> Table:
    table = Table(title="Fetch summary")
    for column in ("source", "outcome", "new", "updated", "unchanged", "HTTP"):
        table.add_column(column, justify="right" if column in ("new", "updated", "unchanged", "HTTP") else "left")
    colours = {"new-data": "green", "not-modified": "cyan", "failed": "red", "skipped": "yellow"}
    for o in sorted(outcomes, key=lambda o: o.source_id):
        table.add_row(
            o.source_id,
            f"[{colours[o.outcome]}]{o.outcome}[/]",
            str(o.result.new),
            str(o.result.updated),
            str(o.result.unchanged),
            str(o.http_status or ""),
        )
    return table
