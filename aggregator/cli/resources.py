"""`aggregator resources ...` and `aggregator db ...`: look at stored resources, split merges, the schema."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from aggregator.cli.base import app, app_ctx, console

resources_app = typer.Typer(help="Look at stored resources, split wrong merges, export events.", no_args_is_help=True)
db_app = typer.Typer(help="The database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(resources_app, name="resources")
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the database schema to the newest migration."""
    from aggregator.db.engine import current_revision

    engine = app_ctx().engine
    console.print(f"database at revision {current_revision(engine)}: {engine.url.render_as_string(hide_password=True)}")


@resources_app.command("list")
def resources_list(
    source: str | None = typer.Option(None, help="Only resources from this source id."),
    status: str | None = typer.Option(None, help="pending, approved or rejected."),
    theme: str | None = typer.Option(None, help="Only resources with this theme label."),
    audience: str | None = typer.Option(None, help="Only resources with this audience label."),
    limit: int = typer.Option(30, min=1, max=10_000),
) -> None:
    """The newest stored resources with their type, date, sources and labels."""
    from aggregator.review.health import list_resources

    rows = list_resources(
        app_ctx().engine, source_id=source, status=status, theme=theme, audience=audience, limit=limit
    )
    table = Table(title="Resources")
    for column in ("id", "type", "published", "title", "sources", "labels", "status"):
        table.add_column(column, overflow="fold")
    for row in rows:
        status_text = f"{row.status} (off-topic)" if row.off_topic else row.status
        table.add_row(str(row.id), row.type, row.published, row.title, row.sources, row.labels, status_text)
    console.print(table)


@resources_app.command("show")
def resources_show(resource_id: int = typer.Argument(..., help="The resource's id (see `resources list`).")) -> None:
    """One resource: its fields, labels with reasons, every source listing it, and its merges."""
    from aggregator.review.health import resource_detail

    detail = resource_detail(app_ctx().engine, resource_id)
    if detail is None:
        raise typer.BadParameter(f"no resource {resource_id}")
    row = detail.row
    console.print(f"[bold]{row.title}[/bold]  ({row.type}, {row.status}{', off-topic' if row.off_topic else ''})")
    console.print(f"{row.url}\n{row.summary}", highlight=False)
    if row.proposed_title:
        console.print(f"[yellow]a source proposes the title:[/yellow] {row.proposed_title}", highlight=False)
    if row.event_start:
        console.print(
            f"event: {row.event_start:%Y-%m-%d %H:%M} UTC {row.event_location or ''} {row.registration_url or ''}",
            highlight=False,
        )
    for label in detail.labels:
        why = "; ".join(r["detail"] for r in label.reasons)
        console.print(
            f"  {label.kind}: {label.label_id} {label.confidence:.2f} [{label.origin}] {why}", highlight=False
        )
    for entry in detail.entries:
        console.print(f"  listed by {entry.source_id}: {entry.title} <{entry.url}>", highlight=False)
    for merge in detail.merges:
        console.print(
            f"  merge {merge.id}: resource {merge.absorbed_id} ({merge.reason}); "
            f"undo with `aggregator resources split {merge.id}`",
            highlight=False,
        )


@resources_app.command("split")
def resources_split(
    merge_id: int = typer.Argument(..., help="The merge's id (see `resources show`)."),
    editor: str | None = typer.Option(None, help="Who split it, for the record."),
) -> None:
    """Undo a wrong merge: the absorbed resource comes back with its own sources, and stays apart."""
    from aggregator.dedupe.merge import split_merge
    from aggregator.ingest.run import utcnow

    engine = app_ctx().engine
    with engine.begin() as conn:
        restored = split_merge(conn, merge_id, editor=editor, now=utcnow())
    console.print(f"split merge {merge_id}: resource {restored} is separate again")


@resources_app.command("ics")
def resources_ics(
    resource_id: int = typer.Argument(...),
    output: Path | None = typer.Argument(None, help="File to write; default stdout."),
) -> None:
    """The calendar entry (.ics) of an event resource."""
    from aggregator.ingest.events import EventListing, event_to_ics
    from aggregator.ingest.run import utcnow
    from aggregator.review.health import find_resource

    row = find_resource(app_ctx().engine, resource_id)
    if row is None or row.event_start is None:
        raise typer.BadParameter(f"resource {resource_id} is not an event with a date")
    data = event_to_ics(
        EventListing(
            row.id,
            row.title,
            row.url,
            row.event_start,
            row.event_end,
            row.event_timezone,
            row.event_location,
            row.event_online,
            row.registration_url,
            row.summary,
        ),
        now=utcnow(),
    )
    if output:
        output.write_bytes(data)
    else:
        typer.echo(data.decode())
