"""The robots.txt policy of each origin (RFC 9309): fetched once per origin, cached by its HTTP caching headers.

A robots.txt is kept for as long as its Cache-Control or Expires allow, a day when it says nothing,
never more than a day (RFC 9309 section 2.4), in memory and in an optional RobotsStore (the database),
so that a restart does not fetch it again. A robots.txt that could not be fetched is a failure of
its host, named with its cause; only a fetched robots.txt that forbids a path disallows it.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import httpx
from protego import Protego
from werkzeug.datastructures import ResponseCacheControl
from werkzeug.http import parse_cache_control_header, parse_date

from aggregator.errors import BlockedAddressError, FetchError, HTTPStatusError, NetworkError, TooManyRedirectsError
from aggregator.ingest.fetch.politeness import host_key

logger = logging.getLogger(__name__)

ROBOTS_MAX_BYTES = 512 * 1024
"""RFC 9309 section 2.5: crawlers must parse at least 500 KiB; more than that is ignored."""
MAX_FRESHNESS = timedelta(days=1)
"""RFC 9309 section 2.4: a cached robots.txt should not be used for more than 24 hours."""
MIN_FRESHNESS = timedelta(minutes=1)
"""Kept in memory at least this long even when it says no-cache, so one pass does not fetch it per request."""
FAILURE_FRESHNESS = timedelta(minutes=10)
"""An unreachable host's failure is remembered this long (in memory only), so its other sources fail at once."""


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class RobotsReply:
    """What fetching /robots.txt gave: the final status, the body (b"" when not 2xx) and the response headers."""

    status: int
    body: bytes
    headers: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class StoredRobots:
    """One origin's robots.txt as fetched (status and text), and until when it may be used."""

    origin: str
    status: int
    body: str
    fetched_at: datetime
    expires_at: datetime


class RobotsStore(Protocol):
    """Where fetched robots.txt files outlive the process (aggregator.db.robots_store adapts the database)."""

    def load_robots(self, origin: str) -> StoredRobots | None: ...

    def save_robots(self, robots: StoredRobots) -> None: ...


@dataclass(frozen=True, slots=True)
class RobotsPolicy:
    """One origin's rules: `rules` parsed from a robots.txt, or allow-all when it had none (4xx)."""

    rules: Protego | None = None

    def is_allowed(self, url: str, user_agent: str) -> bool:
        return self.rules is None or bool(self.rules.can_fetch(url, user_agent))

    def crawl_delay(self, user_agent: str) -> float | None:
        if self.rules is None:
            return None
        delay = self.rules.crawl_delay(user_agent)
        return float(delay) if delay is not None else None


def origin_of(url: httpx.URL) -> str:
    """scheme://host:port, the unit a robots.txt governs (a cache key, not a URL)."""
    return f"{url.scheme}://{host_key(url)}"


def robots_url_of(url: httpx.URL) -> str:
    """The /robots.txt URL of `url`'s origin."""
    return str(url.copy_with(userinfo=b"", raw_path=b"/robots.txt", fragment=None))


def policy_from_stored(robots: StoredRobots) -> RobotsPolicy:
    """2xx: the file's rules; 4xx: no rules, everything allowed (RFC 9309 2.3.1.3)."""
    if 200 <= robots.status < 300:
        return RobotsPolicy(rules=Protego.parse(robots.body))
    return RobotsPolicy()


def freshness_of(headers: Mapping[str, str] | None, now: datetime) -> timedelta:
    """How long a robots.txt may be reused, from Cache-Control max-age, else Expires - Date; a day at most."""
    headers = headers or {}
    control = parse_cache_control_header(headers.get("cache-control"), cls=ResponseCacheControl)
    if control.no_store or control.no_cache:
        return timedelta(0)
    if control.max_age is not None:
        lifetime = timedelta(seconds=max(0, control.max_age))
    else:
        if "expires" not in headers:
            return MAX_FRESHNESS
        expires = parse_date(headers.get("expires"))
        if expires is None:  # RFC 9111 5.3: an invalid Expires ("0") means already expired
            return timedelta(0)
        lifetime = expires - (parse_date(headers.get("date")) or now)
    return max(timedelta(0), min(lifetime, MAX_FRESHNESS))


@dataclass(frozen=True, slots=True)
class _Known:
    expires_at: datetime
    policy: RobotsPolicy | None = None
    failure: Callable[[], FetchError] | None = None  # a new error each time: threads raise it concurrently


class RobotsCache:
    """Robots policies by origin; each origin's robots.txt fetched by one thread while other origins go on.

    `fetch_robots(url)` is the Fetcher's own guarded, polite GET without a robots check; it
    returns a RobotsReply or raises a FetchError.
    """

    def __init__(
        self,
        fetch_robots: Callable[[str], RobotsReply],
        user_agent: str,
        *,
        store: RobotsStore | None = None,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self._fetch_robots = fetch_robots
        self._user_agent = user_agent
        self._store = store
        self._now = now
        self._known: dict[str, _Known] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def is_allowed(self, url: str) -> bool:
        return self.policy_for(httpx.URL(url)).is_allowed(url, self._user_agent)

    def crawl_delay(self, url: str) -> float | None:
        return self.policy_for(httpx.URL(url)).crawl_delay(self._user_agent)

    def policy_for(self, url: httpx.URL) -> RobotsPolicy:
        """The policy of `url`'s origin, or the FetchError its robots.txt gave (one fetch per origin at a time)."""
        origin = origin_of(url)
        known = self._fresh(origin)
        if known is None:
            with self._guard:
                lock = self._locks.setdefault(origin, threading.Lock())
            with lock:
                known = self._fresh(origin) or self._learn(origin, robots_url_of(url))
        if known.failure is not None:
            raise known.failure()
        assert known.policy is not None
        return known.policy

    def _fresh(self, origin: str) -> _Known | None:
        with self._guard:
            known = self._known.get(origin)
        return known if known is not None and known.expires_at > self._now() else None

    def _learn(self, origin: str, robots_url: str) -> _Known:
        now = self._now()
        stored = self._store.load_robots(origin) if self._store is not None else None
        if stored is not None and stored.expires_at > now:
            known = _Known(stored.expires_at, policy=policy_from_stored(stored))
        else:
            known = self._fetch(origin, robots_url, now)
        with self._guard:
            self._known[origin] = known
        return known

    def _fetch(self, origin: str, robots_url: str, now: datetime) -> _Known:
        try:
            reply = self._fetch_robots(robots_url)
        except BlockedAddressError:
            raise
        except TooManyRedirectsError:
            # RFC 9309 2.3.1.2: past five redirects the file may be treated as unavailable (4xx).
            reply = RobotsReply(status=404, body=b"")
        except NetworkError as exc:
            host = httpx.URL(robots_url).host
            failure = functools.partial(
                NetworkError,
                f"{host} could not be reached ({exc.cause}) when fetching its robots.txt: "
                f"{exc.message.removeprefix(exc.cause + ': ')}",
                url=robots_url,
                cause=exc.cause,
            )
            logger.warning("robots.txt unreachable: %s", failure(), extra={"url": robots_url})
            return _Known(now + FAILURE_FRESHNESS, failure=failure)
        except FetchError as exc:
            failure = functools.partial(FetchError, f"robots.txt could not be fetched: {exc.message}", url=robots_url)
            logger.warning("robots.txt failed: %s", failure(), extra={"url": robots_url})
            return _Known(now + FAILURE_FRESHNESS, failure=failure)
        if reply.status >= 500 or reply.status == 429:
            # RFC 9309 2.3.1.4: an unreachable robots.txt (server error) means crawling nothing for now.
            failure = functools.partial(
                HTTPStatusError,
                f"robots.txt answered HTTP {reply.status}: the site is treated as unavailable",
                url=robots_url,
                status=reply.status,
                hint="the site's server is failing; it will be tried again later",
            )
            return _Known(now + FAILURE_FRESHNESS, failure=failure)
        text = reply.body[:ROBOTS_MAX_BYTES].decode("utf-8", errors="replace") if reply.status < 300 else ""
        lifetime = freshness_of(reply.headers, now)
        stored = StoredRobots(origin, reply.status, text, now, now + lifetime)
        if self._store is not None and lifetime > timedelta(0):
            self._store.save_robots(stored)
        return _Known(now + max(lifetime, MIN_FRESHNESS), policy=policy_from_stored(stored))
