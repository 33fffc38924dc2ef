"""The public subscription pages: subscribe (double opt-in), confirm, preferences and RFC 8058 one-click unsubscribe."""

from __future__ import annotations

import logging
from email.utils import parseaddr
from typing import Any

from flask import Blueprint, Flask, Response, make_response, render_template, request
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError

from aggregator.digest.links import Links
from aggregator.model import SubscriberStatus
from aggregator.people.subscribers import (
    EmailInputError,
    StaleLinkError,
    Subscriber,
    SubscriberError,
    confirm,
    normalize_email,
    pause,
    resume,
    subscribe,
    subscriber_for_token,
    unsubscribe,
    update_preferences,
)
from aggregator.people.tokens import TokenError
from aggregator.settings import Settings
from aggregator.web.app import deps
from aggregator.web.forms import FormError, parse_form
from aggregator.web.subscription_forms import (
    PreferencesForm,
    SubscribeForm,
    choice_errors,
    confirmation_job,
    echo_input,
    lookup_subscriber,
    preferences_url,
    read_token,
    signing_tokens,
)

logger = logging.getLogger(__name__)
bp = Blueprint("subscriptions", __name__)
PAGES = "web/public/"


def init_app(app: Flask) -> None:
    """Rate-limit subscribe POSTs per IP, and exempt the one-click unsubscribe POST from CSRF (RFC 8058:
    mail clients send it with no cookie and no token; the signed link is the authority)."""
    context = app.extensions["aggregator"]
    endpoint = "subscriptions.subscribe_post"
    app.view_functions[endpoint] = context.limiter.limit(
        context.settings.web.subscribe_rate_limit, methods=["POST"], scope="subscribe-ip"
    )(app.view_functions[endpoint])
    context.csrf.exempt(unsubscribe_post)


# --- subscribe and confirm -----------------------------------------------------------------------


@bp.get("/subscribe")
def subscribe_page() -> Response:
    return _page("subscribe.html", email="", chosen=([], []), errors={})


@bp.post("/subscribe")
def subscribe_post() -> Response:
    context = deps()
    try:
        form = parse_form(SubscribeForm, request.form, lists=("audience", "theme"))
    except FormError as exc:
        return _page(
            "subscribe.html",
            400,
            email=echo_input(request.form.get("email")),
            chosen=(request.form.getlist("audience"), request.form.getlist("theme")),
            errors=exc.errors,
        )
    errors = choice_errors(form.audience, form.theme)
    try:
        email = normalize_email(form.email)
    except EmailInputError as exc:
        errors["email"] = exc.message
    if errors:
        return _page(
            "subscribe.html", 400, email=echo_input(form.email), chosen=(form.audience, form.theme), errors=errors
        )
    now = context.clock()
    with context.engine.begin() as conn:
        outcome = subscribe(
            conn, email, form.audience, form.theme, now, wording_version=context.settings.mail.wording_version
        )
    logger.info("subscribe request", extra={"subscriber_id": outcome.subscriber_id, "result": outcome.result})
    # The same page, status and (near enough) timing whatever happened: the mail goes out after the reply.
    response = _page("check_email.html")
    if outcome.should_mail and outcome.subscriber_id is not None:
        token = signing_tokens().make("confirm", outcome.subscriber_id, outcome.token_version)
        response.call_on_close(confirmation_job(email, Links(context.settings.base_url).confirm(token), now))
    return response


@bp.get("/subscribe/confirm/<token>")
def confirm_page(token: str) -> Response:
    subscriber = lookup_subscriber("confirm", token)
    if subscriber.status == SubscriberStatus.PENDING:
        return _page("confirm.html", token=token)
    return _after_confirm(subscriber, changed=False)


@bp.post("/subscribe/confirm/<token>")
def confirm_post(token: str) -> Response:
    data = read_token("confirm", token)
    context = deps()
    with context.engine.begin() as conn:
        change = confirm(conn, data, context.clock(), wording_version=context.settings.mail.wording_version)
    return _after_confirm(change.subscriber, changed=change.changed)


def _after_confirm(subscriber: Subscriber, *, changed: bool) -> Response:
    if subscriber.status in (SubscriberStatus.ACTIVE, SubscriberStatus.PAUSED):
        return _page("confirmed.html", already=not changed, preferences_url=preferences_url(subscriber))
    # unsubscribed (or bounced) since this link was sent: it has been used up
    return _problem(
        "This link has already been used",
        "This confirmation link was used before. To get the digest again, subscribe with the form.",
        400,
    )


# --- preferences ---------------------------------------------------------------------------------


@bp.get("/preferences/<token>")
def preferences_page(token: str) -> Response:
    subscriber = lookup_subscriber("preferences", token)
    if subscriber.status in (SubscriberStatus.UNSUBSCRIBED, SubscriberStatus.BOUNCED):
        return _page("unsubscribed.html", already=True, preferences_url=None)
    return _preferences(subscriber, token)


@bp.post("/preferences/<token>")
def preferences_post(token: str) -> Response:
    data = read_token("preferences", token)
    context = deps()
    now, wording = context.clock(), context.settings.mail.wording_version
    try:
        form = parse_form(PreferencesForm, request.form, lists=("audience", "theme"))
        errors = choice_errors(form.audience, form.theme)
    except FormError as exc:
        errors, form = exc.errors, None
    with context.engine.begin() as conn:
        if errors or form is None:
            return _preferences(subscriber_for_token(conn, data), token, errors=errors, status=400)
        try:
            if form.action == "unsubscribe":
                change = unsubscribe(conn, data, now, wording_version=wording, origin="link")
                return _page("unsubscribed.html", already=not change.changed, preferences_url=None)
            if form.action == "save":
                change = update_preferences(conn, data, form.audience, form.theme, now, wording_version=wording)
                notice = "Your choices are saved." if change.changed else "Nothing changed: these were your choices."
            elif form.action == "pause":
                change = pause(conn, data, now, wording_version=wording)
                notice = "The digest is paused. You will not get it until you press Resume."
            else:
                change = resume(conn, data, now, wording_version=wording)
                notice = "The digest is back on. You will get the next one."
        except SubscriberError:  # unsubscribed meanwhile, in another tab
            return _page("unsubscribed.html", already=True, preferences_url=None)
    return _preferences(change.subscriber, token, notice=notice)


def _preferences(
    subscriber: Subscriber,
    token: str,
    *,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Response:
    chosen = (list(subscriber.audiences), list(subscriber.themes))
    if errors:
        chosen = (request.form.getlist("audience"), request.form.getlist("theme"))
    return _page(
        "preferences.html",
        status,
        subscriber=subscriber,
        token=token,
        chosen=chosen,
        errors=errors or {},
        notice=notice,
    )


# --- unsubscribe (RFC 8058) ------------------------------------------------------------------------


@bp.get("/unsubscribe/<token>")
def unsubscribe_page(token: str) -> Response:
    subscriber = lookup_subscriber("unsubscribe", token)
    return _page("unsubscribe.html", token=token, subscriber=subscriber, preferences_url=preferences_url(subscriber))


@bp.post("/unsubscribe/<token>")
def unsubscribe_post(token: str) -> Response:
    """One-click (RFC 8058 section 3.2: body `List-Unsubscribe=One-Click`, no cookie, no CSRF token) and the
    page's button alike. Answers 200, never a redirect; a repeat answers 200 and changes nothing."""
    data = read_token("unsubscribe", token)
    context = deps()
    origin = "one-click" if request.form.get("List-Unsubscribe") == "One-Click" else "link"
    with context.engine.begin() as conn:
        change = unsubscribe(
            conn, data, context.clock(), wording_version=context.settings.mail.wording_version, origin=origin
        )
    logger.info("unsubscribed", extra={"subscriber_id": data.subscriber_id, "changed": change.changed})
    return _page("unsubscribed.html", already=not change.changed, preferences_url=None)


@bp.get("/public/style.css")
def stylesheet() -> Response:
    response = make_response(render_template(PAGES + "style.css"))
    response.headers["Content-Type"] = "text/css; charset=utf-8"
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


# --- errors: friendly pages in the public layout --------------------------------------------------


@bp.errorhandler(TokenError)
def link_problem(error: TokenError) -> Response:
    # A correctly signed link for nobody (erased, or replaced by a newer subscription) is "not found";
    # a forged, altered, expired or misused one is a bad request. Neither changes anything.
    logger.info("link refused: %s", error.message, extra={"url": request.path.split("/")[1]})
    return _problem(
        "This link does not work",
        "The link may be out of date, cut short by your email app, or "
        "already replaced by a newer one. Nothing has been changed. Use the link in your latest "
        "email, or subscribe again.",
        404 if isinstance(error, StaleLinkError) else 400,
    )


@bp.errorhandler(CSRFError)
def form_expired(error: CSRFError) -> Response:
    return _problem("This form has expired", "Nothing has been changed. Go back, reload the page and try again.", 400)


@bp.errorhandler(RateLimitExceeded)
def too_many(error: RateLimitExceeded) -> Response:
    return _problem(
        "Too many attempts",
        "There were too many attempts from your network in a short time. Wait a while, then try again.",
        429,
    )


# --- helpers ---------------------------------------------------------------------------------------


def _page(name: str, status: int = 200, **context: Any) -> Response:
    settings: Settings = deps().settings
    response = make_response(
        render_template(
            PAGES + name,
            list_name=_list_name(settings),
            wording_version=settings.mail.wording_version,
            audiences=deps().taxonomy.audiences,
            themes=deps().taxonomy.themes,
            **context,
        ),
        status,
    )
    # pages behind signed links hold personal choices: no caching, no indexing
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _problem(title: str, message: str, status: int) -> Response:
    return _page("problem.html", status, title=title, message=message)


def _list_name(settings: Settings) -> str:
    return parseaddr(settings.mail.from_address)[0] or "the monthly digest"
