"""The subscribers page (admins): search and filter, one person's record, CSV import with a dry run, export, erase."""

from __future__ import annotations

import json
import logging

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for

from aggregator.errors import AggregatorError
from aggregator.people.subscriber_admin import erase_subscriber, export_subscriber
from aggregator.people.subscriber_lists import (
    PAGE,
    STATUSES,
    email_of,
    export_csv,
    import_rows,
    parse_csv_rows,
    search_subscribers,
    subscriber_record,
)
from aggregator.review.lifecycle import record_audit
from aggregator.web.app import deps
from aggregator.web.security import admin_required, require_login

logger = logging.getLogger(__name__)
bp = Blueprint("subscribers", __name__, url_prefix="/editor/subscribers")
bp.before_request(require_login)


def _audit(action: str, subject_id: object, detail: dict | None = None) -> None:
    context = deps()
    with context.engine.begin() as conn:
        record_audit(
            conn,
            user_id=g.user.id,
            action=action,
            subject_type="subscriber",
            subject_id=subject_id,
            now=context.clock(),
            detail=detail,
        )


@bp.get("/")
@admin_required
def index():
    args = request.args
    status = args.get("status", "") if args.get("status", "") in STATUSES else ""
    preference = args.get("preference", "")[:64]
    query = args.get("q", "")[:320]
    offset = max(args.get("offset", 0, type=int), 0)
    with deps().engine.connect() as conn:
        page = search_subscribers(conn, query=query, status=status, preference=preference, offset=offset)
    filters = {"q": query or None, "status": status or None, "preference": preference or None}
    more = url_for("subscribers.index", **filters, offset=offset + PAGE) if offset + PAGE < page.total else None
    back = url_for("subscribers.index", **filters, offset=max(offset - PAGE, 0) or None) if offset else None
    return render_template(
        "web/subscribers.html",
        page=page,
        statuses=STATUSES,
        query=query,
        status=status,
        preference=preference,
        more=more,
        back=back,
        first=offset + 1,
    )


@bp.get("/export.csv")
@admin_required
def export():
    status = request.args.get("status", "")
    status = status if status in STATUSES else ""
    with deps().engine.connect() as conn:
        body = export_csv(conn, status=status)
    _audit("subscribers-export", status or "all", {"rows": body.count("\n") - 1})
    name = f"subscribers-{status or 'all'}-{deps().clock():%Y-%m-%d}.csv"
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/<int:subscriber_id>")
@admin_required
def record(subscriber_id: int):
    with deps().engine.connect() as conn:
        found = subscriber_record(conn, subscriber_id)
    if found is None:
        abort(404)
    return render_template("web/subscriber.html", record=found, person=found.subscriber)


@bp.get("/<int:subscriber_id>/export.json")
@admin_required
def export_person(subscriber_id: int):
    """Everything held about one person (a subject access request), as the CLI's `subscribers export` gives it."""
    with deps().engine.connect() as conn:
        email = email_of(conn, subscriber_id)
        if email is None:
            abort(404)
        data = export_subscriber(conn, email)
    _audit("subscriber-export", subscriber_id)
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2),
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="subscriber-{subscriber_id}.json"'},
    )


@bp.post("/<int:subscriber_id>/erase")
@admin_required
def erase(subscriber_id: int):
    """Erase one person after the admin typed their address again; the audit line keeps nothing identifying."""
    context = deps()
    typed = request.form.get("confirm_email", "").strip().lower()
    with context.engine.begin() as conn:
        email = email_of(conn, subscriber_id)
        if email is None:
            abort(404)
        if typed != email:
            flash("Nothing was erased: type the person's email address exactly to confirm.", "error")
            return redirect(url_for("subscribers.record", subscriber_id=subscriber_id) + "#erase", 303)
        erase_subscriber(conn, email)
        record_audit(
            conn,
            user_id=g.user.id,
            action="subscriber-erase",
            subject_type="subscriber",
            subject_id="erased",
            now=context.clock(),
        )
    flash("The subscriber and everything about them were erased. Their links in past emails no longer work.", "success")
    return redirect(url_for("subscribers.index"), 303)


@bp.route("/import", methods=["GET", "POST"])
@admin_required
def import_list():
    """Upload a CSV (email, audiences, themes) with the consent basis; "Check" is a dry run, "Import" writes."""
    if request.method == "GET":
        return render_template("web/subscribers_import.html", report=None, basis="", dry_run=True, error=None)
    context = deps()
    basis = request.form.get("basis", "")[:600]
    dry_run = request.form.get("action") != "import"
    upload = request.files.get("file")
    report, error = None, None
    try:
        if upload is None or not upload.filename:
            raise AggregatorError("choose a CSV file first")
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise AggregatorError('the file is not UTF-8 text: save it as "CSV UTF-8" from your spreadsheet') from None
        rows = parse_csv_rows(text, upload.filename)
        report = import_rows(context.engine, rows, basis, context.clock(), taxonomy=context.taxonomy, dry_run=dry_run)
    except AggregatorError as exc:
        error = str(exc)
    if report is not None and not dry_run:
        _audit(
            "subscribers-import",
            "list",
            {"imported": report.imported, "existing": report.existing, "invalid": len(report.invalid)},
        )
    return render_template("web/subscribers_import.html", report=report, basis=basis, dry_run=dry_run, error=error), (
        200 if error is None else 400
    )
