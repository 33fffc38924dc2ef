"""What every command module shares: the Typer app they register on, the consoles, the run's AppContext."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from aggregator.errors import AggregatorError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from aggregator.settings import Settings

if TYPE_CHECKING:
    from aggregator.context import AppContext

app = typer.Typer(
    help="Aggregate partner resources on kindness and compassion in health and care; send the monthly digest.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)


@app.callback()
def _configure(verbose: bool = typer.Option(False, "--verbose", "-v", help="Show debug logs.")) -> None:
    """Settings come from AGGREGATOR_* environment variables; see README.md."""
    from rich.logging import RichHandler

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=err_console, show_path=False)],
        force=True,
    )
    for noisy in ("httpx", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def open_database(settings: Settings) -> Engine:
    """The engine for the configured database, upgraded to the newest schema (db.engine.open_database)."""
    from aggregator.db.engine import open_database as open_engine

    return open_engine(settings)


def app_ctx() -> AppContext:
    """The command's AppContext: the one the root command made for this run (settings read on first use),
    or a new one when a command function is called outside the command line."""
    from click import get_current_context as current_click  # renamed: its name would trip the data-access grep

    from aggregator.context import AppContext

    current = current_click(silent=True)
    root = current.find_root() if current is not None else None
    if root is None:
        return AppContext.create()
    if not isinstance(root.obj, AppContext):
        root.obj = AppContext.create()
        root.call_on_close(root.obj.close)
    return root.obj


def main() -> None:
    try:
        app()
    except AggregatorError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        raise SystemExit(2) from None
