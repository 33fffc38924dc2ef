"""One resource: its page with the edit form, and the editors' actions on it (approve, reject, feature, edit, split, undo)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    get_flashed_messages,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from markupsafe import Markup, escape
from sqlalchemy import Connection

from aggregator.errors import AggregatorError
from aggregator.model import ResourceStatus, ResourceType
from aggregator.review.edits import ResourceEdit, Step, edit_resource, set_featured, set_status, undo
from aggregator.review.queue import load_card, resource_title
from aggregator.review.splits import split_resources
from aggregator.web.app import deps
from aggregator.web.forms import EditForm, FormError, RejectForm, parse_form
from aggregator.web.security import require_login, safe_next

logger = logging.getLogger(__name__)
bp = Blueprint("resources", __name__, url_prefix="/editor")
bp.before_request(require_login)


def back(default: str | None = None):
    """303 to the page the form came from (its `next` field, a path on this site), else `default`; to the
    queue's script (X-Requested-With: fetch), what happened as JSON instead, so it can say so on the row."""
    if request.headers.get("X-Requested-With") == "fetch":
        messages = [
            {"category": category, "html": str(escape(message))}
            for category, message in get_flashed_messages(with_categories=True)
        ]
        record = session.get("undo")
        return jsonify(messages=messages, undo=record["label"] if record else None)
    return redirect(safe_next(request.form.get("next"), default or url_for("queue.index")), 303)


def remember_undo(label: str, steps: list[Step]) -> None:
    session["undo"] = {"label": label, "steps": steps}


def short(title: str, limit: int = 70) -> str:
    return title if len(title) <= limit else title[: limit - 1] + "…"


def run_action(label: Callable[[], str], action: Callable[[Connection], list[Step]], *, undoable: bool = True):
    """Run `action` in one transaction; remember its undo steps; tell the editor what happened."""
    context = deps()
    try:
        with context.engine.begin() as conn:
            steps = action(conn)
    except AggregatorError as exc:
        flash(f"Nothing was changed: {exc.message}. Reload the page: someone may have changed it meanwhile.", "error")
        return
    if steps and undoable:
        remember_undo(label(), steps)
    flash(label() + ".", "success")


@bp.get("/resources/<int:resource_id>")
def show(resource_id: int):
    with deps().engine.connect() as conn:
        card = load_card(conn, resource_id)
    if card is None:
        abort(404)
    return render_template(
        "web/resource.html",
        card=card,
        errors={},
        form=None,
        types=[t.value for t in ResourceType],
        next=safe_next(request.args.get("next"), ""),
    )


@bp.post("/resources/<int:resource_id>/approve")
def approve(resource_id: int):
    title = _title(resource_id)
    run_action(
        lambda: f"Approved “{short(title)}”",
        lambda conn: [set_status(conn, resource_id, ResourceStatus.APPROVED, user_id=g.user.id, now=deps().clock())],
    )
    return back()


@bp.post("/resources/<int:resource_id>/reject")
def reject(resource_id: int):
    title = _title(resource_id)
    try:
        form = parse_form(RejectForm, request.form)
    except FormError as exc:
        flash(f"Nothing was changed: {exc.message}", "error")
        return back()
    run_action(
        lambda: f"Rejected “{short(title)}”",
        lambda conn: [
            set_status(
                conn, resource_id, ResourceStatus.REJECTED, user_id=g.user.id, now=deps().clock(), reason=form.reason
            )
        ],
    )
    return back()


@bp.post("/resources/<int:resource_id>/reopen")
def reopen(resource_id: int):
    title = _title(resource_id)
    run_action(
        lambda: f"Moved “{short(title)}” back to the queue",
        lambda conn: [set_status(conn, resource_id, ResourceStatus.PENDING, user_id=g.user.id, now=deps().clock())],
    )
    return back()


@bp.post("/resources/<int:resource_id>/feature")
def feature(resource_id: int):
    title = _title(resource_id)
    wanted = request.form.get("featured") == "1"
    verb = "Featured" if wanted else "Stopped featuring"
    run_action(
        lambda: f"{verb} “{short(title)}”",
        lambda conn: [set_featured(conn, resource_id, wanted, user_id=g.user.id, now=deps().clock())],
    )
    return back()


@bp.post("/resources/<int:resource_id>/edit")
def edit(resource_id: int):
    context = deps()
    with context.engine.connect() as conn:
        card = load_card(conn, resource_id)
    if card is None:
        abort(404)
    try:
        form = parse_form(EditForm, request.form, lists=("audience", "theme"))
        wanted = {kind: frozenset(getattr(form, kind)) for kind in ("audience", "theme")}
        errors = {
            kind: f"Unknown {kind} label: {', '.join(sorted(ids - set(context.taxonomy.ids(kind))))}. "
            f"Choose from the list."
            for kind, ids in wanted.items()
            if ids - set(context.taxonomy.ids(kind))
        }  # type: ignore[arg-type]
        if errors:
            raise FormError(errors)
    except FormError as exc:
        return render_template(
            "web/resource.html",
            card=card,
            errors=exc.errors,
            form=request.form,
            types=[t.value for t in ResourceType],
            next=request.form.get("next", ""),
        ), 400
    change = ResourceEdit(title=form.title, summary=form.summary, labels=wanted)
    run_action(
        lambda: f"Saved your changes to “{short(form.title)}”",
        lambda conn: [
            s
            for s in [
                edit_resource(conn, resource_id, change, user_id=g.user.id, editor=g.user.email, now=context.clock())
            ]
            if s
        ],
    )
    return back(url_for("resources.show", resource_id=resource_id))


@bp.post("/resources/<int:resource_id>/proposed-title")
def proposed_title(resource_id: int):
    context = deps()
    with context.engine.connect() as conn:
        card = load_card(conn, resource_id)
    if card is None or card.proposed_title is None:
        flash("There is no proposed title any more.", "error")
        return back()
    accept = request.form.get("choice") == "accept"
    change = ResourceEdit(title=card.proposed_title if accept else None, clear_proposed_title=True)
    label = f"Now titled “{short(card.proposed_title)}”" if accept else "Kept the current title"
    run_action(
        lambda: label,
        lambda conn: [
            s
            for s in [
                edit_resource(conn, resource_id, change, user_id=g.user.id, editor=g.user.email, now=context.clock())
            ]
            if s
        ],
    )
    return back()


@bp.post("/merges/<int:merge_id>/split")
def split(merge_id: int):
    from aggregator.jobs.monthly import build_classifier, source_hints

    context = deps()
    try:
        with context.engine.begin() as conn:
            done = split_resources(
                conn,
                merge_id,
                user_id=g.user.id,
                editor=g.user.email,
                now=context.clock(),
                classifier=build_classifier(context.settings),
                hints=source_hints(context.sources),
            )
    except AggregatorError as exc:
        flash(f"Nothing was changed: {exc.message}.", "error")
        return back()
    session.pop("undo", None)  # a split is not undone from here; the two will not be merged again
    link = url_for("resources.show", resource_id=done.restored_id)
    flash(
        Markup(
            'Split: <a href="{}">“{}”</a> is a resource of its own again, labelled and back in the queue. '
            "They will not be merged again automatically."
        ).format(link, short(done.restored_title)),
        "success",
    )
    if done.kept_in_issue:
        flash(
            f"“{short(done.kept_title)}” is in the {done.kept_in_issue} issue: approve the split-off one only if "
            "readers should see both.",
            "info",
        )
    return back()


@bp.post("/undo")
def undo_last():
    record = session.get("undo")
    if not record:
        flash("There is nothing to undo.", "info")
        return back()
    context = deps()
    try:
        with context.engine.begin() as conn:
            undo(
                conn,
                record["steps"],
                user_id=g.user.id,
                editor=g.user.email,
                now=context.clock(),
                label=record["label"],
            )
    except AggregatorError as exc:
        flash(f"Could not undo: {exc.message}. Someone may have changed it since.", "error")
        return back()
    session.pop("undo", None)
    flash(f"Undone: {record['label']}.", "success")
    return back()


def _title(resource_id: int) -> str:
    with deps().engine.connect() as conn:
        title = resource_title(conn, resource_id)
    if title is None:
        abort(404)
    return title
