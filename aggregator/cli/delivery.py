"""`aggregator issue ...`: check the month's digest, preview a subscriber's copy, send it (or resume sending)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from aggregator.settings import Settings

from aggregator.cli.base import app, app_ctx, console
from aggregator.digest.errors import SendStateError

issue_app = typer.Typer(help="The month's digest: check its links, preview a copy, send it.", no_args_is_help=True)
app.add_typer(issue_app, name="issue")

ISSUE_OPTION = typer.Option(None, "--issue", help="The issue's id.")
MONTH_OPTION = typer.Option(None, "--month", help="The issue's month, YYYY-MM (default: the newest issue).")


def _issue_id(conn: Connection, issue: int | None, month: str | None) -> int:
    from aggregator.digest.composition import choose_issue

    return choose_issue(conn, issue, month)


def _source_names(settings: Settings) -> dict[str, str]:
    from aggregator.config.sources import public_names, read_sources
    from aggregator.errors import ConfigError

    try:
        return public_names(read_sources(settings.sources_file).sources)
    except ConfigError:
        return {}


def _now() -> datetime:
    return datetime.now(UTC)


@issue_app.command("send")
def issue_send(
    issue: int | None = ISSUE_OPTION,
    month: str | None = MONTH_OPTION,
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Render every copy and count the recipients; send and record nothing."
    ),
    worker_id: str | None = typer.Option(
        None, "--worker-id", help="Name of this sender; run again under the same name to take back its work at once."
    ),
    allow_insecure_links: bool = typer.Option(
        False,
        "--allow-insecure-links",
        help="Send through SMTP even though AGGREGATOR_BASE_URL is not https:// (its links would be plain http).",
    ),
) -> None:
    """Send an approved issue to every active subscriber once (or resume a stopped send)."""
    from aggregator.digest.composition import find_issue, messages_to_send
    from aggregator.digest.mail.factory import make_mailer
    from aggregator.digest.plan import plan_send
    from aggregator.digest.send import send_issue

    settings = app_ctx().settings
    if not dry_run:
        require_https_links(settings, allow_insecure=allow_insecure_links)
    engine = app_ctx().engine
    taxonomy, names = app_ctx().taxonomy(), _source_names(settings)
    with engine.connect() as conn:
        issue_id = _issue_id(conn, issue, month)
        row = find_issue(conn, issue_id)
        if row.paused_at is not None and not dry_run:
            raise SendStateError(
                f"an editor paused the send of {row.month}", hint="resume it on its sending page in the web app"
            )
        total = messages_to_send(conn, issue_id, row.status)
        if dry_run:
            plan = plan_send(conn, issue_id, settings, taxonomy, _now(), names)
    if dry_run:
        table = Table("audiences", "themes", "subscribers", "resources", title=f"issue {plan.month}: dry run")
        for audiences, themes, people, count in plan.copies:
            table.add_row(", ".join(audiences) or "(all)", ", ".join(themes) or "(all)", str(people), str(count))
        console.print(table)
        console.print(f"{plan.recipients} messages would go in {len(plan.copies)} distinct copies; nothing sent.")
        return
    transport = make_mailer(settings, row.month)
    with Progress(
        TextColumn("sending {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
    ) as bar:
        task = bar.add_task(row.month, total=total)
        report = send_issue(
            engine,
            issue_id,
            transport,
            settings,
            worker_id=worker_id,
            taxonomy=taxonomy,
            source_names=names,
            progress=lambda n: bar.advance(task, n),
        )
    console.print(
        f"sent {report.sent}, skipped {report.skipped}, failed {report.failed}, bounced {report.bounced}, "
        f"parked {report.parked}, "
        f"retries {report.retried}; {report.copies} distinct copies; pending {report.pending}"
    )
    for error in report.errors:
        console.print(f"[red]{error}[/red]", highlight=False)
    if report.finished:
        console.print(f"issue {row.month} is sent")
    else:
        console.print("not finished: run `aggregator issue send` again to resume")
        raise typer.Exit(1)


@issue_app.command("check")
def issue_check(
    issue: int | None = ISSUE_OPTION,
    month: str | None = MONTH_OPTION,
    accept_unchecked: bool = typer.Option(
        False,
        "--accept-unchecked",
        help="Pass even though some links could not be checked (offline, robots.txt); they are still listed.",
    ),
) -> None:
    """The quality gate: dead and login-walled links, repeats of the last 3 issues, images without alt text;
    a link it could not check is listed as not checked, and the issue does not pass without --accept-unchecked."""
    from aggregator.digest.quality import FetcherLinkChecker, check_issue
    from aggregator.ingest.fetch import Fetcher

    settings = app_ctx().settings
    engine = app_ctx().engine
    with engine.connect() as conn, Fetcher(settings) as fetcher:
        report = check_issue(
            conn,
            _issue_id(conn, issue, month),
            FetcherLinkChecker(fetcher),
            _now(),
            settings=settings,
            taxonomy=app_ctx().taxonomy(),
        )
    unchecked = len({p.detail for p in report.unchecked})
    table = Table(
        "problem",
        "resource",
        "detail",
        title=f"{report.links_checked - unchecked} of {report.links_checked} links checked",
    )
    for problem in report.problems:
        table.add_row(problem.kind, f"{problem.resource_id or ''} {problem.title}".strip(), problem.detail)
    console.print(table)
    if not report.passes(accept_unchecked=accept_unchecked):
        if unchecked and all(p.kind == "unchecked-link" for p in report.problems):
            console.print(
                f"the issue does not pass: {unchecked} links were not checked; check them by hand and "
                "run again with --accept-unchecked, or run where the partner sites can be reached"
            )
        else:
            console.print("the issue does not pass the quality gate")
        raise typer.Exit(1)
    if unchecked:
        console.print(f"the issue passes, with {unchecked} links not checked (accepted with --accept-unchecked)")
    else:
        console.print("the issue passes the quality gate: every link was checked")


@issue_app.command("preview")
def issue_preview(
    issue: int | None = ISSUE_OPTION,
    month: str | None = MONTH_OPTION,
    subscriber: str | None = typer.Option(
        None, "--subscriber", help="Show this subscriber's copy (their preferences and links)."
    ),
    text: bool = typer.Option(False, "--text", help="Print the plain-text part instead of the HTML."),
) -> None:
    """Print an issue as a subscriber (or, by default, everyone) would get it."""
    from aggregator.digest.issue import load_issue
    from aggregator.digest.preview import find_recipient
    from aggregator.digest.render import render_digest

    settings = app_ctx().settings
    engine = app_ctx().engine
    with engine.connect() as conn:
        content = load_issue(conn, _issue_id(conn, issue, month), _now(), _source_names(settings))
        recipient = None
        if subscriber:
            recipient = find_recipient(conn, subscriber)
            if recipient is None:
                raise SendStateError(f"no subscriber {subscriber}", hint="check the address")
    rendered = render_digest(content, recipient=recipient, settings=settings, taxonomy=app_ctx().taxonomy())
    typer.echo(f"Subject: {rendered.subject}\n")
    typer.echo(rendered.text if text else rendered.html)


@issue_app.command("send-test")
def issue_send_test(
    to: str = typer.Option(..., "--to", help="Address to send the test to."),
    issue: int | None = ISSUE_OPTION,
    month: str | None = MONTH_OPTION,
) -> None:
    """Send the whole issue once to one address with a [TEST] subject (not recorded as a delivery)."""
    from aggregator.digest.issue import load_issue
    from aggregator.digest.mail.factory import make_mailer
    from aggregator.digest.single import send_test

    settings = app_ctx().settings
    engine = app_ctx().engine
    with engine.connect() as conn:
        content = load_issue(conn, _issue_id(conn, issue, month), _now(), _source_names(settings))
    send_test(
        content,
        to,
        make_mailer(settings, content.month),
        settings,
        taxonomy=app_ctx().taxonomy(),
        now=_now(),
    )
    console.print(f"test of {content.month} sent to {to}")


def require_https_links(settings: Settings, *, allow_insecure: bool) -> None:
    """A real send (through SMTP) puts settings.base_url into every subscriber's links: refuse plain http,
    which leaks the signed unsubscribe and preference links, unless told otherwise."""
    from aggregator.digest.errors import SendStateError

    if settings.smtp.host and not settings.base_url.lower().startswith("https://") and not allow_insecure:
        raise SendStateError(
            f"AGGREGATOR_BASE_URL is {settings.base_url}, not an https:// address",
            hint="set AGGREGATOR_BASE_URL to the site's public https:// address, or pass "
            "--allow-insecure-links for a test server",
        )


@issue_app.command("approve")
def issue_approve(
    issue: int | None = ISSUE_OPTION,
    month: str | None = MONTH_OPTION,
    send_at: datetime | None = typer.Option(
        None, "--send-at", help="When to send it (ISO date and time, in the schedule's zone); default now."
    ),
    yes: bool = typer.Option(False, "--yes", help="Approve without asking."),
) -> None:
    """Approve an issue for sending, after showing how many subscribers it will mail and what they chose."""
    from zoneinfo import ZoneInfo

    from aggregator.digest.composition import approve_issue, find_issue
    from aggregator.digest.plan import count_recipients
    from aggregator.review.lifecycle import EmptyIssueError, issue_has_items

    settings = app_ctx().settings
    engine = app_ctx().engine
    with engine.connect() as conn:
        issue_id = _issue_id(conn, issue, month)
        row = find_issue(conn, issue_id)
        if not issue_has_items(conn, issue_id):
            raise EmptyIssueError(f"issue {row.month} has no resources and cannot be approved")
        counted = count_recipients(conn)
    table = Table("audiences", "themes", "subscribers", title=f"issue {row.month}: who it will mail")
    for audiences, themes, people in counted.by_preferences:
        table.add_row(", ".join(audiences) or "(all)", ", ".join(themes) or "(all)", str(people))
    console.print(table)
    console.print(f"{counted.total} recipients in {len(counted.by_preferences)} preference sets")
    if not yes and not typer.confirm(f"Approve {row.month} for sending to {counted.total} recipients?"):
        raise typer.Exit(1)
    zone = ZoneInfo(settings.schedule.timezone)
    when = send_at.replace(tzinfo=send_at.tzinfo or zone) if send_at else _now()
    with engine.begin() as conn:
        approve_issue(conn, issue_id, user_id=None, now=_now(), send_at=when)
    console.print(f"issue {row.month} approved for sending on {when.astimezone(zone):%d %b %Y at %H:%M}")
