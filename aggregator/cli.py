"""The `aggregator` command line: run the pipeline, fetch, check sources, manage the database."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine

from aggregator.errors import AggregatorError
from aggregator.settings import Settings

app = typer.Typer(help="Aggregate partner resources on kindness and compassion in health and care; "
                       "send the monthly digest.", no_args_is_help=True, add_completion=False)
sources_app = typer.Typer(help="Check, inspect, import and export the sources in sources.yaml.",
                          no_args_is_help=True)
db_app = typer.Typer(help="The database schema (Alembic migrations).", no_args_is_help=True)
resources_app = typer.Typer(help="Look at stored resources.", no_args_is_help=True)
app.add_typer(sources_app, name="sources")
app.add_typer(db_app, name="db")
app.add_typer(resources_app, name="resources")
console = Console()
err_console = Console(stderr=True)


@app.callback()
def _configure(verbose: bool = typer.Option(False, "--verbose", "-v", help="Show debug logs.")) -> None:
    """Settings come from AGGREGATOR_* environment variables; see README.md."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s",
                        handlers=[RichHandler(console=err_console, show_path=False)], force=True)
    for noisy in ("httpx", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def open_database(settings: Settings) -> Engine:
    """The engine for the configured database, upgraded to the newest schema."""
    from aggregator.db.engine import create_db_engine, upgrade_database

    engine = create_db_engine(settings.resolved_database_url)
    upgrade_database(engine)
    return engine


@app.command()
def run() -> None:
    """One pass of the monthly pipeline on the configured (by default embedded) setup."""
    settings = Settings()
    fetch_sources(settings, only=None)


@app.command()
def fetch(source: Optional[list[str]] = typer.Option(None, "--source", "-s", help="Only this source id (repeatable).")) -> None:
    """Fetch sources now, store new and changed resources, and print a summary per source."""
    fetch_sources(Settings(), only=source)


def fetch_sources(settings: Settings, only: list[str] | None, *, transport=None) -> None:
    from aggregator.fetch import Fetcher
    from aggregator.pipeline import run_fetch
    from aggregator.sources import load_sources

    sources_file = load_sources(settings.sources_file)
    configs = [sources_file.get(s) for s in only] if only else list(sources_file.sources)
    engine = open_database(settings)
    with Fetcher(settings, transport=transport) as fetcher, _progress() as progress:
        task = progress.add_task("fetching", total=sum(1 for c in configs if c.enabled))
        outcomes = run_fetch(settings, configs, engine, fetcher,
                             on_done=lambda outcome: progress.update(task, advance=1, description=outcome.source_id))
    console.print(_summary_table(outcomes))
    for outcome in outcomes:
        if outcome.outcome == "failed":
            err_console.print(f"[red]✗ {outcome.source_id}[/red]: {outcome.error}", highlight=False, markup=True)
    attempted = [o for o in outcomes if o.outcome != "skipped"]
    if attempted and all(o.outcome == "failed" for o in attempted):
        raise typer.Exit(1)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description:<32}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err_console, transient=True)


def _summary_table(outcomes) -> Table:
    table = Table(title="Fetch summary")
    for column in ("source", "outcome", "new", "updated", "unchanged", "HTTP"):
        table.add_column(column, justify="right" if column in ("new", "updated", "unchanged", "HTTP") else "left")
    colours = {"new-data": "green", "not-modified": "cyan", "failed": "red", "skipped": "yellow"}
    for o in sorted(outcomes, key=lambda o: o.source_id):
        table.add_row(o.source_id, f"[{colours[o.outcome]}]{o.outcome}[/]", str(o.result.new), str(o.result.updated),
                      str(o.result.unchanged), str(o.http_status or ""))
    return table


@sources_app.command("check")
def sources_check(file: Optional[Path] = typer.Option(None, "--file", "-f", help="Default: AGGREGATOR_SOURCES_FILE or sources.yaml.")) -> None:
    """Validate sources.yaml; a bad file is reported with its line and how to fix it."""
    from aggregator.sources import load_sources

    path = file or Settings().sources_file
    sources_file = load_sources(path)
    enabled = sum(1 for s in sources_file.sources if s.enabled)
    console.print(f"[green]✓[/green] {path}: {len(sources_file.sources)} sources ({enabled} enabled)")


@sources_app.command("status")
def sources_status() -> None:
    """Health of every source: last fetch, HTTP status, failures, entries per run, drift alarm."""
    from aggregator.health import source_health
    from aggregator.sources import load_sources

    settings = Settings()
    configs = load_sources(settings.sources_file).sources
    rows = source_health(open_database(settings), configs)
    table = Table(title="Sources")
    for column in ("source", "adapter", "state", "last fetch", "HTTP", "failures", "entries", "problem"):
        table.add_column(column)
    for row in rows:
        state = "[red]ALARM[/red]" if row.alarm else row.state
        table.add_row(row.source_id, row.adapter, state, row.last_fetch, str(row.http_status or ""),
                      str(row.failures), str(row.last_count if row.last_count is not None else ""), row.problem)
    console.print(table)


@sources_app.command("export-opml")
def sources_export_opml(output: Optional[Path] = typer.Argument(None, help="File to write; default stdout.")) -> None:
    """Write the sources as OPML 2.0 (feeds readable by any feed reader)."""
    from aggregator.opml import export_opml
    from aggregator.sources import load_sources

    data = export_opml(load_sources(Settings().sources_file).sources)
    if output:
        output.write_bytes(data)
        console.print(f"wrote {output}")
    else:
        typer.echo(data.decode())


@sources_app.command("import-opml")
def sources_import_opml(opml_file: Path = typer.Argument(..., exists=True, readable=True),
                        append: bool = typer.Option(False, "--append", help="Append to sources.yaml (checked first).")) -> None:
    """Turn an OPML list of feeds into sources.yaml entries (printed, or appended with --append)."""
    from aggregator.opml import dump_sources, import_opml
    from aggregator.sources import load_sources, parse_sources

    path = Settings().sources_file
    current = load_sources(path)
    imported = import_opml(opml_file.read_bytes(), existing_ids=[s.id for s in current.sources])
    snippet = dump_sources(imported)
    if not append:
        typer.echo(snippet)
        return
    text = path.read_text(encoding="utf-8")
    new_text = text.rstrip("\n") + "\n" + snippet
    parse_sources(new_text, str(path))  # refuse to write a file that would not load
    path.write_text(new_text, encoding="utf-8")
    console.print(f"[green]✓[/green] added {len(imported)} sources to {path}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the database schema to the newest migration."""
    from aggregator.db.engine import current_revision

    settings = Settings()
    engine = open_database(settings)
    console.print(f"database at revision {current_revision(engine)}: "
                  f"{engine.url.render_as_string(hide_password=True)}")


@resources_app.command("list")
def resources_list(source: Optional[str] = typer.Option(None, help="Only resources from this source id."),
                   status: Optional[str] = typer.Option(None, help="pending, approved or rejected."),
                   limit: int = typer.Option(30, min=1, max=10_000)) -> None:
    """The newest stored resources with their type, date and sources."""
    from aggregator.health import list_resources

    rows = list_resources(open_database(Settings()), source_id=source, status=status, limit=limit)
    table = Table(title="Resources")
    for column in ("id", "type", "published", "title", "sources", "status"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(str(row.id), row.type, row.published, row.title, row.sources, row.status)
    console.print(table)


@app.command()
def demo() -> None:
    """Serve the partner-site fixtures locally and run the pipeline against them (no network needed)."""
    from aggregator.demo import run_demo

    settings = Settings()
    # The demo keeps its own database so that it never mixes fixtures with real data.
    demo_settings = settings.model_copy(update={"data_dir": settings.data_dir / "demo", "database_url": None})
    run_demo(fetch_sources, settings=demo_settings)


def main() -> None:
    try:
        app()
    except AggregatorError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise SystemExit(2) from None
