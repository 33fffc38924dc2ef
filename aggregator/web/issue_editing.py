"""Editing the issue's draft: moving items (buttons, or drag and drop sending the whole order), moving
sections, taking items out, and the Markdown intro with its preview."""

from __future__ import annotations

import json

from flask import flash, jsonify, redirect, request, url_for
from markupsafe import Markup
from sqlalchemy import Connection

from aggregator.digest.composition import LayoutError, move_section, reorder_issue, target_position
from aggregator.digest.issue import move_item, remove_item, set_intro
from aggregator.errors import AggregatorError
from aggregator.text.markdown import markdown_to_html
from aggregator.web.app import deps
from aggregator.web.composition import _change, bp, section_choices
from aggregator.web.forms import FormError, IntroForm, MoveForm, parse_form


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


@bp.post("/<int:issue_id>/order")
def order(issue_id: int):
    """The whole order after a drag and drop: `layout` is JSON [[section, [resource ids...]], ...]."""
    try:
        layout = [(str(section), [int(rid) for rid in ids]) for section, ids in json.loads(request.form["layout"])]
    except (KeyError, TypeError, ValueError):
        layout = None
    if layout is None:
        return _answer(issue_id, LayoutError("the order sent could not be read"))
    choices = dict(section_choices())
    return _answer(
        issue_id,
        None,
        lambda conn: reorder_issue(conn, issue_id, layout, sections=choices),
        "Order saved.",
        what="order",
        sections=[section for section, _ in layout],
    )


@bp.post("/<int:issue_id>/sections/<section>/move")
def section_move(issue_id: int, section: str):
    direction = "up" if request.form.get("direction") == "up" else "down"
    name = dict(section_choices()).get(section, section)
    return _answer(
        issue_id,
        None,
        lambda conn: move_section(conn, issue_id, section, direction),
        f"Moved the section “{name}” {direction}.",
        what="section",
        section=section,
        direction=direction,
    )


def _answer(issue_id: int, refused: AggregatorError | None, change=None, success: str = "", **detail):
    """Apply `change` like every edit of the draft; to the page's script, the outcome as JSON."""
    wants_json = request.headers.get("X-Requested-With") == "fetch"
    if refused is not None:
        if wants_json:
            return jsonify(ok=False, message=f"Nothing was changed: {refused.message}."), 400
        flash(f"Nothing was changed: {refused.message}.", "error")
        return redirect(url_for("issues.show", issue_id=issue_id), 303)
    response = _change(issue_id, detail.pop("what"), change, success, **detail)
    if not wants_json:
        return response
    from flask import get_flashed_messages

    (category, message), *_ = get_flashed_messages(with_categories=True) or [("error", "Nothing happened.")]
    return jsonify(ok=category == "success", message=str(message)), 200 if category == "success" else 409


@bp.post("/<int:issue_id>/intro/preview")
def intro_preview(issue_id: int):
    """The intro as readers will see it (Markdown, cleaned): a fragment for the page's preview."""
    try:
        form = parse_form(IntroForm, request.form)
    except FormError as exc:
        return jsonify(html="", error=exc.message), 400
    return jsonify(html=str(Markup(markdown_to_html(form.intro))))
