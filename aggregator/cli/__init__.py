"""The `aggregator` command line: run the pipeline, fetch, check sources, label, manage the database."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from aggregator.errors import AggregatorError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from aggregator.settings import Settings

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


def load_settings() -> Settings:
    """The settings from AGGREGATOR_* variables, imported when a command runs (pydantic is not needed for --help)."""
    from aggregator.settings import Settings

    return Settings()


def open_database(settings: Settings) -> Engine:
    """The engine for the configured database, upgraded to the newest schema."""
    from aggregator.db.engine import create_db_engine, upgrade_database

    engine = create_db_engine(settings.resolved_database_url)
    upgrade_database(engine)
    return engine


def main() -> None:
    try:
        app()
    except AggregatorError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        raise SystemExit(2) from None


# the command modules register themselves on `app`
from aggregator.cli import (  # noqa: E402,F401
    classifying,
    delivery,
    fetching,
    inspecting,
    publishing,
    resources,
    scale,
    sources,
    subscribers,
    web,
)
