"""The web app's defences: CSRF with an Origin check, security headers, safe `next=` targets and role checks."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Response, abort, g, redirect, request, url_for
from flask_wtf.csrf import CSRFProtect

logger = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])

# No inline script or style anywhere: every script and stylesheet is a file under /static.
# Images: summaries show partners' pictures (https) as the digest will; data: for tiny icons.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-src 'self'; frame-ancestors 'none'"
)
# The digest preview is the digest's own HTML (inline styles, as mail needs) shown in a sandboxed frame.
PREVIEW_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'; sandbox"
)


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


class OriginCheckingCSRF(CSRFProtect):
    """CSRFProtect that also refuses a state-changing request coming from another site (Origin, then
    Referer, then Sec-Fetch-Site), before looking at the token. Views exempted with `csrf.exempt`
    (the one-click unsubscribe POST, which mail clients send without cookies) skip both checks."""

    def __init__(self, app=None, *, trusted_origins: tuple[str, ...] = ()) -> None:
        self.trusted_origins = tuple(o.lower() for o in trusted_origins if o)
        super().__init__(app)

    def protect(self, apply_exemptions: bool = False) -> None:
        from flask import current_app

        if apply_exemptions and (not request.endpoint or self._is_exempt()):
            return
        if request.method in current_app.config["WTF_CSRF_METHODS"] and self.is_foreign_request():
            self._error_response("The request came from another site.")
        super().protect(apply_exemptions=False)

    def is_foreign_request(self) -> bool:
        allowed = {*self.trusted_origins, origin_of(request.host_url)}
        origin = request.headers.get("Origin")
        if origin is not None:
            return origin.lower() not in allowed  # includes the opaque "null" origin
        if request.headers.get("Sec-Fetch-Site", "") == "cross-site":
            return True
        referrer = request.headers.get("Referer")
        return bool(referrer) and origin_of(referrer) not in allowed


def add_security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = (
        "DENY" if "frame-ancestors 'none'" in response.headers["Content-Security-Policy"] else "SAMEORIGIN"
    )
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), interest-cohort=()"
    if getattr(g, "user", None) is not None:
        response.headers["Cache-Control"] = "no-store"  # editors' pages hold unpublished material
    return response


def is_safe_next(target: str | None) -> bool:
    """True only for a path on this site: '/queue?x=1'. Refuses '//evil', '/\\evil', schemes, hosts and
    control characters (browsers strip tabs and newlines, turning '/\\t/evil' into '//evil')."""
    if not target or not target.startswith("/") or len(target) > 2000:
        return False
    if any(ord(c) < 0x21 or c == "\x7f" for c in target) or "\\" in target:
        return False
    if target.startswith("//"):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def safe_next(target: str | None, default: str) -> str:
    return target if is_safe_next(target) else default


def require_login() -> Response | None:
    """A before_request hook for the editors' blueprints: signed-out visitors go to the sign-in page."""
    if getattr(g, "user", None) is None:
        target = request.full_path if request.method == "GET" else request.referrer or "/"
        target = target.rstrip("?")
        return redirect(url_for("auth.login", next=target if is_safe_next(target) else None))
    return None


def admin_required(view: F) -> F:
    """Only admins (sources, users, sending); an editor gets 403 with an explanation."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        user = getattr(g, "user", None)
        if user is None:
            return require_login()
        if not user.is_admin:
            logger.info("editor refused an admin page", extra={"user_id": user.id, "url": request.path})
            abort(403, description="Only an admin can do this. Ask an admin if it needs doing.")
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
