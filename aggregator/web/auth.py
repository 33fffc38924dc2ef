"""Signing in and out: a fresh session at each sign-in, and a per-sign-in stamp that sign-out and a new password revoke.

Flask keeps the session in a signed cookie, which has no id to renew. So at sign-in the session is
cleared and re-signed with a fresh random nonce (the cookie value changes completely, and a CSRF token
planted before sign-in is gone), and the session carries two things checked on every request against
the user's row: the sign-in stamp (`users.last_login_at`, set at each sign-in and at sign-out) and a
keyed fingerprint of the password hash. Signing out, signing in elsewhere, or changing the password
therefore ends every older copy of the cookie: one signed-in session per account at a time.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import timedelta

from flask import Blueprint, Flask, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address

from aggregator.people.users import SignInError, User, authenticate, find_user, record_sign_in
from aggregator.review.lifecycle import record_audit
from aggregator.web.app import SESSION_HOURS, deps
from aggregator.web.forms import FormError, LoginForm, parse_form
from aggregator.web.security import safe_next

logger = logging.getLogger(__name__)
bp = Blueprint("auth", __name__, url_prefix="/editor")


def init_auth(app: Flask) -> None:
    """Load the signed-in user before every request (every blueprint sees `g.user`)."""
    app.before_request(load_user)


def init_app(app: Flask) -> None:
    """Rate-limit failed sign-ins per client address and account together (so that nobody can lock an
    editor out by failing sign-ins to their account from elsewhere), and more loosely per client address."""
    context = app.extensions["aggregator"]
    web = context.settings.web

    def failed(response) -> bool:
        return response.status_code not in (302, 303)

    def address_and_account() -> str:
        return f"{get_remote_address()}|{(request.form.get('email') or '').strip().lower() or '-'}"

    view = app.view_functions["auth.login"]
    view = context.limiter.limit(
        web.login_rate_limit,
        key_func=address_and_account,
        methods=["POST"],
        deduct_when=failed,
        scope="sign-in-account",
    )(view)
    view = context.limiter.limit(web.login_ip_rate_limit, methods=["POST"], deduct_when=failed, scope="sign-in-ip")(
        view
    )
    app.view_functions["auth.login"] = view


def fingerprint(user: User) -> str:
    return hmac.new(current_app.config["SECRET_KEY"].encode(), user.password_hash.encode(), hashlib.sha256).hexdigest()[
        :32
    ]


def load_user() -> None:
    g.user = None
    user_id = session.get("uid")
    if user_id is None:
        return
    context = deps()
    with context.engine.connect() as conn:
        user = find_user(conn, user_id)
    stamp = user.last_login_at if user else None
    valid = (
        user is not None
        and user.active
        and stamp is not None
        and session.get("since") == stamp.isoformat()
        and hmac.compare_digest(session.get("pw", ""), fingerprint(user))
        and context.clock() - stamp < timedelta(hours=SESSION_HOURS)
    )
    if not valid:
        session.clear()
        return
    g.user = user


def start_session(user: User) -> None:
    """Replace whatever session there was with a new one for `user` (new nonce, new CSRF token)."""
    context = deps()
    now = context.clock()
    with context.engine.begin() as conn:
        record_sign_in(conn, user.id, now)
        record_audit(conn, user_id=user.id, action="sign-in", subject_type="user", subject_id=user.id, now=now)
        user = find_user(conn, user.id) or user
    session.clear()
    session.permanent = True
    session["uid"] = user.id
    session["since"] = user.last_login_at.isoformat() if user.last_login_at else ""
    session["pw"] = fingerprint(user)
    session["nonce"] = secrets.token_urlsafe(16)
    g.user = user


@bp.route("/login", methods=["GET", "POST"])
def login():
    target = safe_next(request.values.get("next"), url_for("queue.index"))
    if request.method == "GET":
        if g.user is not None:
            return redirect(target)
        return render_template("web/login.html", next=target, errors={}, email="")
    context = deps()
    try:
        form = parse_form(LoginForm, request.form)
        with context.engine.begin() as conn:
            user = authenticate(conn, form.email, form.password, passwords=context.passwords)
    except (FormError, SignInError) as exc:
        errors = exc.errors if isinstance(exc, FormError) else {"form": exc.message}
        logger.info("sign-in refused", extra={"url": request.path})
        return render_template(
            "web/login.html", next=target, errors=errors, email=request.form.get("email", "")[:320]
        ), 200
    start_session(user)
    flash(f"Signed in as {user.display_name}.", "info")
    return redirect(target, 303)


@bp.post("/logout")
def logout():
    if g.user is not None:
        context = deps()
        now = context.clock()
        with context.engine.begin() as conn:
            record_sign_in(conn, g.user.id, now)  # a new stamp: copies of this session's cookie stop working
            record_audit(conn, user_id=g.user.id, action="sign-out", subject_type="user", subject_id=g.user.id, now=now)
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"), 303)
