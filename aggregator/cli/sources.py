"""`aggregator sources ...`: check, inspect, import and export the sources in sources.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from aggregator.cli import app, console, open_database
from aggregator.settings import Settings

sources_app = typer.Typer(help="Check, inspect, import and export the sources in sources.yaml.", no_args_is_help=True)
app.add_typer(sources_app, name="sources")


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
    for column in ("source", "adapter", "state", "last fetch", "HTTP", "failures", "entries", "problem", "next try"):
        table.add_column(column)
    for row in rows:
        state = "[red]ALARM[/red]" if row.alarm else row.state
        table.add_row(row.source_id, row.adapter, state, row.last_fetch, str(row.http_status or ""),
                      str(row.failures), str(row.last_count if row.last_count is not None else ""), row.problem,
                      row.next_try)
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
