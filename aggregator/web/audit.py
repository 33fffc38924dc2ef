"""The audit log page: who approved, rejected, edited, split, approved an issue, and when; and the merges the pipeline made."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for

from aggregator.review.audit import ACTIONS, AuditRow, audit_page, merge_page
from aggregator.web.app import deps
from aggregator.web.security import require_login

__all__ = ["ACTIONS", "AuditRow", "bp"]

bp = Blueprint("audit", __name__, url_prefix="/editor/audit")
bp.before_request(require_login)


@bp.get("/")
def index():
    action = request.args.get("action", "")
    before = request.args.get("before", type=int)
    with deps().engine.connect() as conn:
        entries, has_more = audit_page(conn, action=action, before=before)
    more = url_for("audit.index", action=action or None, before=entries[-1].id) if has_more else None
    return render_template(
        "web/audit.html",
        entries=entries,
        action=action,
        actions=ACTIONS,
        more=more,
        first=url_for("audit.index", action=action or None) if before else None,
    )


@bp.get("/merges")
def merge_list():
    before = request.args.get("before", type=int)
    with deps().engine.connect() as conn:
        rows, has_more = merge_page(conn, before=before)
    more = url_for("audit.merge_list", before=rows[-1].id) if has_more else None
    return render_template(
        "web/merges.html", merges=rows, more=more, first=url_for("audit.merge_list") if before else None
    )
