"""The robots.txt policy of each origin (RFC 9309), fetched once per origin and cached for a run."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from protego import Protego

from aggregator.errors import BlockedAddressError, FetchError, TooManyRedirectsError
from aggregator.ingest.fetch.politeness import host_key

logger = logging.getLogger(__name__)

ROBOTS_MAX_BYTES = 512 * 1024
"""RFC 9309 section 2.5: crawlers must parse at least 500 KiB; more than that is ignored."""


@dataclass(frozen=True, slots=True)
class RobotsReply:
    """What fetching /robots.txt gave: the final status and the body (b"" when not 2xx)."""

    status: int
    body: bytes


@dataclass(frozen=True, slots=True)
class RobotsPolicy:
    """One origin's rules: `rules` parsed from a robots.txt, or a blanket allow/deny when there was none."""

    allow_all: bool
    rules: Protego | None = None

    def is_allowed(self, url: str, user_agent: str) -> bool:
        if self.rules is None:
            return self.allow_all
        return bool(self.rules.can_fetch(url, user_agent))

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


def policy_from_reply(reply: RobotsReply) -> RobotsPolicy:
    """Turn a robots.txt response into a policy: 2xx parsed, 4xx allow all, anything else deny all."""
    if 200 <= reply.status < 300:
        text = reply.body[:ROBOTS_MAX_BYTES].decode("utf-8", errors="replace")
        return RobotsPolicy(allow_all=True, rules=Protego.parse(text))
    if 400 <= reply.status < 500 and reply.status != 429:
        return RobotsPolicy(allow_all=True)
    # 5xx, and 429 which crawlers treat the same way: the site is unreachable, crawl nothing.
    return RobotsPolicy(allow_all=False)


class RobotsCache:
    """Robots policies by origin for the lifetime of one Fetcher; each origin is fetched at most once.

    `fetch_robots(url)` is the Fetcher's own guarded, polite GET without a robots check; it
    returns a RobotsReply or raises a FetchError.
    """

    def __init__(self, fetch_robots: Callable[[str], RobotsReply], user_agent: str) -> None:
        self._fetch_robots = fetch_robots
        self._user_agent = user_agent
        self._policies: dict[str, RobotsPolicy] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def is_allowed(self, url: str) -> bool:
        return self.policy_for(httpx.URL(url)).is_allowed(url, self._user_agent)

    def crawl_delay(self, url: str) -> float | None:
        return self.policy_for(httpx.URL(url)).crawl_delay(self._user_agent)

    def policy_for(self, url: httpx.URL) -> RobotsPolicy:
        """The policy of `url`'s origin, fetching its robots.txt the first time (one thread per origin)."""
        origin = origin_of(url)
        with self._guard:
            policy = self._policies.get(origin)
            if policy is not None:
                return policy
            lock = self._locks.setdefault(origin, threading.Lock())
        with lock:
            with self._guard:
                policy = self._policies.get(origin)
            if policy is None:
                policy = self._load_policy(robots_url_of(url))
                with self._guard:
                    self._policies[origin] = policy
        return policy

    def _load_policy(self, robots_url: str) -> RobotsPolicy:
        try:
            reply = self._fetch_robots(robots_url)
        except BlockedAddressError:
            raise
        except TooManyRedirectsError:
            # RFC 9309 2.3.1.2: past five redirects the file may be treated as unavailable (4xx).
            reply = RobotsReply(status=404, body=b"")
        except FetchError as exc:
            logger.warning("robots.txt unreachable, not crawling this origin: %s", exc, extra={"url": robots_url})
            return RobotsPolicy(allow_all=False)
        policy = policy_from_reply(reply)
        if policy.rules is None and not policy.allow_all:
            logger.warning(
                "robots.txt answered %s, not crawling this origin",
                reply.status,
                extra={"url": robots_url, "status": reply.status},
            )
        return policy
