"""The public, cacheable pages of the web app: the feeds (RSS, Atom, JSON Feed), their index, and the archive.

The app factory registers `bp` and sets `app.config["AGGREGATOR_SETTINGS"]` (Settings) and
`app.config["AGGREGATOR_ENGINE"]` (an SQLAlchemy Engine); nothing else of the web package is used.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from html import escape

from flask import Blueprint, Flask, Response, abort, current_app, request
from werkzeug.http import is_resource_modified

from aggregator.people.tokens import TokenError, Tokens, read_preview
from aggregator.publish.archive import STYLESHEET, is_month
from aggregator.publish.cache import inline
from aggregator.publish.feeds.model import ALL, FORMATS, FeedKey
from aggregator.publish.pages import PublicPages, ServedFeed
from aggregator.settings import Settings

bp = Blueprint("published", __name__)
# Readers poll often; a short public max-age lets proxies absorb bursts while new resources show up soon.
CACHE_CONTROL = "public, max-age=300"


def _settings() -> Settings:
    return current_app.config["AGGREGATOR_SETTINGS"]


def _pages() -> PublicPages:
    """The app's public pages service and its caches, made on first use (one per process)."""
    found = current_app.extensions.get("published-pages")
    if found is None:
        # rebuilt in a background thread when stale; inline (every change shown at once) when the config asks
        spawn = inline if current_app.config.get("AGGREGATOR_PUBLISHED_REBUILD_INLINE") else None
        found = current_app.extensions.setdefault(
            "published-pages", PublicPages(_settings(), current_app.config["AGGREGATOR_ENGINE"], spawn=spawn)
        )
    return found


@bp.get("/feeds/all.<any(rss, atom, json):fmt>")
def combined_feed(fmt: str) -> Response:
    return _feed_response(ALL, fmt)


@bp.get("/feeds/<any(theme, audience):kind>/<label_id>.<any(rss, atom, json):fmt>")
def label_feed(kind: str, label_id: str, fmt: str) -> Response:
    return _feed_response(FeedKey(kind, label_id), fmt)  # type: ignore[arg-type]


def _clock() -> Callable[[], datetime]:
    found = current_app.extensions.get("aggregator")
    return found.clock if found is not None else (lambda: datetime.now(UTC))


@bp.get("/feeds/")
def feeds_index() -> Response:
    return _page(_pages().feeds_index(), "text/html; charset=utf-8")


@bp.get("/feeds/index.opml")
def feeds_opml() -> Response:
    return _page(_pages().feeds_opml(), "text/x-opml; charset=utf-8")


@bp.get("/archive/")
def archive_index() -> Response:
    return _page(_pages().archive_index(), "text/html; charset=utf-8")


@bp.get("/archive/archive.css")
def stylesheet() -> Response:
    return _page(STYLESHEET.read_bytes(), "text/css; charset=utf-8")


@bp.get("/archive/feed.<any(rss, atom, json):fmt>")
def archive_feed_route(fmt: str) -> Response:
    return _served(_pages().archive_feed(), fmt)


@bp.get("/archive/preview/<token>")
def archive_preview(token: str) -> Response:
    """A test copy's "read in your browser": the issue's page before it is sent (signed link, not indexed)."""
    page = _pages().preview_page(_preview_issue(token), _clock()())
    if page is None:
        abort(404)
    return _private(page, "text/html; charset=utf-8")


@bp.route("/preview/<token>/<any(unsubscribe, preferences):what>", methods=["GET", "POST"])
def preview_notice(token: str, what: str) -> Response:
    """Where a test copy's unsubscribe and preference links go: what they do in a subscriber's copy."""
    _preview_issue(token)
    does = {
        "unsubscribe": "unsubscribes them at once (one click, as RFC 8058 asks)",
        "preferences": "opens the page where they choose audiences and themes, or pause",
    }[what]
    body = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Test copy</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"></head><body><main>'
        f"<h1>This is a test copy</h1><p>In a subscriber's copy this link {escape(does)}. "
        f"Nothing was changed.</p></main></body></html>"
    )
    return _private(body.encode("utf-8"), "text/html; charset=utf-8")


def _preview_issue(token: str) -> int:
    try:
        return read_preview(Tokens(_settings().secret()), token)
    except TokenError:
        abort(404)


def _private(body: bytes, content_type: str) -> Response:
    return Response(
        body, headers={"Content-Type": content_type, "Cache-Control": "private, no-store", "X-Robots-Tag": "noindex"}
    )


@bp.get("/archive/<month>")
@bp.get("/archive/<month>/")
def archive_issue(month: str) -> Response:
    if not is_month(month):
        abort(404)
    page = _pages().archive_issue(month)
    if page is None:
        abort(404)
    return _page(page, "text/html; charset=utf-8")


def _feed_response(key: FeedKey, fmt: str) -> Response:
    pages = _pages()
    if not pages.names().has_feed(key):
        abort(404)
    return _served(pages.feed(key), fmt)


def _served(served: ServedFeed, fmt: str) -> Response:
    etag = served.etags[fmt]
    render = partial(_pages().feed_body, etag, served.feed, fmt)
    return _conditional(etag, served.last_modified, FORMATS[fmt].media_type, render)


def _conditional(etag: str, last_modified: datetime, media_type: str, render: Callable[[], bytes]) -> Response:
    """200 with the body, or 304 without rendering it (RFC 9110 13.1: If-None-Match wins over
    If-Modified-Since; werkzeug's check follows that order)."""
    if not is_resource_modified(request.environ, etag=etag, last_modified=last_modified):
        response = Response(status=304)
    else:
        response = Response(render(), mimetype=media_type)
        response.headers["Content-Type"] = f"{media_type}; charset=utf-8"
    response.set_etag(etag)
    response.last_modified = last_modified
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response


def _page(body: bytes, content_type: str) -> Response:
    response = Response(body, headers={"Content-Type": content_type, "Cache-Control": CACHE_CONTROL})
    response.add_etag()
    return response.make_conditional(request)


def init_app(app: Flask) -> None:
    """A test copy's one-click unsubscribe POST (RFC 8058) carries no CSRF token: the signed link is the
    authority, and the page changes nothing."""
    found = app.extensions.get("aggregator")
    if found is not None:
        found.csrf.exempt(preview_notice)
