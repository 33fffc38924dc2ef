"""`aggregator subscribers ...`: list subscribers, export or erase one person's data, import an existing list."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.table import Table

from aggregator.cli.base import app, app_ctx, console, err_console
from aggregator.errors import ConfigError
from aggregator.model import SubscriberStatus

subscribers_app = typer.Typer(
    help="The people who get the digest: list them, export or erase one person's data, import an existing list.",
    no_args_is_help=True,
)
app.add_typer(subscribers_app, name="subscribers")
STATUSES = tuple(SubscriberStatus)


@subscribers_app.command("list")
def list_command(
    status: str | None = typer.Option(
        None, "--status", help=f"Only subscribers with this status: {', '.join(STATUSES)}."
    ),
) -> None:
    """List subscribers with their status, origin and choices."""
    from aggregator.people.subscribers import list_subscribers

    if status is not None and status not in STATUSES:
        raise typer.BadParameter(f"choose one of {', '.join(STATUSES)}", param_hint="--status")
    with app_ctx().engine.connect() as conn:
        people = list_subscribers(conn, status)
    table = Table("Email", "Status", "Origin", "Since", "Audiences", "Themes")
    for person in people:
        table.add_row(
            person.email,
            person.status,
            person.origin,
            f"{person.created_at:%Y-%m-%d}",
            ", ".join(person.audiences) or "all",
            ", ".join(person.themes) or "all",
        )
    console.print(table)
    console.print(f"{len(people)} subscriber{'s' if len(people) != 1 else ''}")


@subscribers_app.command("export")
def export_command(email: str = typer.Argument(..., help="The subscriber's email address.")) -> None:
    """Print everything held about one subscriber as JSON: their record, consent ledger and deliveries."""
    from aggregator.people.subscribers import export_subscriber

    with app_ctx().engine.connect() as conn:
        data = export_subscriber(conn, email)
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True))


@subscribers_app.command("erase")
def erase_command(
    email: str = typer.Argument(..., help="The subscriber's email address."),
    yes: bool = typer.Option(False, "--yes", help="Erase without asking first."),
) -> None:
    """Delete one subscriber and everything about them (record, consent ledger, deliveries). Cannot be undone."""
    from aggregator.people.subscribers import erase_subscriber, export_subscriber

    engine = app_ctx().engine
    with engine.connect() as conn:
        data = export_subscriber(conn, email)
    if not yes:
        typer.confirm(
            f"Erase {data['subscriber']['email']} ({len(data['consent_events'])} consent records, "
            f"{len(data['deliveries'])} deliveries)? This cannot be undone",
            abort=True,
        )
    with engine.begin() as conn:
        erase_subscriber(conn, email)
    console.print(f"Erased {data['subscriber']['email']}. Their links in past emails no longer work.", highlight=False)


@subscribers_app.command("import")
def import_command(
    file: Path = typer.Argument(
        ...,
        exists=True,
        dir_okay=False,
        readable=True,
        help="A CSV file with a header row: email, and optionally audiences and themes (ids separated by ';').",
    ),
    basis: str = typer.Option(
        ...,
        "--basis",
        help="Why these people may be mailed (the consent "
        "basis), kept in each one's consent record, e.g. \"opted in to the "
        'old newsletter, 2024".',
    ),
) -> None:
    """Import an existing list as active subscribers; addresses already known are left untouched.
    Invalid rows are listed and skipped (exit code 1 when there were any)."""
    from aggregator.people.subscribers import import_csv

    rows = read_csv_rows(file)
    taxonomy = app_ctx().taxonomy()
    with app_ctx().engine.begin() as conn:
        report = import_csv(conn, rows, basis, datetime.now(UTC), taxonomy=taxonomy)
    console.print(
        f"Imported {report.imported}; already known (left as they were): {report.existing}; "
        f"invalid: {len(report.invalid)}",
        highlight=False,
    )
    for problem in report.invalid:
        err_console.print(f"{file}:{problem.line}: {problem.reason}", highlight=False, soft_wrap=True)
    if report.invalid:
        raise typer.Exit(1)


def read_csv_rows(path: Path) -> list[dict[str, str | None]]:
    """The rows of a CSV file (UTF-8, with or without Excel's BOM) keyed by lower-case header names."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [(name or "").strip().lower() for name in reader.fieldnames or ()]
            if "email" not in header:
                raise ConfigError(
                    "the first row must be a header with an `email` column",
                    path=str(path),
                    line=1,
                    hint="e.g. `email,audiences,themes`",
                )
            reader.fieldnames = header
            return [{key: value for key, value in row.items() if isinstance(key, str)} for row in reader]
    except UnicodeDecodeError:
        raise ConfigError(
            "the file is not UTF-8 text", path=str(path), hint='save it as "CSV UTF-8" from your spreadsheet'
        ) from None
    except csv.Error as exc:
        raise ConfigError(f"not a readable CSV file: {exc}", path=str(path)) from None


@app.command("mail-in")
def mail_in() -> None:
    """Read the bounce and unsubscribe mailbox (AGGREGATOR_MAILIN__*): unsubscribe requests, DSN bounces and
    ARF complaints are applied to the subscribers they name and recorded in the consent ledger."""
    from aggregator.digest.mailbox import ImapMailbox, process_mailbox

    settings = app_ctx().settings
    engine = app_ctx().engine
    with ImapMailbox(settings.mailin) as mailbox:
        report = process_mailbox(engine, mailbox, settings, lambda: datetime.now(UTC))
    table = Table("message", "kind", "subscribers", "changed", title=f"{len(report.outcomes)} messages read")
    for outcome in report.outcomes:
        table.add_row(
            outcome.message_id,
            outcome.kind,
            ", ".join(map(str, outcome.subscriber_ids)) or outcome.note,
            "yes" if outcome.changed else "no",
        )
    console.print(table)
