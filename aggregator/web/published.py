"""The public, cacheable pages of the web app: the feeds (RSS, Atom, JSON Feed), their index, and the archive.

The app factory registers `bp` and sets `app.config["AGGREGATOR_SETTINGS"]` (Settings) and
`app.config["AGGREGATOR_ENGINE"]` (an SQLAlchemy Engine); nothing else of the web package is used.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import TypeVar

from flask import Blueprint, Flask, Response, abort, current_app, request
from sqlalchemy import Engine, select
from werkzeug.http import is_resource_modified

from aggregator.db.schema import issues
from aggregator.digest.issue import load_issue
from aggregator.people.tokens import TokenError, Tokens, read_preview
from aggregator.publish.archive import (
    STYLESHEET,
    ArchivedIssue,
    archive_feed,
    find_sent_issue,
    is_month,
    list_sent_issues,
    load_archived_content,
    render_archive_index,
    render_issue_page,
)
from aggregator.publish.feeds.build import feed_listings, render_index, render_opml
from aggregator.publish.feeds.model import ALL, FORMATS, Feed, FeedKey
from aggregator.publish.feeds.query import FeedContext, load_context, load_feed, newest_decision
from aggregator.publish.feeds.render import feed_version, render_feed
from aggregator.settings import Settings

bp = Blueprint("published", __name__)
# Readers poll often; a short public max-age lets proxies absorb bursts while new resources show up soon.
CACHE_CONTROL = "public, max-age=300"


def _settings() -> Settings:
    return current_app.config["AGGREGATOR_SETTINGS"]


def _engine() -> Engine:
    return current_app.config["AGGREGATOR_ENGINE"]


def _context() -> FeedContext:
    """Label and partner names, read again only when taxonomy.yaml or sources.yaml change: reading them
    costs ~100 ms, far more than answering a reader's conditional GET."""
    settings = _settings()
    stamp = (_mtime(settings.taxonomy_file), _mtime(settings.sources_file))
    cache = current_app.extensions.setdefault("published", {})
    if cache.get("stamp") != stamp:  # two threads may both reload; either result is right
        cache["context"], cache["stamp"] = load_context(settings), stamp
    return cache["context"]


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


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
    context = _context()
    with _engine().connect() as conn:
        feeds = [(key, load_feed(conn, key, context)) for key in context.keys()]
    body = render_index(feed_listings(feeds, context), context).encode("utf-8")
    return _page(body, "text/html; charset=utf-8")


@bp.get("/feeds/index.opml")
def feeds_opml() -> Response:
    context = _context()
    with _engine().connect() as conn:
        feeds = [(key, load_feed(conn, key, context)) for key in context.keys()]
    return _page(render_opml(feed_listings(feeds, context), context), "text/x-opml; charset=utf-8")


@bp.get("/archive/")
def archive_index() -> Response:
    def build() -> bytes:
        context = _context()
        with _engine().connect() as conn:
            archived = list_sent_issues(conn)
        return render_archive_index(archived, context).encode("utf-8")

    return _page(_micro_cache().get(("archive",), build), "text/html; charset=utf-8")


@bp.get("/archive/archive.css")
def stylesheet() -> Response:
    return _page(STYLESHEET.read_bytes(), "text/css; charset=utf-8")


@bp.get("/archive/feed.<any(rss, atom, json):fmt>")
def archive_feed_route(fmt: str) -> Response:
    context = _context()
    with _engine().connect() as conn:
        feed = archive_feed(conn, context)
    return _conditional(feed_version(feed, fmt), feed.updated, FORMATS[fmt].media_type, lambda: render_feed(feed, fmt))


@bp.get("/archive/preview/<token>")
def archive_preview(token: str) -> Response:
    """A test copy's "read in your browser": the issue's page before it is sent (signed link, not indexed)."""
    issue_id = _preview_issue(token)
    context = _context()
    with _engine().connect() as conn:
        row = conn.execute(
            select(issues.c.id, issues.c.month, issues.c.intro).where(issues.c.id == issue_id)
        ).one_or_none()
        if row is None:
            abort(404)
        now = _clock()()
        content = load_issue(conn, row.id, now, context.source_names)
    page = render_issue_page(ArchivedIssue(row.id, row.month, now, row.intro or ""), content, context)
    return _private(page.encode("utf-8"), "text/html; charset=utf-8")


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

    def build() -> bytes | None:
        context = _context()
        with _engine().connect() as conn:
            issue = find_sent_issue(conn, month)
            if issue is None:
                return None
            content = load_archived_content(conn, issue, context)
        return render_issue_page(issue, content, context).encode("utf-8")

    page = _micro_cache().get(("archive", month), build)
    if page is None:
        abort(404)
    return _page(page, "text/html; charset=utf-8")


def _feed_response(key: FeedKey, fmt: str) -> Response:
    context = _context()
    if not context.has_feed(key):
        abort(404)

    def build() -> tuple[Feed, datetime]:
        with _engine().connect() as conn:
            feed = load_feed(conn, key, context)
            decided = newest_decision(conn)
        # A resource leaving the feed (rejected) changes its ids but not its newest date: the newest
        # decision anywhere keeps Last-Modified moving forward for clients that only send If-Modified-Since.
        return feed, (max(feed.updated, decided.replace(microsecond=0)) if decided else feed.updated)

    feed, last_modified = _micro_cache().get(("feed", key, fmt), build)
    etag = feed_version(feed, fmt)
    return _conditional(etag, last_modified, FORMATS[fmt].media_type, lambda: _rendered(etag, feed, fmt))


def _rendered(etag: str, feed: Feed, fmt: str) -> bytes:
    """The feed's bytes, rendered once per version: the ETag hashes the whole feed, so a cached body
    can never be stale, and readers polling an unchanged feed cost a query, not a render."""
    cache: RenderCache = current_app.extensions.setdefault("published-rendered", RenderCache())
    return cache.get(etag, lambda: render_feed(feed, fmt))


T = TypeVar("T")
MICRO_CACHE_SECONDS = 10.0  # well within the max-age promised to readers; absorbs bursts of polling


def _micro_cache() -> MicroCache:
    ttl = current_app.config.get("AGGREGATOR_PUBLISHED_CACHE_SECONDS", MICRO_CACHE_SECONDS)
    return current_app.extensions.setdefault("published-micro", MicroCache(ttl))


class MicroCache:
    """What a public page is built from, kept a few seconds: a change shows within `ttl` seconds."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic, size: int = 256) -> None:
        self._items: OrderedDict[tuple, tuple[float, object]] = OrderedDict()
        self._lock = threading.Lock()
        self._ttl, self._clock, self._size = ttl, clock, size

    def get(self, key: tuple, build: Callable[[], T]) -> T:
        now = self._clock()
        with self._lock:
            found = self._items.get(key)
            if found is not None and found[0] > now:
                return found[1]  # type: ignore[return-value]
        value = build()
        with self._lock:
            self._items[key] = (now + self._ttl, value)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value


class RenderCache:
    """A small thread-safe LRU of rendered bodies by ETag."""

    def __init__(self, size: int = 64) -> None:
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def get(self, key: str, render: Callable[[], bytes]) -> bytes:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        body = render()  # outside the lock: two threads may render the same version; either is right
        with self._lock:
            self._items[key] = body
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return body


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
