"""Composing the month's issue: the draft's sections, reordering, the intro, previews, a test send and approval."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from markupsafe import Markup
from sqlalchemy import Connection

from aggregator.digest.composition import (
    approve_issue,
    find_issue,
    list_issues,
    prepare_issue,
    reopen_issue,
)
from aggregator.digest.issue import EVENTS, OTHER, load_issue
from aggregator.digest.plan import RecipientCount, count_recipients
from aggregator.errors import AggregatorError
from aggregator.model import IssueStatus
from aggregator.review.approval import IssueNotFound, approval_refusal, require_draft
from aggregator.review.lifecycle import record_audit
from aggregator.review.splits import split_pairs_in_issue
from aggregator.text.markdown import markdown_to_html
from aggregator.web.app import deps
from aggregator.web.forms import FormError, PrepareForm, SendAtForm, parse_form
from aggregator.web.security import require_login

logger = logging.getLogger(__name__)
bp = Blueprint("issues", __name__, url_prefix="/editor/issues")
bp.before_request(require_login)


def section_name(section: str) -> str:
    if section == EVENTS:
        return "Upcoming events"
    if section == OTHER:
        return "Other resources"
    return deps().label_name("theme", section)


def section_choices() -> list[tuple[str, str]]:
    return [(t, section_name(t)) for t in deps().taxonomy.ids("theme")] + [
        (EVENTS, section_name(EVENTS)),
        (OTHER, section_name(OTHER)),
    ]


def _audit_edit(conn: Connection, issue_id: int, what: str, **detail) -> None:
    record_audit(
        conn,
        user_id=g.user.id,
        action="issue-edit",
        subject_type="issue",
        subject_id=issue_id,
        now=deps().clock(),
        detail={"what": what, **detail},
    )


def _draft_or_refuse(conn: Connection, issue_id: int) -> None:
    try:
        require_draft(conn, issue_id)
    except IssueNotFound:
        abort(404)


def _approval_refusal(conn: Connection, issue_id: int) -> str | None:
    """Why the signed-in user may not approve this issue for sending, or None when they may."""
    return approval_refusal(
        conn,
        issue_id,
        user_id=g.user.id,
        is_admin=g.user.is_admin,
        second_editor_approval=deps().settings.web.second_editor_approval,
    )


@bp.get("/")
def index():
    context = deps()
    with context.engine.connect() as conn:
        rows = list_issues(conn)
    month = context.clock().astimezone(context.local_zone).strftime("%Y-%m")
    return render_template("web/issues.html", issues=rows, month=month, errors={})


@bp.post("/prepare")
def prepare():
    try:
        form = parse_form(PrepareForm, request.form)
    except FormError as exc:
        flash(f"Nothing was prepared: {exc.message}", "error")
        return redirect(url_for("issues.index"), 303)
    return _prepare(form.month)


@bp.post("/<int:issue_id>/refresh")
def refresh(issue_id: int):
    with deps().engine.connect() as conn:
        row = find_issue(conn, issue_id)
    if row is None:
        abort(404)
    return _prepare(row.month)


def _prepare(month: str):
    context = deps()
    with context.engine.begin() as conn:
        prepared = prepare_issue(conn, month, user_id=g.user.id, now=context.clock())
    issue_id, added, status = prepared.issue_id, prepared.added, prepared.status
    if status != IssueStatus.DRAFT:
        flash(f"The {month} issue is {status}; nothing was added. Put it back to draft to change it.", "info")
    else:
        flash(
            f"The {month} draft is ready: {added} newly approved resource{'s' if added != 1 else ''} added.", "success"
        )
    return redirect(url_for("issues.show", issue_id=issue_id), 303)


@bp.get("/<int:issue_id>")
def show(issue_id: int):
    context = deps()
    with context.engine.connect() as conn:
        row = find_issue(conn, issue_id)
        if row is None:
            abort(404)
        content = load_issue(conn, issue_id, context.clock(), context.public_source_names())
        refusal = _approval_refusal(conn, issue_id)
        recipients = count_recipients(conn) if row.status == IssueStatus.DRAFT else None
        split_pairs = split_pairs_in_issue(conn, issue_id)
    default_send = (context.clock().astimezone(context.local_zone) + timedelta(days=1)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    return render_template(
        "web/issue.html",
        content=content,
        issue=row,
        sections=content.sections(),
        section_name=section_name,
        section_choices=section_choices(),
        refusal=refusal,
        default_send=default_send.strftime("%Y-%m-%dT%H:%M"),
        errors={},
        recipients=recipients,
        split_pairs=split_pairs,
        intro_html=Markup(markdown_to_html(content.intro)),
        EVENTS=EVENTS,
        preference_sets=_preference_sets(recipients, context),
    )


def _preference_sets(recipients: RecipientCount | None, context) -> list[tuple[str, int]]:
    """Each preference set an approval will mail, in words, with how many chose it (the largest first)."""
    if recipients is None:
        return []
    return [
        (
            ", ".join(
                [context.label_name("audience", a) for a in audiences]
                + [context.label_name("theme", t) for t in themes]
            )
            or "Everything",
            people,
        )
        for audiences, themes, people in recipients.by_preferences
    ]


def _change(issue_id: int, what: str, change, success: str, **detail):
    context = deps()
    try:
        with context.engine.begin() as conn:
            _draft_or_refuse(conn, issue_id)
            change(conn)
            _audit_edit(conn, issue_id, what, **detail)
    except (AggregatorError, KeyError) as exc:
        message = exc.message if isinstance(exc, AggregatorError) else "that resource is not in this issue"
        flash(f"Nothing was changed: {message}.", "error")
    else:
        flash(success, "success")
    return redirect(url_for("issues.show", issue_id=issue_id) + _anchor(), 303)


def _anchor() -> str:
    anchor = request.form.get("anchor", "")
    return anchor if anchor.startswith("#") and anchor[1:].replace("-", "").isalnum() else ""


@bp.post("/<int:issue_id>/approve")
def approve(issue_id: int):
    context = deps()
    try:
        form = parse_form(SendAtForm, request.form)
        local = form.send_at if form.send_at.tzinfo else form.send_at.replace(tzinfo=context.local_zone)
        if local < context.clock() - timedelta(minutes=5):
            raise FormError({"send_at": "Send time: this time has passed; choose a time from now on."})
    except FormError as exc:
        flash(f"The issue was not approved: {exc.message}", "error")
        return redirect(url_for("issues.show", issue_id=issue_id), 303)
    try:
        with context.engine.begin() as conn:
            refusal = _approval_refusal(conn, issue_id)
            if refusal:
                abort(403, description=refusal)
            approve_issue(conn, issue_id, user_id=g.user.id, now=context.clock(), send_at=local)
    except AggregatorError as exc:
        flash(f"The issue was not approved: {exc.message}.", "error")
        return redirect(url_for("issues.show", issue_id=issue_id), 303)
    when = local.astimezone(context.local_zone).strftime("%d %b %Y at %H:%M")
    flash(f"Approved for sending on {when}.", "success")
    return redirect(url_for("issues.show", issue_id=issue_id), 303)


@bp.post("/<int:issue_id>/reopen")
def reopen(issue_id: int):
    context = deps()
    try:
        with context.engine.begin() as conn:
            reopen_issue(conn, issue_id, user_id=g.user.id, now=context.clock())
    except AggregatorError as exc:
        flash(f"Nothing was changed: {exc.message}.", "error")
    else:
        flash("The issue is a draft again and will not be sent until it is approved.", "success")
    return redirect(url_for("issues.show", issue_id=issue_id), 303)
