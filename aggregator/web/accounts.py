"""Accounts: admins add editors, change roles and turn accounts off; everyone can change their own password."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from aggregator.people.users import AccountError, add_user, find_user, list_users, set_active, set_password, set_role
from aggregator.review.lifecycle import record_audit
from aggregator.web.app import deps
from aggregator.web.auth import start_session
from aggregator.web.forms import FormError, PasswordForm, UserForm, parse_form
from aggregator.web.security import admin_required, require_login

logger = logging.getLogger(__name__)
bp = Blueprint("accounts", __name__, url_prefix="/editor")
bp.before_request(require_login)


@bp.get("/users")
@admin_required
def index():
    with deps().engine.connect() as conn:
        people = list_users(conn)
    return render_template("web/users.html", people=people, errors={}, form={})


@bp.post("/users")
@admin_required
def add():
    context = deps()
    try:
        form = parse_form(UserForm, request.form)
        with context.engine.begin() as conn:
            user_id = add_user(
                conn,
                form.email,
                form.password,
                role=form.role,
                name=form.name,
                now=context.clock(),
                passwords=context.passwords,
            )
            record_audit(
                conn,
                user_id=g.user.id,
                action="user-add",
                subject_type="user",
                subject_id=user_id,
                now=context.clock(),
                detail={"role": form.role},
            )
    except (FormError, AccountError) as exc:
        errors = exc.errors if isinstance(exc, FormError) else {"form": f"The account was not added: {exc.message}."}
        with context.engine.connect() as conn:
            people = list_users(conn)
        safe = {k: v for k, v in request.form.items() if k != "password"}
        return render_template("web/users.html", people=people, errors=errors, form=safe), 400
    flash(
        f"Added {form.email} as {form.role}. Give them their password in person or by phone, not by email.", "success"
    )
    return redirect(url_for("accounts.index"), 303)


@bp.post("/users/<int:user_id>")
@admin_required
def change(user_id: int):
    context = deps()
    what = request.form.get("change", "")
    try:
        with context.engine.begin() as conn:
            person = find_user(conn, user_id)
            if person is None:
                abort(404)
            if what in ("editor", "admin"):
                set_role(conn, user_id, what)
                message = f"{person.email} is now an {what}."
            elif what in ("deactivate", "activate"):
                if user_id == g.user.id and what == "deactivate":
                    raise AccountError("you cannot turn off your own account")
                set_active(conn, user_id, what == "activate")
                message = f"{person.email} can {'now' if what == 'activate' else 'no longer'} sign in."
            else:
                abort(400)
            record_audit(
                conn,
                user_id=g.user.id,
                action="user-change",
                subject_type="user",
                subject_id=user_id,
                now=context.clock(),
                detail={"change": what},
            )
    except AccountError as exc:
        flash(f"Nothing was changed: {exc.message}.", "error")
    else:
        flash(message, "success")
    return redirect(url_for("accounts.index"), 303)


@bp.route("/account", methods=["GET", "POST"])
def account():
    context = deps()
    if request.method == "GET":
        return render_template("web/account.html", errors={})
    try:
        form = parse_form(PasswordForm, request.form)
        if not context.passwords.verify(g.user.password_hash, form.current):
            raise FormError({"current": "Current password: this is not your current password."})
        if form.new != form.confirm:
            raise FormError({"confirm": "New password again: the two new passwords are not the same."})
        with context.engine.begin() as conn:
            set_password(conn, g.user.id, form.new, passwords=context.passwords)
            record_audit(
                conn,
                user_id=g.user.id,
                action="user-change",
                subject_type="user",
                subject_id=g.user.id,
                now=context.clock(),
                detail={"change": "password"},
            )
            user = find_user(conn, g.user.id)
    except AccountError as exc:
        return render_template("web/account.html", errors={"new": f"New password: {exc.message}."}), 400
    except FormError as exc:
        return render_template("web/account.html", errors=exc.errors), 400
    start_session(user)  # every other session of this account ends; this one is renewed
    flash("Your password is changed. You stay signed in here; you are signed out everywhere else.", "success")
    return redirect(url_for("accounts.account"), 303)
