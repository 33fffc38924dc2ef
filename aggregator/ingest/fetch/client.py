"""The Fetcher: one polite, guarded GET of a URL with conditional headers, manual redirects and bounded bodies."""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType

import httpx

from aggregator.errors import (
    BlockedAddressError,
    BlockedSchemeError,
    DeadlineExceededError,
    FetchError,
    GoneError,
    HTTPStatusError,
    RateLimitedError,
    RobotsDisallowedError,
    TooManyRedirectsError,
)
from aggregator.ingest.fetch.body import ACCEPT_ENCODING, read_body
from aggregator.ingest.fetch.failures import fetch_error_from
from aggregator.ingest.fetch.netguard import Budget, GuardedBackend, guarded_transport
from aggregator.ingest.fetch.politeness import HostGate, host_key
from aggregator.ingest.fetch.robots import RobotsCache, RobotsReply, RobotsStore
from aggregator.settings import Settings

logger = logging.getLogger(__name__)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_STATUSES = frozenset({301, 308})
MAX_CRAWL_DELAY = 60.0
"""A robots.txt Crawl-delay above this is capped, so one site cannot hold a worker thread for hours."""


@dataclass(frozen=True, slots=True)
class Fetched:
    """A successful GET: the final URL, 2xx (or 304) status, the decoded body and the validators to store."""

    url: str
    status: int
    body: bytes
    content_type: str | None
    etag: str | None
    last_modified: str | None
    permanent_redirect: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True, slots=True)
class _Exchange:
    """One hop's response: the body only for 2xx, and the deadline that hop ran under."""

    url: httpx.URL
    status: int
    headers: httpx.Headers
    body: bytes
    deadline: float


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP-date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class Fetcher:
    """Fetches URLs politely and safely; thread-safe, meant to be shared by a pool of worker threads.

    `transport` replaces the guarded transport (tests); `backend` replaces only its network backend
    (a resolver for tests and benchmarks), keeping the guarded transport's per-origin pools.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.BaseTransport | None = None,
        backend: GuardedBackend | None = None,
        robots_store: RobotsStore | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._settings = settings
        self._limits = settings.fetch
        self._clock = clock
        self._gate = HostGate(clock=clock, sleep=sleep)
        self._client = self._new_client(
            transport if transport is not None else guarded_transport(settings, backend=backend)
        )
        self._robots = (
            RobotsCache(self._fetch_robots, settings.user_agent, store=robots_store)
            if self._limits.robots_txt
            else None
        )

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def _new_client(self, transport: httpx.BaseTransport) -> httpx.Client:
        return httpx.Client(
            transport=transport,
            follow_redirects=False,
            trust_env=False,  # an environment proxy would connect on our behalf, past the address guard
            headers={"User-Agent": self._settings.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
            timeout=httpx.Timeout(self._limits.read_timeout, connect=self._limits.connect_timeout),
        )

    def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None, accept: str | None = None
    ) -> Fetched:
        """GET `url`; 2xx and 304 come back as Fetched, every other outcome raises a FetchError."""
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        if accept:
            headers["Accept"] = accept
        final, permanent = self._follow(url, headers, check_robots=self._robots is not None)
        final_url = str(final.url)
        check_status(final.status, final_url, final.headers)
        if permanent:
            logger.info("permanent redirect %s -> %s", url, permanent, extra={"url": url, "new_url": permanent})
        return Fetched(
            url=final_url,
            status=final.status,
            body=final.body if final.status != 304 else b"",
            content_type=final.headers.get("content-type"),
            etag=final.headers.get("etag"),
            last_modified=final.headers.get("last-modified"),
            permanent_redirect=permanent,
        )

    def _fetch_robots(self, robots_url: str) -> RobotsReply:
        final, _ = self._follow(robots_url, {}, check_robots=False)
        return RobotsReply(status=final.status, body=final.body, headers=final.headers)

    def _follow(self, url: str, headers: dict[str, str], *, check_robots: bool) -> tuple[_Exchange, str | None]:
        """Walk the redirect chain from `url`; return the last hop and the permanent new URL, if any."""
        current = parse_http_url(url)
        seen = {str(current)}
        permanent: str | None = None
        only_permanent_so_far = True
        deadline: float | None = None
        for _ in range(self._limits.max_redirects + 1):
            delay = self._limits.per_host_delay
            if check_robots:
                delay = max(delay, self._check_robots(current))
            hop = self._exchange(current, headers, delay=delay, deadline=deadline)
            deadline = hop.deadline
            location = hop.headers.get("location")
            if hop.status not in REDIRECT_STATUSES or not location:
                return hop, permanent
            try:
                target = hop.url.join(location)
            except httpx.InvalidURL as exc:
                raise FetchError(f"redirect to an invalid URL {location!r}", url=str(hop.url)) from exc
            try:
                target = parse_http_url(str(target))
            except BlockedSchemeError as exc:
                exc.url = location  # as the server sent it; httpx would print file:///x as file:/x
                raise
            if only_permanent_so_far and hop.status in PERMANENT_STATUSES:
                permanent = str(target)
            else:
                only_permanent_so_far = False
            if str(target) in seen:
                raise TooManyRedirectsError(f"redirect loop back to {target}", url=url)
            seen.add(str(target))
            current = target
        raise TooManyRedirectsError(f"more than {self._limits.max_redirects} redirects", url=url)

    def _check_robots(self, url: httpx.URL) -> float:
        """Raise RobotsDisallowedError if robots.txt forbids `url`; return the origin's crawl delay."""
        assert self._robots is not None
        try:
            allowed = self._robots.is_allowed(str(url))
        except BlockedAddressError as exc:
            exc.url = str(url)  # the host is refused whichever path is asked for; name the one the caller gave
            raise
        if not allowed:
            raise RobotsDisallowedError(f"robots.txt disallows {url}", url=str(url))
        return min(self._robots.crawl_delay(str(url)) or 0.0, MAX_CRAWL_DELAY)

    def _exchange(self, url: httpx.URL, headers: dict[str, str], *, delay: float, deadline: float | None) -> _Exchange:
        """One GET under the host's turn; the body is read (capped) only for 2xx responses."""
        with self._gate.turn(host_key(url), delay):
            if deadline is None:  # the deadline counts from the first request, not the wait for a turn
                deadline = self._clock() + self._limits.total_deadline
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise DeadlineExceededError("the total deadline passed during redirects", url=str(url))
            # Each operation keeps its own timeout, and all of them together the deadline (see Budget).
            read = Budget(self._limits.read_timeout, deadline=deadline, clock=self._clock)
            connect = Budget(self._limits.connect_timeout, deadline=deadline, clock=self._clock)
            timeouts = {"connect": connect, "read": read, "write": read, "pool": connect}
            try:
                with self._client.stream("GET", url, headers=headers, extensions={"timeout": timeouts}) as response:
                    body = b""
                    if 200 <= response.status_code < 300:
                        body = read_body(
                            response, cap=self._limits.max_body_bytes, deadline=deadline, clock=self._clock
                        )
                    return _Exchange(url, response.status_code, response.headers, body, deadline)
            except FetchError as exc:
                exc.url = exc.url or str(url)
                raise
            except httpx.TimeoutException as exc:
                if self._clock() >= deadline:
                    raise DeadlineExceededError(
                        f"the total deadline of {self._limits.total_deadline:g} s passed ({type(exc).__name__})",
                        url=str(url),
                    ) from exc
                raise fetch_error_from(exc, str(url)) from exc
            except httpx.HTTPError as exc:
                raise fetch_error_from(exc, str(url)) from exc


def parse_http_url(url: str) -> httpx.URL:
    """Parse `url`, refusing anything that is not an absolute http(s) URL."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise FetchError(f"not a valid URL: {url!r}", url=url) from exc
    if parsed.scheme not in ("http", "https"):
        raise BlockedSchemeError(f"refusing the {parsed.scheme or 'missing'} scheme of {url}", url=url)
    if not parsed.host:
        raise FetchError(f"no host in {url!r}", url=url)
    return parsed


def check_status(status: int, url: str, headers: httpx.Headers) -> None:
    """Raise the FetchError a final status means; 2xx and 304 pass."""
    if 200 <= status < 300 or status == 304:
        return
    if status in (429, 503):
        retry_after = parse_retry_after(headers.get("retry-after"))
        raise RateLimitedError(
            f"HTTP {status}, retry after {retry_after} s", url=url, status=status, retry_after=retry_after
        )
    if status == 410:
        raise GoneError("HTTP 410 Gone", url=url, status=status)
    raise HTTPStatusError(f"HTTP {status}", url=url, status=status)
