"""The editors' web app factory: settings and database passed in, extensions, security and blueprints wired up."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app, g, render_template, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError
from markupsafe import Markup
from sqlalchemy import Engine
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from aggregator.config.sources import SourceConfig, public_names
from aggregator.config.taxonomy import Taxonomy
from aggregator.context import AppContext
from aggregator.model import SUGGESTED
from aggregator.people.users import Passwords
from aggregator.settings import Settings
from aggregator.text.sanitize import clean_html
from aggregator.web.security import OriginCheckingCSRF, add_security_headers, origin_of

logger = logging.getLogger(__name__)
TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
SESSION_HOURS = 12


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class WebDeps:
    """What the views need, passed in at creation (reach it with `deps()`)."""

    app: AppContext  # the process's wiring; taxonomy and sources come from it, re-read when their files change
    settings: Settings
    engine: Engine
    passwords: Passwords
    clock: Callable[[], datetime]
    fetcher_factory: Callable[[Settings], Any] | None  # None: a real Fetcher (aggregator.ingest.fetch)
    csrf: OriginCheckingCSRF
    limiter: Limiter
    mailer: Any | None = None  # sends confirmation mail; None: SMTP when configured, else the outbox folder

    @property
    def taxonomy(self) -> Taxonomy:
        return self.app.taxonomy()

    @property
    def sources(self) -> tuple[SourceConfig, ...]:
        return self.app.sources()

    def source_name(self, source_id: str) -> str:
        if source_id == SUGGESTED:  # a reader's or an editor's suggestion
            return "Suggested"
        return next((s.name for s in self.sources if s.id == source_id), source_id)

    def source_names(self) -> dict[str, str]:
        return {s.id: s.name for s in self.sources}

    def public_source_names(self) -> dict[str, str]:
        """Partner names as subscribers see them (the digest, its previews and test copies)."""
        return public_names(self.sources)

    def label_name(self, kind: str, label_id: str) -> str:
        if kind in ("audience", "theme"):
            for label in self.taxonomy.labels(kind):  # type: ignore[arg-type]
                if label.id == label_id:
                    return label.name
        return label_id

    @property
    def local_zone(self) -> ZoneInfo:
        return ZoneInfo(self.settings.schedule.timezone)


def deps() -> WebDeps:
    return current_app.extensions["aggregator"]


def create_app(
    settings: Settings,
    engine: Engine | None = None,
    *,
    clock: Callable[[], datetime] = utcnow,
    fetcher_factory: Callable[[Settings], Any] | None = None,
    passwords: Passwords | None = None,
    mailer: Any | None = None,
    context: AppContext | None = None,
) -> Flask:
    """The web app over `engine` (default: the configured database, upgraded to the newest schema).

    Public blueprints (subscriptions, published) get the CSRFProtect at `app.extensions["csrf"]` (use
    `csrf.exempt(view)` for the one-click unsubscribe POST) and the Limiter at
    `app.extensions["aggregator"].limiter`; a blueprint module may define `init_app(app)`, called after it
    is registered, to do that. `context` is the process's AppContext (default: one made from `settings`
    and `engine`); the taxonomy and sources files are checked here, at start.
    """
    context = context or AppContext.create(settings, engine=engine, clock=clock)
    engine = context.engine
    context.taxonomy()
    context.sources()
    app = Flask(
        "aggregator.web", template_folder=str(TEMPLATES), static_folder=str(Path(__file__).resolve().parent / "static")
    )
    secure = settings.base_url.lower().startswith("https://")
    app.config.from_mapping(
        SECRET_KEY=settings.secret(),
        SESSION_COOKIE_NAME="__Host-aggregator" if secure else "aggregator_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
        WTF_CSRF_TIME_LIMIT=SESSION_HOURS * 3600,  # an open page's form keeps working through a working day
        WTF_CSRF_SSL_STRICT=True,
        MAX_CONTENT_LENGTH=1024 * 1024,
        RATELIMIT_HEADERS_ENABLED=True,
        AGGREGATOR_SETTINGS=settings,
        AGGREGATOR_ENGINE=engine,  # what the public blueprints read
    )
    csrf = OriginCheckingCSRF(app, trusted_origins=(origin_of(settings.base_url),))
    limiter = _limiter(app, settings, engine)
    web_deps = WebDeps(
        context,
        settings,
        engine,
        passwords or Passwords(),
        clock,
        fetcher_factory,
        csrf,
        limiter,
        mailer,
    )
    app.extensions["aggregator"] = web_deps
    _register_template_helpers(app, web_deps)
    _register_errors(app)
    app.after_request(add_security_headers)
    _register_blueprints(app, web_deps)
    if settings.web.trusted_proxies:
        # behind nginx/Caddy: the client address (rate limits) and https come from X-Forwarded-*
        n = settings.web.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    return app


def _limiter(app: Flask, settings: Settings, engine: Engine) -> Limiter:
    """Rate limits whose counters every gunicorn worker shares: in the database, or where the settings say."""
    from aggregator.db.ratelimit import SCHEME

    if settings.web.rate_limit_storage:
        return Limiter(get_remote_address, app=app, default_limits=[], storage_uri=settings.web.rate_limit_storage)
    return Limiter(
        get_remote_address, app=app, default_limits=[], storage_uri=f"{SCHEME}://", storage_options={"engine": engine}
    )


def _register_blueprints(app: Flask, context: WebDeps) -> None:
    from aggregator.web import (
        accounts,
        audit,
        auth,
        calendars,
        composition,
        dashboard,
        issue_editing,  # noqa: F401  (the issue's edits: views on composition.bp, added before it is registered)
        issue_preview,  # noqa: F401  (its previews and test copies, on composition.bp too)
        published,
        resources,
        review,
        sending,
        source_page,  # noqa: F401  (adds the page per source to sources.bp before it is registered)
        sources,
        subscribers,
        subscriptions,
        suggestions,
    )

    auth.init_auth(app)
    editors = (
        auth,
        review,
        resources,
        composition,
        sending,
        dashboard,
        sources,
        audit,
        accounts,
        subscribers,
        suggestions,
    )
    for module in (*editors, subscriptions, published, calendars):
        app.register_blueprint(module.bp)
        hook = getattr(module, "init_app", None)
        if hook is not None:
            hook(app)

    @app.get("/healthz")
    def healthz() -> tuple[str, int, dict[str, str]]:
        return "ok", 200, {"Content-Type": "text/plain"}

    if not any(rule.rule == "/" for rule in app.url_map.iter_rules()):
        # Mails link to the site's home; until the public pages claim "/", send visitors somewhere useful.
        public = next(
            (
                r.endpoint
                for r in app.url_map.iter_rules()
                if r.endpoint.startswith("subscriptions.") and "GET" in (r.methods or ()) and not r.arguments
            ),
            None,
        )

        @app.get("/")
        def home():
            from flask import redirect, url_for

            return redirect(url_for(public or "queue.index"))


def _register_template_helpers(app: Flask, context: WebDeps) -> None:
    zone = context.local_zone

    def local_time(value: datetime | None, fmt: str = "%d %b %Y, %H:%M") -> str:
        return value.astimezone(zone).strftime(fmt) if value else ""

    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["clean_html"] = lambda html: Markup(clean_html(html))
    app.jinja_env.filters["percent"] = lambda value: f"{round((value or 0) * 100)}%"
    app.jinja_env.globals |= dict(
        label_name=context.label_name,
        source_name=context.source_name,
        taxonomy=context.taxonomy,
        app_settings=context.settings,
        csrf_field=csrf_field,
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def current_user() -> dict[str, Any]:
        from flask import session

        return {"user": getattr(g, "user", None), "undo": session.get("undo") if getattr(g, "user", None) else None}


def csrf_field() -> Markup:
    """The hidden CSRF input, made once per request (the queue page has a hundred forms)."""
    from flask_wtf.csrf import generate_csrf

    field = g.get("_csrf_field")
    if field is None:
        field = g._csrf_field = Markup('<input type="hidden" name="csrf_token" value="%s">') % generate_csrf()
    return field


def _register_errors(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_refused(error: CSRFError):
        logger.info("state-changing request refused: %s", error.description, extra={"url": request.path})
        return render_template(
            "web/error.html",
            status=403,
            title="This form cannot be accepted",
            message="The form was out of date or came from another site, so nothing was "
            "changed. Go back, reload the page and try again.",
        ), 403

    @app.errorhandler(RateLimitExceeded)
    def too_many(error: RateLimitExceeded):
        return render_template(
            "web/error.html",
            status=429,
            title="Too many attempts",
            message="There were too many attempts from here in a short time. Wait a minute, then try again.",
        ), 429

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        messages = {
            404: "There is nothing at this address. It may have been removed, or the link is wrong.",
            403: "You do not have permission to do this.",
            405: "This page cannot be used that way.",
        }
        message = (
            error.description
            if error.code == 403 and error.description and not error.description.startswith("You don't")
            else messages.get(error.code or 500, error.description)
        )
        return render_template("web/error.html", status=error.code, title=error.name, message=message), error.code
