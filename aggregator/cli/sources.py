"""`aggregator sources ...`: check, inspect, import and export the sources in sources.yaml."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from aggregator.settings import Settings

from aggregator.cli.base import app, app_ctx, console, err_console

sources_app = typer.Typer(help="Check, inspect, import and export the sources in sources.yaml.", no_args_is_help=True)
app.add_typer(sources_app, name="sources")


@sources_app.command("check")
def sources_check(
    file: Path | None = typer.Option(None, "--file", "-f", help="Default: AGGREGATOR_SOURCES_FILE or sources.yaml."),
) -> None:
    """Validate sources.yaml; a bad file is reported with its line and how to fix it."""
    from aggregator.config.sources import load_sources

    path = file or app_ctx().settings.sources_file
    sources_file = load_sources(path)
    enabled = sum(1 for s in sources_file.sources if s.enabled)
    console.print(f"[green]✓[/green] {path}: {len(sources_file.sources)} sources ({enabled} enabled)")


@sources_app.command("status")
def sources_status() -> None:
    """Health of every source: last fetch, HTTP status, failures, entries per run, drift alarm."""
    from aggregator.review.health import source_health

    configs = app_ctx().sources_file().sources
    rows = source_health(app_ctx().engine, configs)
    table = Table(title="Sources")
    for column in ("source", "adapter", "state", "last fetch", "HTTP", "failures", "entries", "problem", "next try"):
        table.add_column(column)
    for row in rows:
        state = "[red]ALARM[/red]" if row.alarm else row.state
        table.add_row(
            row.source_id,
            row.adapter,
            state,
            row.last_fetch,
            str(row.http_status or ""),
            str(row.failures),
            str(row.last_count if row.last_count is not None else ""),
            row.problem,
            row.next_try,
        )
    console.print(table)


@sources_app.command("export-opml")
def sources_export_opml(output: Path | None = typer.Argument(None, help="File to write; default stdout.")) -> None:
    """Write the sources as OPML 2.0 (feeds readable by any feed reader)."""
    from aggregator.config.opml import export_opml

    data = export_opml(app_ctx().sources_file().sources)
    if output:
        output.write_bytes(data)
        console.print(f"wrote {output}")
    else:
        typer.echo(data.decode())


@sources_app.command("import-opml")
def sources_import_opml(
    opml_file: Path = typer.Argument(..., exists=True, readable=True),
    append: bool = typer.Option(False, "--append", help="Append to sources.yaml (checked first)."),
) -> None:
    """Turn an OPML list of feeds into sources.yaml entries (printed, or appended with --append)."""
    from aggregator.config.opml import dump_sources, import_opml
    from aggregator.config.sources import load_sources, parse_sources

    settings = app_ctx().settings
    path = settings.sources_file
    current = load_sources(path)
    result = import_opml(
        opml_file.read_bytes(),
        existing_ids=[s.id for s in current.sources],
        allow_private=settings.allow_private_addresses,
    )
    for url, reason in result.refused:
        err_console.print(f"[yellow]refused[/yellow] {url}: {reason}", highlight=False, soft_wrap=True)
    imported = result.sources
    snippet = dump_sources(imported)
    if not append:
        typer.echo(snippet)
        return
    with path.open(encoding="utf-8") as current:
        new_text = current.read().rstrip("\n") + "\n" + snippet
    parse_sources(new_text, str(path))  # refuse to write a file that would not load
    with path.open("w", encoding="utf-8") as out:
        out.write(new_text)
    console.print(f"[green]✓[/green] added {len(imported)} sources to {path}")


_FIXTURES_HELP = "Read the sites from the partner-site fixtures in tests/sites (offline, as `aggregator demo` does)."


@contextmanager
def _route_fetcher(settings: Settings, fixtures: bool) -> Iterator[Any]:
    """A Fetcher on the internet, or on the fixture server when `fixtures` (loopback allowed for it only)."""
    from aggregator.ingest.fetch import Fetcher, guarded_transport

    if not fixtures:
        with Fetcher(settings) as fetcher:
            yield fetcher
        return
    from aggregator.jobs.demo import FixtureSites, RewritingTransport, demo_settings, sites_root

    local = demo_settings(settings, sites_root()).model_copy(update={"sources_file": settings.sources_file})
    with (
        FixtureSites(sites_root()) as sites,
        Fetcher(local, transport=RewritingTransport(guarded_transport(local), sites.origin)) as fetcher,
    ):
        yield fetcher


@sources_app.command("add")
def sources_add(
    url: str = typer.Argument(..., help="A page of the site: its home, a category, a listing or one item."),
    route: int | None = typer.Option(
        None,
        "--route",
        "-r",
        help="Write the route with this number (default: ask, offering the richest route that works).",
    ),
    source_id: str | None = typer.Option(None, "--id", help="The new source's id (default: from the URL)."),
    name: str | None = typer.Option(None, "--name", help="The new source's name (default: the page title)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the routes and the entry; write nothing."),
    file: Path | None = typer.Option(None, "--file", "-f", help="Default: AGGREGATOR_SOURCES_FILE or sources.yaml."),
    fixtures: bool = typer.Option(False, "--fixtures", help=_FIXTURES_HELP),
) -> None:
    """Recognise a site's platform from one page, list its routes richest first with a sample of each,
    and add the chosen one to sources.yaml (comments kept)."""
    from aggregator.config.sources import check_http_url, load_sources
    from aggregator.ingest.routes import append_source, discover_routes, route_entry, suggest_id

    settings = app_ctx().settings
    path = file or settings.sources_file
    current = load_sources(path)
    try:
        check_http_url(url)
    except ValueError as exc:
        raise typer.BadParameter(f"{exc}: {url!r}") from None
    with _route_fetcher(settings, fixtures) as fetcher:
        detection, samples = discover_routes(url, fetcher)
    console.print(
        f"[bold]{detection.platform}[/bold] ({escape(detection.evidence)}): {escape(detection.title)}", highlight=False
    )
    table = Table(title="Routes, richest first")
    for column in ("#", "route", "adapter", "address", "entries", "sample"):
        table.add_column(column)
    for number, sample in enumerate(samples, start=1):
        titles = escape("; ".join(e.title[:60] for e in sample.entries) if sample.error is None else sample.error)
        table.add_row(
            str(number),
            sample.route.kind,
            sample.route.adapter,
            escape(sample.route.url),
            "" if sample.error else str(sample.count),
            titles,
        )
    console.print(table)
    for sample in samples:
        if sample.route.kind == "selectors":
            console.print(
                "proposed selectors: " + ", ".join(f"{k}: {v}" for k, v in sample.route.options["selectors"].items()),
                highlight=False,
                markup=False,
            )
    working = [n for n, s in enumerate(samples, start=1) if s.error is None and s.count]
    if not working:
        err_console.print("no route gave entries: check the address, or ask the partner for a feed")
        raise typer.Exit(1)
    chosen = route or (working[0] if dry_run else typer.prompt("route to add", default=working[0], type=int))
    if not 1 <= chosen <= len(samples):
        raise typer.BadParameter(f"--route is 1 to {len(samples)}")
    picked = samples[chosen - 1].route
    entry = route_entry(
        picked,
        source_id=source_id or suggest_id(detection, [s.id for s in current.sources]),
        name=name or detection.title or url,
        homepage=detection.url,
    )
    if dry_run:
        from aggregator.ingest.routes import dump_yaml

        typer.echo(dump_yaml([entry]))
        return
    append_source(path, entry)
    console.print(f"[green]✓[/green] added {entry['id']} ({picked.kind}, {picked.adapter}) to {path}")


@sources_app.command("doctor")
def sources_doctor(
    source_id: str | None = typer.Argument(None, help="One source's id; default every enabled source."),
    fixtures: bool = typer.Option(False, "--fixtures", help=_FIXTURES_HELP),
) -> None:
    """Re-check each source's route on the live site: a richer route, a moved feed, selectors that stopped matching."""
    from aggregator.ingest.routes import doctor_source

    settings = app_ctx().settings
    sources_file = app_ctx().sources_file()
    configs = [sources_file.get(source_id)] if source_id else [s for s in sources_file.sources if s.enabled]
    problems = 0
    with _route_fetcher(settings, fixtures) as fetcher:
        for config in configs:
            findings = doctor_source(config, fetcher, others=[s for s in sources_file.sources if s.id != config.id])
            problems += len(findings)
            if not findings:
                console.print(f"[green]✓[/green] {config.id}: its route is the richest that works", highlight=False)
            for finding in findings:
                console.print(
                    f"[yellow]![/yellow] {finding.source_id}: {escape(finding.problem)}\n  fix: {escape(finding.fix)}",
                    highlight=False,
                )
    if problems:
        raise typer.Exit(1)
