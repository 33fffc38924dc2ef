"""The `aggregator` command line: run the pipeline, fetch, check sources, label, manage the database."""

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
from aggregator.cli.base import app, app_ctx, console, err_console, main, open_database  # noqa: F401
