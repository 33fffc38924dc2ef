"""The review queue: pending resources newest first, filters, and bulk approve/reject of a selection."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, g, render_template, request, session, url_for

from aggregator.model import SUGGESTED, ResourceStatus, ResourceType
from aggregator.review.edits import set_status
from aggregator.review.queue import OFF_TOPIC, SORTS, STATUSES, CursorError, QueueFilter, queue_page
from aggregator.web.app import deps
from aggregator.web.forms import BulkForm, FormError, parse_form
from aggregator.web.resources import back, run_action
from aggregator.web.security import require_login

logger = logging.getLogger(__name__)
bp = Blueprint("queue", __name__, url_prefix="/editor")
bp.before_request(require_login)
VIEWS = ("cards", "list")  # a card per resource | one line per resource (the compact list)


def read_filter() -> QueueFilter:
    """The filters from the query string; unknown values fall back to 'any' rather than erroring."""
    context = deps()
    args = request.args

    def pick(name: str, allowed, default: str = "") -> str:
        value = args.get(name, default)
        return value if value in allowed else default

    return QueueFilter(
        status=pick("status", STATUSES, ResourceStatus.PENDING.value),
        source=pick("source", {s.id for s in context.sources} | {SUGGESTED}),
        theme=pick("theme", set(context.taxonomy.ids("theme"))),
        audience=pick("audience", set(context.taxonomy.ids("audience"))),
        type=pick("type", {t.value for t in ResourceType}),
        off_topic=pick("off_topic", OFF_TOPIC, "hide"),
        sort=pick("sort", SORTS, "newest"),
    )


def read_view() -> str:
    """Cards or the compact list: the query string's choice, else the one this editor last chose."""
    wanted = request.args.get("view")
    if wanted in VIEWS:
        session["queue_view"] = wanted
        return wanted
    return session.get("queue_view") if session.get("queue_view") in VIEWS else "cards"


@bp.get("/")
def index():
    context = deps()
    flt = read_filter()
    view = read_view()
    cursor = request.args.get("after") or None
    try:
        with context.engine.connect() as conn:
            page = queue_page(conn, flt, cursor)
    except CursorError as exc:
        abort(400, description=str(exc))
    here = request.full_path.rstrip("?")
    next_url = url_for("queue.index", **flt.as_query(), after=page.next_cursor) if page.next_cursor else None
    return render_template(
        "web/queue.html",
        view=view,
        view_urls={v: url_for("queue.index", **flt.as_query(), view=v) for v in VIEWS},
        page=page,
        flt=flt,
        here=here,
        next_url=next_url,
        first_url=url_for("queue.index", **flt.as_query()) if cursor else None,
        sources=context.sources,
        suggested=SUGGESTED,
        types=[t.value for t in ResourceType],
    )


@bp.post("/bulk")
def bulk():
    try:
        form = parse_form(BulkForm, request.form, lists=("ids",))
    except FormError as exc:
        message = (
            "Select at least one resource first (tick its box, or press x)." if "ids" in exc.errors else exc.message
        )
        flash(f"Nothing was changed: {message}", "error")
        return back()
    context = deps()
    new = ResourceStatus.APPROVED if form.action == "approve" else ResourceStatus.REJECTED
    count = len(set(form.ids))

    def action(conn):
        now = context.clock()
        return [
            set_status(conn, rid, new, user_id=g.user.id, now=now, reason=form.reason or None)
            for rid in sorted(set(form.ids))
        ]

    verb = "Approved" if new == ResourceStatus.APPROVED else "Rejected"
    run_action(lambda: f"{verb} {count} resource{'s' if count != 1 else ''}", action)
    return back()
