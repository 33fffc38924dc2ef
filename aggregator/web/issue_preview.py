"""The issue's previews: one reader's copy as a page and as the mail's HTML, and a test copy sent to an editor."""

from __future__ import annotations

from flask import Response, abort, flash, g, redirect, render_template, request, url_for

from aggregator.digest.composition import find_issue
from aggregator.digest.issue import load_issue
from aggregator.digest.preview import Reader, find_reader, render_preview, send_test_copy
from aggregator.errors import AggregatorError
from aggregator.review.lifecycle import record_audit
from aggregator.web.app import deps
from aggregator.web.composition import bp
from aggregator.web.forms import EmailForm, FormError, parse_form
from aggregator.web.security import PREVIEW_CSP


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
