"""Sending an approved issue from the web app: send now, the live progress, pause and resume (admins only)."""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, abort, current_app, flash, g, jsonify, redirect, render_template, url_for

from aggregator.digest.errors import SendStateError
from aggregator.digest.sending import pause_send, resume_send, send_progress, start_send_now
from aggregator.jobs.background import BackgroundSender
from aggregator.model import IssueStatus
from aggregator.web.app import deps
from aggregator.web.security import admin_required, require_login

logger = logging.getLogger(__name__)
bp = Blueprint("sending", __name__, url_prefix="/editor/issues")
bp.before_request(require_login)
EXTENSION = "aggregator_sender"


def init_app(app: Flask) -> None:
    """One BackgroundSender per app (tests may put their own at app.extensions["aggregator_sender"] first)."""
    if EXTENSION not in app.extensions:
        context = app.extensions["aggregator"]
        app.extensions[EXTENSION] = BackgroundSender(
            context.engine,
            context.settings,
            taxonomy=context.taxonomy,
            source_names=context.public_source_names(),
        )


def sender() -> BackgroundSender:
    return current_app.extensions[EXTENSION]


def _progress(issue_id: int):
    with deps().engine.connect() as conn:
        try:
            return send_progress(conn, issue_id)
        except SendStateError:
            abort(404)


def _refuse_insecure_links() -> str | None:
    """A real send puts settings.base_url into every subscriber's links: plain http would leak them."""
    settings = deps().settings
    if (
        settings.smtp.host
        and not settings.base_url.lower().startswith("https://")
        and not settings.web.allow_insecure_links
    ):
        return "the site's address (AGGREGATOR_BASE_URL) is not https://, so the links in the mail would not be private"
    return None


@bp.post("/<int:issue_id>/send-now")
@admin_required
def send_now(issue_id: int):
    context = deps()
    refusal = _refuse_insecure_links()
    if refusal:
        flash(f"Nothing was sent: {refusal}.", "error")
        return redirect(url_for("issues.show", issue_id=issue_id), 303)
    try:
        with context.engine.begin() as conn:
            started = start_send_now(conn, issue_id, user_id=g.user.id, now=context.clock())
            progress = send_progress(conn, issue_id)
    except SendStateError as exc:
        flash(f"Nothing was sent: {exc.message}; {exc.hint}.", "error")
        return redirect(url_for("issues.show", issue_id=issue_id), 303)
    if progress.status == IssueStatus.SENDING and not progress.paused:
        sender().start(issue_id)  # also after a click on an issue already sending: picks up a stopped send
    if started:
        flash(f"Sending the {progress.month} issue to {progress.total} subscribers.", "success")
    return redirect(url_for("sending.progress", issue_id=issue_id), 303)


@bp.get("/<int:issue_id>/sending")
def progress(issue_id: int):
    state = _progress(issue_id)
    if state.status in (IssueStatus.DRAFT, IssueStatus.APPROVED):
        return redirect(url_for("issues.show", issue_id=issue_id))
    return render_template("web/sending.html", progress=state, errors=sender().last_errors(issue_id))


@bp.get("/<int:issue_id>/sending.json")
def progress_json(issue_id: int):
    state = _progress(issue_id)
    return jsonify(
        state.as_dict() | {"running": sender().is_running(issue_id), "errors": sender().last_errors(issue_id)}
    )


def _control(issue_id: int, change, done: str, unchanged: str):
    context = deps()
    try:
        with context.engine.begin() as conn:
            changed = change(conn, issue_id, user_id=g.user.id, now=context.clock())
    except SendStateError as exc:
        flash(f"Nothing was changed: {exc.message}.", "error")
        return None
    flash(done if changed else unchanged, "success" if changed else "info")
    return changed


@bp.post("/<int:issue_id>/pause")
@admin_required
def pause(issue_id: int):
    changed = _control(
        issue_id,
        pause_send,
        "Paused: the messages in hand finish, the rest wait until you resume.",
        "The send was already paused.",
    )
    if changed is not None:
        sender().pause(issue_id)
    return redirect(url_for("sending.progress", issue_id=issue_id), 303)


@bp.post("/<int:issue_id>/resume")
@admin_required
def resume(issue_id: int):
    changed = _control(
        issue_id, resume_send, "Resumed: the rest of the messages are going out.", "The send was not paused."
    )
    if changed is not None:
        sender().start(issue_id)
    return redirect(url_for("sending.progress", issue_id=issue_id), 303)
