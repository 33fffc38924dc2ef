"""The public pages' service: the feeds, their index and the archive, built from the store and kept in caches.

The feeds index and its OPML list read every feed (a cost that grows with the archive), so they are kept
until their stamp changes: when the feeds were last built (the marker `build_feeds` writes), the newest
editors' decision and the newest change to a resource (indexed maxima). Each gunicorn worker keeps its own copy and reads the stamp, which
costs one indexed query, on every request; while one thread rebuilds a stale page the others answer with the
old one. The feeds themselves are kept the same way; the archive pages and calendars, flat in cost, are
kept a few seconds (`MicroCache`).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, select

from aggregator.db.schema import issues
from aggregator.digest.issue import load_issue
from aggregator.publish.archive import (
    ArchivedIssue,
    archive_feed,
    find_sent_issue,
    list_sent_issues,
    load_archived_content,
    render_archive_index,
    render_issue_page,
)
from aggregator.publish.feeds.build import BUILT_MARKER, feed_listings, render_index, render_opml
from aggregator.publish.feeds.calendar import event_ics, upcoming_calendar
from aggregator.publish.feeds.model import Feed, FeedKey
from aggregator.publish.feeds.query import FeedContext, load_context, load_feed, newest_change, newest_decision
from aggregator.publish.feeds.render import render_feed
from aggregator.settings import Settings

T = TypeVar("T")
MICRO_CACHE_SECONDS = 10.0  # well within the max-age promised to readers; absorbs bursts of polling


class PublicPages:
    """What the public blueprint serves, for one app (one per process: caches are not shared)."""

    def __init__(self, settings: Settings, engine: Engine, *, ttl: float = MICRO_CACHE_SECONDS) -> None:
        self.settings, self.engine = settings, engine
        self.micro = MicroCache(ttl)
        self.rendered = RenderCache()
        self.stamped = StampedCache()
        self._names: tuple[tuple[int | None, ...], FeedContext] | None = None

    def names(self) -> FeedContext:
        """Label and partner names, read again only when taxonomy.yaml or sources.yaml change: reading them
        costs ~100 ms, far more than answering a reader's conditional GET."""
        stamp = (_mtime(self.settings.taxonomy_file), _mtime(self.settings.sources_file))
        found = self._names
        if found is None or found[0] != stamp:  # two threads may both reload; either result is right
            found = self._names = (stamp, load_context(self.settings))
        return found[1]

    def stamp(self) -> tuple[Hashable, ...]:
        """What the feeds depend on: the names, the last feeds build, the newest decision and edit."""
        with self.engine.connect() as conn:
            changed = newest_change(conn)
        self.names()
        names_stamp = self._names[0] if self._names else None
        return (names_stamp, _mtime(self.settings.feeds_dir / BUILT_MARKER), changed)

    def feeds_index(self) -> bytes:
        return self.stamped.get("index", self.stamp(), lambda: render_index(*self._listings()).encode("utf-8"))

    def feeds_opml(self) -> bytes:
        return self.stamped.get("opml", self.stamp(), lambda: render_opml(*self._listings()))

    def _listings(self) -> tuple[list, FeedContext]:
        context = self.names()
        with self.engine.connect() as conn:
            feeds = [(key, load_feed(conn, key, context)) for key in context.keys()]
        return feed_listings(feeds, context), context

    def feed(self, key: FeedKey, fmt: str) -> tuple[Feed, datetime]:
        """The feed and its Last-Modified: a resource leaving the feed (rejected) changes its ids but not its
        newest date, so the newest decision anywhere keeps Last-Modified moving for If-Modified-Since."""

        def build() -> tuple[Feed, datetime]:
            with self.engine.connect() as conn:
                feed = load_feed(conn, key, self.names())
                decided = newest_decision(conn)
            return feed, (max(feed.updated, decided.replace(microsecond=0)) if decided else feed.updated)

        return self.stamped.get(("feed", key), self.stamp(), build)

    def feed_body(self, etag: str, feed: Feed, fmt: str) -> bytes:
        """The feed's bytes, rendered once per version: the ETag hashes the whole feed, so a cached body can
        never be stale, and readers polling an unchanged feed cost a query, not a render."""
        return self.rendered.get(etag, lambda: render_feed(feed, fmt))

    def archive_index(self) -> bytes:
        def build() -> bytes:
            with self.engine.connect() as conn:
                archived = list_sent_issues(conn)
            return render_archive_index(archived, self.names()).encode("utf-8")

        return self.micro.get(("archive",), build)

    def archive_issue(self, month: str) -> bytes | None:
        def build() -> bytes | None:
            context = self.names()
            with self.engine.connect() as conn:
                issue = find_sent_issue(conn, month)
                if issue is None:
                    return None
                content = load_archived_content(conn, issue, context)
            return render_issue_page(issue, content, context).encode("utf-8")

        return self.micro.get(("archive", month), build)

    def archive_feed(self) -> Feed:
        with self.engine.connect() as conn:
            return archive_feed(conn, self.names())

    def event_calendar(self, resource_id: int, now: datetime) -> bytes | None:
        """One approved event's .ics (a primary-key read), None when it is not a public event."""
        with self.engine.connect() as conn:
            return event_ics(conn, resource_id, now, self.names())

    def upcoming_calendar(self, key: FeedKey, now: datetime) -> bytes:
        """The upcoming events of a feed as a calendar, kept a few seconds like the feeds."""

        def build() -> bytes:
            with self.engine.connect() as conn:
                return upcoming_calendar(conn, key, now, self.names())

        return self.micro.get(("calendar", key), build)

    def preview_page(self, issue_id: int, now: datetime) -> bytes | None:
        """A test copy's "read in your browser" page, before the issue is sent; None for no such issue."""
        context = self.names()
        with self.engine.connect() as conn:
            row = conn.execute(
                select(issues.c.id, issues.c.month, issues.c.intro).where(issues.c.id == issue_id)
            ).one_or_none()
            if row is None:
                return None
            content = load_issue(conn, row.id, now, context.source_names)
        return render_issue_page(ArchivedIssue(row.id, row.month, now, row.intro or ""), content, context).encode()


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


class StampedCache:
    """Values kept until their stamp changes. While one thread rebuilds a stale value the others get the
    old one (stale-while-rebuild); with nothing cached yet, they wait for the one build rather than each
    building it too (which, under load, piles up)."""

    def __init__(self) -> None:
        self._items: dict[Hashable, tuple[Hashable, object]] = {}
        self._building: set[Hashable] = set()
        self._done = threading.Condition()

    def get(self, key: Hashable, stamp: Hashable, build: Callable[[], T]) -> T:
        with self._done:
            while True:
                found = self._items.get(key)
                if found is not None and (found[0] == stamp or key in self._building):
                    return found[1]  # type: ignore[return-value]
                if key not in self._building:
                    break
                self._done.wait()  # the first build is under way: its value is what this request needs
            self._building.add(key)
        try:
            value = build()
            with self._done:
                self._items[key] = (stamp, value)
        finally:
            with self._done:
                self._building.discard(key)
                self._done.notify_all()
        return value


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
