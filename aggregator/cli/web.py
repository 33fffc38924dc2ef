"""`aggregator serve` (the web app under gunicorn) and `aggregator users ...` (editor and admin accounts)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer
from rich.table import Table

if TYPE_CHECKING:
    from aggregator.settings import Settings

from aggregator.cli.base import app, app_ctx, console, open_database

users_app = typer.Typer(help="Editor and admin accounts of the web app.", no_args_is_help=True)
app.add_typer(users_app, name="users")
_DEMO_HELP = "Use the data `aggregator demo` wrote (<data dir>/demo), not the real database."


def web_settings(demo: bool) -> Settings:
    """The configured settings, or with `demo` those of the demo's own data."""
    from aggregator.cli.fetching import demo_data_settings

    return demo_data_settings(app_ctx().settings) if demo else app_ctx().settings


@app.command()
def serve(
    host: str | None = typer.Option(None, help="Address to listen on; default AGGREGATOR_WEB__HOST."),
    port: int | None = typer.Option(None, help="Port; default AGGREGATOR_WEB__PORT."),
    workers: int | None = typer.Option(None, help="Worker processes; default AGGREGATOR_WEB__WORKERS."),
    demo: bool = typer.Option(False, "--demo", help=_DEMO_HELP),
) -> None:
    """Serve the editors' web app and the public pages with gunicorn (put a TLS proxy in front on the internet)."""
    from gunicorn.app.base import BaseApplication

    settings = web_settings(demo)
    open_database(settings).dispose()  # upgrade the schema once, before the workers start
    settings.secret()  # make the signing secret once, so that every worker shares it
    from aggregator.web.accesslog import ACCESS_LOG_FORMAT, RedactingLogger

    options = {
        "bind": f"{host or settings.web.host}:{port or settings.web.port}",
        "workers": workers or settings.web.workers,
        "timeout": 60,  # "fetch now" may take 20 s
        # threads: a slow client (slow headers, no buffering proxy in front) holds one thread, not a worker
        "worker_class": "gthread",
        "threads": settings.web.threads,
        "accesslog": "-",
        "access_log_format": ACCESS_LOG_FORMAT,
        "logger_class": RedactingLogger,
        "forwarded_allow_ips": "127.0.0.1",
    }

    class _Server(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            from aggregator.web import create_app

            return create_app(settings)  # in each worker: its own engine and connections

    console.print(f"serving on http://{options['bind']}/editor/ (Ctrl+C to stop)")
    _Server().run()


def _read_password() -> str:
    if sys.stdin.isatty():
        return typer.prompt("Password (at least 12 characters)", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")  # piped in: `... | aggregator users add ...`


@users_app.command("add")
def users_add(
    email: str = typer.Argument(..., help="Their email address (they sign in with it)."),
    role: str = typer.Option(
        ..., "--role", help="editor (reviews, composes) or admin (also sources, people, sending)."
    ),
    name: str = typer.Option("", "--name", help="Their name as shown in the app."),
    demo: bool = typer.Option(False, "--demo", help=_DEMO_HELP),
) -> None:
    """Add an account. The password is asked for (or read from stdin), never given as an argument."""
    from aggregator.ingest.run import utcnow
    from aggregator.people.users import Passwords, add_user, check_role

    check_role(role)
    password = _read_password()
    engine = open_database(web_settings(demo))
    with engine.begin() as conn:
        user_id = add_user(conn, email, password, role=role, name=name, now=utcnow(), passwords=Passwords())
    console.print(f"[green]✓[/green] added {email.strip().lower()} as {role} (id {user_id})")


@users_app.command("password")
def users_password(email: str = typer.Argument(..., help="The account's email address.")) -> None:
    """Set a new password for an account (asked for, or read from stdin); it signs them out everywhere."""
    from aggregator.people.users import AccountError, Passwords, find_user_by_email, set_password

    password = _read_password()
    engine = app_ctx().engine
    with engine.begin() as conn:
        user = find_user_by_email(conn, email)
        if user is None:
            raise AccountError(f"no account for {email}")
        set_password(conn, user.id, password, passwords=Passwords())
    console.print(f"[green]✓[/green] new password set for {user.email}")


@users_app.command("list")
def users_list() -> None:
    """Every account with its role and whether it can sign in."""
    from aggregator.people.users import list_users

    with app_ctx().engine.connect() as conn:
        people = list_users(conn)
    table = Table(title="Accounts")
    for column in ("id", "email", "name", "role", "active", "last sign-in"):
        table.add_column(column)
    for p in people:
        table.add_row(
            str(p.id),
            p.email,
            p.name,
            p.role,
            "yes" if p.active else "no",
            f"{p.last_login_at:%Y-%m-%d %H:%M}" if p.last_login_at else "",
        )
    console.print(table)
