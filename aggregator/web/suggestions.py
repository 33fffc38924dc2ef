"""Suggest a resource: a public form (rate-limited per address, with a honeypot) and an editor's "add by URL";
both read the page's metadata through the guarded fetcher and put it in the review queue as suggested."""

from __future__ import annotations

import logging
from email.utils import parseaddr

from flask import Blueprint, Flask, flash, g, make_response, redirect, render_template, request, url_for

from aggregator.ingest.suggest import NOTE_MAX, PageUnreadable, Suggestion, SuggestionError, suggest_resource
from aggregator.review.lifecycle import record_audit
from aggregator.web.app import deps
from aggregator.web.security import require_login

logger = logging.getLogger(__name__)
bp = Blueprint("suggestions", __name__)
SUGGEST_RATE_LIMIT = "5 per hour;20 per day"
HONEYPOT = "website"  # a field people never see; a robot that fills it in is thanked and ignored


def init_app(app: Flask) -> None:
    """Rate-limit the public form's POSTs per client address (the counters every worker shares)."""
    context = app.extensions["aggregator"]
    endpoint = "suggestions.suggest_post"
    app.view_functions[endpoint] = context.limiter.limit(SUGGEST_RATE_LIMIT, methods=["POST"], scope="suggest-ip")(
        app.view_functions[endpoint]
    )


def _suggest(url: str, note: str, suggested_by: str) -> Suggestion:
    from aggregator.jobs.monthly import build_classifier, source_hints
    from aggregator.web.sources import _route_fetcher

    context = deps()
    with _route_fetcher() as fetcher:
        return suggest_resource(
            context.engine,
            fetcher,
            url,
            suggested_by=suggested_by,
            note=note,
            base_url=context.settings.base_url,
            classifier=build_classifier(context.settings),
            hints=source_hints(context.sources),
            now=context.clock(),
        )


def _public(name: str, status: int = 200, **values):
    settings = deps().settings
    list_name = parseaddr(settings.mail.from_address)[0] or "the monthly digest"
    response = make_response(render_template(f"web/public/{name}", list_name=list_name, **values), status)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/suggest")
def suggest_page():
    return _public("suggest.html", url="", note="", error=None)


@bp.post("/suggest")
def suggest_post():
    url = request.form.get("url", "").strip()[:2000]
    note = request.form.get("note", "").strip()[:NOTE_MAX]
    if request.form.get(HONEYPOT):
        logger.info("suggestion honeypot filled in: ignored", extra={"url": request.path})
        return _public("suggested.html")
    try:
        _suggest(url, note, "a reader")
    except SuggestionError as exc:
        return _public("suggest.html", 400, url=url, note=note, error=exc.message)
    return _public("suggested.html")


@bp.get("/editor/suggest")
def add_by_url_page():
    if (refused := require_login()) is not None:
        return refused
    return render_template("web/suggest.html", url="", note="", error=None)


@bp.post("/editor/suggest")
def add_by_url():
    if (refused := require_login()) is not None:
        return refused
    url = request.form.get("url", "").strip()[:2000]
    note = request.form.get("note", "").strip()[:NOTE_MAX]
    try:
        found = _suggest(url, note, g.user.display_name)
    except SuggestionError as exc:
        error = f"{exc.message} {exc.detail}" if isinstance(exc, PageUnreadable) else exc.message
        return render_template("web/suggest.html", url=url, note=note, error=error), 400
    context = deps()
    with context.engine.begin() as conn:
        record_audit(
            conn,
            user_id=g.user.id,
            action="suggest",
            subject_type="resource",
            subject_id=found.resource_id,
            now=context.clock(),
            detail={"url": url, "known": found.known},
        )
    if found.known:
        flash(f"“{found.title}” is already here: nothing was added.", "info")
    else:
        flash(f"Added “{found.title}” to the review queue as suggested, with its labels.", "success")
    return redirect(url_for("resources.show", resource_id=found.resource_id), 303)
