"""The numbers page: each issue's recipients, deliveries, failures, bounces and unsubscribes, and months of
subscribers and of resources per source, as server-rendered SVG charts with their tables."""

from __future__ import annotations

from flask import Blueprint, render_template

from aggregator.digest.stats import entries_by_source_month, issue_figures, subscribers_by_month
from aggregator.web.app import deps
from aggregator.web.charts import bar_chart
from aggregator.web.security import require_login

bp = Blueprint("dashboard", __name__, url_prefix="/editor/numbers")
bp.before_request(require_login)


@bp.get("/")
def index():
    context = deps()
    now, zone = context.clock(), context.local_zone
    with context.engine.connect() as conn:
        figures = issue_figures(conn)
        people = subscribers_by_month(conn, now, zone)
        by_source = entries_by_source_month(conn, now, zone)
    shown = list(reversed(figures))  # oldest first, left to right
    return render_template(
        "web/dashboard.html",
        figures=figures,
        delivered_chart=bar_chart(tuple(f.month for f in shown), tuple(f.delivered for f in shown)),
        people=people,
        people_chart=bar_chart(tuple(m[2:] for m in people.months), people.values),
        sources=[
            (context.source_name(s.name), s, bar_chart(tuple(m[5:] for m in s.months), s.values, width=360, height=140))
            for s in by_source
        ],
    )
