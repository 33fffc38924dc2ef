"""Composing the month's issue: the draft's sections, reordering, the intro, previews, a test send and approval."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import Connection

from aggregator.digest.composition import (
    approve_issue,
    find_issue,
    list_issues,
    prepare_issue,
    reopen_issue,
    target_position,
)
from aggregator.digest.issue import EVENTS, OTHER, load_issue, move_item, remove_item, set_intro
from aggregator.digest.plan import RecipientCount, count_recipients
from aggregator.digest.preview import Reader, find_reader, render_preview, send_test_copy
from aggregator.errors import AggregatorError
from aggregator.model import IssueStatus
from aggregator.review.approval import IssueNotFound, approval_refusal, require_draft
from aggregator.review.lifecycle import record_audit
from aggregator.web.app import deps
from aggregator.web.forms import EmailForm, FormError, IntroForm, MoveForm, PrepareForm, SendAtForm, parse_form
from aggregator.web.security import PREVIEW_CSP, require_login

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


@bp.post("/<int:issue_id>/items/<int:resource_id>/move")
def move(issue_id: int, resource_id: int):
    try:
        form = parse_form(MoveForm, request.form)
    except FormError as exc:
        flash(f"Nothing was moved: {exc.message}", "error")
        return redirect(url_for("issues.show", issue_id=issue_id), 303)
    direction = request.form.get("direction")
    if form.section and form.section not in dict(section_choices()):
        flash("Nothing was moved: choose a section from the list.", "error")
        return redirect(url_for("issues.show", issue_id=issue_id), 303)

    def change(conn: Connection) -> None:
        if direction in ("up", "down") or form.position is not None:
            position = target_position(conn, issue_id, resource_id, direction, form.position)
            if position is not None:
                move_item(conn, issue_id, resource_id, position=position)
        if form.section:
            move_item(conn, issue_id, resource_id, section=form.section)

    return _change(
        issue_id,
        "move",
        change,
        "Moved.",
        resource=resource_id,
        direction=direction,
        position=form.position,
        section=form.section,
    )


@bp.post("/<int:issue_id>/items/<int:resource_id>/remove")
def remove(issue_id: int, resource_id: int):
    return _change(
        issue_id,
        "remove",
        lambda conn: remove_item(conn, issue_id, resource_id),
        "Removed from this issue; it stays approved and can go into a later issue.",
        resource=resource_id,
    )


@bp.post("/<int:issue_id>/intro")
def intro(issue_id: int):
    try:
        form = parse_form(IntroForm, request.form)
    except FormError as exc:
        flash(f"The introduction was not saved: {exc.message}", "error")
        return redirect(url_for("issues.show", issue_id=issue_id), 303)
    return _change(
        issue_id,
        "intro",
        lambda conn: set_intro(conn, issue_id, form.intro.strip(), deps().clock()),
        "Introduction saved.",
    )


def _reader() -> Reader:
    context = deps()
    email = (request.args.get("subscriber") or "").strip()
    if email:
        with context.engine.connect() as conn:
            found = find_reader(conn, email)
        if found is None:
            flash(f"No subscriber with the address {email}; showing the choices ticked below instead.", "error")
        else:
            return found
    audiences = tuple(a for a in request.args.getlist("audience") if a in context.taxonomy.ids("audience"))
    themes = tuple(t for t in request.args.getlist("theme") if t in context.taxonomy.ids("theme"))
    return Reader(audiences, themes)


def _preview(issue_id: int):
    context = deps()
    with context.engine.connect() as conn:
        if find_issue(conn, issue_id) is None:
            abort(404)
        content = load_issue(conn, issue_id, context.clock(), context.public_source_names())
    reader = _reader()
    return reader, render_preview(content, reader, settings=context.settings, taxonomy=context.taxonomy)


@bp.get("/<int:issue_id>/preview")
def preview(issue_id: int):
    reader, rendered = _preview(issue_id)
    frame = url_for("issues.preview_html", issue_id=issue_id, **request.args.to_dict(flat=False))
    return render_template(
        "web/preview.html",
        issue_id=issue_id,
        reader=reader,
        preview=rendered,
        who=reader.description(deps().taxonomy),
        frame_url=frame,
        args=request.args,
    )


@bp.get("/<int:issue_id>/preview.html")
def preview_html(issue_id: int):
    _, rendered = _preview(issue_id)
    response = Response(rendered.html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = PREVIEW_CSP
    return response


@bp.post("/<int:issue_id>/test")
def send_test(issue_id: int):
    context = deps()
    try:
        form = parse_form(EmailForm, request.form)
    except FormError as exc:
        flash(f"No test was sent: {exc.message}", "error")
        return redirect(url_for("issues.show", issue_id=issue_id), 303)
    with context.engine.connect() as conn:
        if find_issue(conn, issue_id) is None:
            abort(404)
        content = load_issue(conn, issue_id, context.clock(), context.public_source_names())
    try:
        send_test_copy(content, form.email, settings=context.settings, taxonomy=context.taxonomy, now=context.clock())
    except (AggregatorError, OSError) as exc:
        flash(f"The test was not sent: {exc}", "error")
    else:
        with context.engine.begin() as conn:
            record_audit(
                conn,
                user_id=g.user.id,
                action="issue-test",
                subject_type="issue",
                subject_id=issue_id,
                now=context.clock(),
                detail={"to": form.email},
            )
        flash(f"A test copy was sent to {form.email}.", "success")
    return redirect(url_for("issues.show", issue_id=issue_id), 303)


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
