"""The public pages' service: the feeds, their index, the calendars and the archive, built from the store and kept in caches.

Every page whose cost grows with the archive (the feeds index reads every feed, the calendars every event, the
archive every sent issue) is kept until its stamp changes: the label and partner names' files, when the feeds
were last built (the marker `build_feeds` writes), the newest editors' decision, the newest change to a
resource and the newest sent issue (`newest_change`: indexed maxima). Each gunicorn worker keeps its own copy
and reads the stamp, which costs three stat() calls and one indexed query, on every request; a stale page is
built again in a background thread, one rebuild at a time, while every request (the one that noticed
included) gets the old one. A calendar also depends on the time (events leave it once over): its stamp
holds the hour too.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import NamedTuple

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
from aggregator.publish.cache import RenderCache, Spawn, StampedCache
from aggregator.publish.feeds.build import BUILT_MARKER, feed_listings, render_index, render_opml
from aggregator.publish.feeds.calendar import event_ics, upcoming_calendar
from aggregator.publish.feeds.model import FORMATS, Feed, FeedKey
from aggregator.publish.feeds.query import Changes, FeedContext, load_context, load_feed, newest_change
from aggregator.publish.feeds.render import feed_version, render_feed
from aggregator.settings import Settings


class PageStamp(NamedTuple):
    """A public page is current while this is unchanged."""

    names: Hashable  # taxonomy.yaml's and sources.yaml's modification times
    built: int | None  # the feeds' `.built` marker's modification time
    changed: Changes


@dataclass(frozen=True, slots=True)
class ServedFeed:
    """A feed as served: its Last-Modified and its ETag in each format, hashed once per version, not per request."""

    feed: Feed
    last_modified: datetime
    etags: Mapping[str, str]

    @classmethod
    def of(cls, feed: Feed, last_modified: datetime) -> ServedFeed:
        return cls(feed, last_modified, MappingProxyType({fmt: feed_version(feed, fmt) for fmt in FORMATS}))


class PublicPages:
    """What the public blueprint serves, for one app (one per process: caches are not shared). `spawn` runs
    the rebuilds of stale pages (by default one background thread; `cache.inline` shows every change at once)."""

    def __init__(self, settings: Settings, engine: Engine, *, spawn: Spawn | None = None) -> None:
        self.settings, self.engine = settings, engine
        self.rendered = RenderCache()
        self.stamped = StampedCache(spawn)
        self._names: tuple[tuple[int | None, ...], FeedContext] | None = None

    def names(self) -> FeedContext:
        """Label and partner names, read again only when taxonomy.yaml or sources.yaml change: reading them
        costs ~100 ms, far more than answering a reader's conditional GET."""
        stamp = (_mtime(self.settings.taxonomy_file), _mtime(self.settings.sources_file))
        found = self._names
        if found is None or found[0] != stamp:  # two threads may both reload; either result is right
            found = self._names = (stamp, load_context(self.settings))
        return found[1]

    def stamp(self) -> PageStamp:
        """What the public pages depend on: the names, the last feeds build, the newest decision, edit and sent issue."""
        with self.engine.connect() as conn:
            changed = newest_change(conn)
        self.names()
        names_stamp = self._names[0] if self._names else None
        return PageStamp(names_stamp, _mtime(self.settings.feeds_dir / BUILT_MARKER), changed)

    def feeds_index(self) -> bytes:
        return self.stamped.get("index", self.stamp(), lambda: render_index(*self._listings()).encode("utf-8"))

    def feeds_opml(self) -> bytes:
        return self.stamped.get("opml", self.stamp(), lambda: render_opml(*self._listings()))

    def _listings(self) -> tuple[list, FeedContext]:
        context = self.names()
        with self.engine.connect() as conn:
            feeds = [(key, load_feed(conn, key, context)) for key in context.keys()]
        return feed_listings(feeds, context), context

    def feed(self, key: FeedKey) -> ServedFeed:
        """The feed and its Last-Modified: a resource leaving the feed (rejected) changes its ids but not its
        newest date, so the newest decision anywhere keeps Last-Modified moving for If-Modified-Since."""
        stamp = self.stamp()
        decided = stamp.changed.decided

        def build() -> ServedFeed:
            with self.engine.connect() as conn:
                feed = load_feed(conn, key, self.names())
            return ServedFeed.of(feed, max(feed.updated, decided.replace(microsecond=0)) if decided else feed.updated)

        return self.stamped.get(("feed", key), stamp, build)

    def feed_body(self, etag: str, feed: Feed, fmt: str) -> bytes:
        """The feed's bytes, rendered once per version: the ETag hashes the whole feed, so a cached body can
        never be stale, and readers polling an unchanged feed cost the stamp, not a render."""
        return self.rendered.get(etag, lambda: render_feed(feed, fmt))

    def _sent_months(self, stamp: Hashable) -> frozenset[str]:
        def build() -> frozenset[str]:
            with self.engine.connect() as conn:
                return frozenset(issue.month for issue in list_sent_issues(conn))

        return self.stamped.get("sent months", stamp, build)

    def archive_index(self) -> bytes:
        def build() -> bytes:
            with self.engine.connect() as conn:
                archived = list_sent_issues(conn)
            return render_archive_index(archived, self.names()).encode("utf-8")

        return self.stamped.get("archive", self.stamp(), build)

    def archive_issue(self, month: str) -> bytes | None:
        """A sent issue's page; None when no issue of `month` was sent (drafts are not public). Only sent
        months are kept, so asking for every month there could be does not fill the cache."""
        stamp = self.stamp()
        if month not in self._sent_months(stamp):
            return None

        def build() -> bytes | None:
            context = self.names()
            with self.engine.connect() as conn:
                issue = find_sent_issue(conn, month)
                if issue is None:
                    return None
                content = load_archived_content(conn, issue, context)
            return render_issue_page(issue, content, context).encode("utf-8")

        return self.stamped.get(("archive", month), stamp, build)

    def archive_feed(self) -> ServedFeed:
        def build() -> ServedFeed:
            with self.engine.connect() as conn:
                feed = archive_feed(conn, self.names())
            return ServedFeed.of(feed, feed.updated)

        return self.stamped.get("archive feed", self.stamp(), build)

    def event_calendar(self, resource_id: int, now: datetime) -> bytes | None:
        """One approved event's .ics (a primary-key read), None when it is not a public event."""
        with self.engine.connect() as conn:
            return event_ics(conn, resource_id, now, self.names())

    def upcoming_calendar(self, key: FeedKey, now: datetime) -> bytes:
        """The upcoming events of a feed as a calendar, as of the start of `now`'s hour: the same bytes (and
        ETag) from every worker within the hour, built again the hour after, as the events' own changes are."""
        hour = now.replace(minute=0, second=0, microsecond=0)

        def build() -> bytes:
            with self.engine.connect() as conn:
                return upcoming_calendar(conn, key, hour, self.names())

        return self.stamped.get(("calendar", key), (self.stamp(), hour), build)

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
