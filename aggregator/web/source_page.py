"""A page per source (on the sources blueprint): its fetch history, a sparkline of entries per run, the drift
alarm and pause, with "fetch now" and "check this source" for admins."""

from __future__ import annotations

from flask import abort, render_template

from aggregator.review.health import source_health
from aggregator.review.source_history import source_history, sparkline
from aggregator.web.app import deps
from aggregator.web.sources import bp, explain_problem


@bp.get("/<source_id>")
def show(source_id: str):
    context = deps()
    config = next((s for s in context.sources if s.id == source_id), None)
    if config is None:
        abort(404)
    (health,) = source_health(context.engine, [config], now=context.clock())
    with context.engine.connect() as conn:
        history = source_history(conn, source_id)
    return render_template(
        "web/source.html",
        config=config,
        health=health,
        history=history,
        line=sparkline(history.runs),
        explanation=explain_problem(health.problem),
        explain=explain_problem,
    )
