"""Tests of the fetch stage against a real HTTP server on 127.0.0.1 (and, for SSRF, fake DNS)."""

from __future__ import annotations

import email.utils
import gzip
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from aggregator.errors import (
    BlockedAddressError,
    BlockedSchemeError,
    BodyTooLargeError,
    DeadlineExceededError,
    FetchError,
    GoneError,
    HTTPStatusError,
    RateLimitedError,
    RobotsDisallowedError,
    TooManyRedirectsError,
)
from aggregator.ingest.fetch import (
    Fetched,
    Fetcher,
    GuardedBackend,
    guarded_transport,
    is_public_address,
    netguard,
    parse_retry_after,
)
from aggregator.ingest.fetch.politeness import HostGate
from aggregator.ingest.fetch.robots import StoredRobots, policy_from_stored
from aggregator.settings import FetchLimits, Settings
from tests.support.httpserver import LocalServer, Reply, http_server  # noqa: F401 - fixture

PUBLIC_IP = "93.184.216.34"  # a global address that the fake DNS below hands out; never connected to
MB = 1024 * 1024


def make_settings(*, allow_private: bool = True, **limits: Any) -> Settings:
    values: dict[str, Any] = {
        "per_host_delay": 0.0,
        "robots_txt": False,
        "connect_timeout": 2.0,
        "read_timeout": 2.0,
        "total_deadline": 10.0,
    } | limits
    return Settings(_env_file=None, allow_private_addresses=allow_private, fetch=FetchLimits(**values))


@pytest.fixture
def make_fetcher() -> Iterator[Callable[..., Fetcher]]:
    fetchers: list[Fetcher] = []

    def build(settings: Settings | None = None, **kwargs: Any) -> Fetcher:
        fetcher = Fetcher(settings or make_settings(), **kwargs)
        fetchers.append(fetcher)
        return fetcher

    yield build
    for fetcher in fetchers:
        fetcher.close()


class FakeNet:
    """Fake DNS and connect: named hosts resolve to chosen IPs; every connection lands on the local server."""

    def __init__(self, server: LocalServer, names: dict[str, list[str]]) -> None:
        self.server = server
        self.names = names
        self.connects: list[str] = []

    def resolve(self, host: str, port: int, **kwargs: Any) -> list[tuple[Any, ...]]:
        answers = self.names.get(host)
        if answers is None:
            return socket.getaddrinfo(host, port, **kwargs)
        return [
            (socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in answers
        ]

    def connect(
        self, family: int, sockaddr: tuple[Any, ...], timeout: float | None, local_address: str | None
    ) -> socket.socket:
        self.connects.append(sockaddr[0])
        return socket.create_connection((self.server.host, self.server.port), timeout)

    def fetcher(self, make_fetcher: Callable[..., Fetcher], **limits: Any) -> Fetcher:
        settings = make_settings(allow_private=False, **limits)
        backend = GuardedBackend(allow_private=False, resolve=self.resolve, connect=self.connect)
        return make_fetcher(settings, transport=guarded_transport(settings, backend=backend))


# --- plain GETs, validators, redirects, statuses ------------------------------------------------


def test_get_sends_honest_user_agent_and_accept(http_server: LocalServer, make_fetcher) -> None:
    http_server.add("/feed.xml", body=b"<rss/>", headers={"Content-Type": "application/rss+xml"})
    settings = make_settings()
    fetched = make_fetcher(settings).fetch(http_server.url("/feed.xml"), accept="application/rss+xml")
    assert fetched == Fetched(
        url=http_server.url("/feed.xml"),
        status=200,
        body=b"<rss/>",
        content_type="application/rss+xml",
        etag=None,
        last_modified=None,
    )
    sent = http_server.requests_to("/feed.xml")[0].headers
    assert sent["user-agent"] == settings.user_agent
    assert sent["accept"] == "application/rss+xml"


@pytest.mark.parametrize(
    ("validators", "sent_header"),
    [
        ({"ETag": '"v1"'}, "if-none-match"),
        ({"Last-Modified": "Wed, 01 May 2024 10:00:00 GMT"}, "if-modified-since"),
        ({"ETag": 'W/"v2"', "Last-Modified": "Wed, 01 May 2024 10:00:00 GMT"}, "if-none-match"),
    ],
)
def test_conditional_get_round_trip(http_server: LocalServer, make_fetcher, validators, sent_header) -> None:
    http_server.add("/feed.xml", body=b"<rss>v1</rss>", headers=validators)
    fetcher = make_fetcher()
    first = fetcher.fetch(http_server.url("/feed.xml"))
    assert first.status == 200 and not first.not_modified
    second = fetcher.fetch(http_server.url("/feed.xml"), etag=first.etag, last_modified=first.last_modified)
    assert second.status == 304 and second.not_modified and second.body == b""
    assert second.etag == first.etag
    request = http_server.requests_to("/feed.xml")[-1]
    assert request.headers[sent_header] == (validators.get("ETag") or validators["Last-Modified"])


@pytest.mark.parametrize(
    ("chain", "permanent"),
    [
        ([301], "/new"),
        ([308], "/new"),
        ([302], None),
        ([307], None),
        ([303], None),
        ([301, 308], "/new"),  # a chain of permanent hops: store its end
        ([301, 302], "/hop1"),  # permanent then temporary: store where the permanent part ended
        ([302, 301], None),
    ],
)
def test_redirects_report_permanent_moves(http_server: LocalServer, make_fetcher, chain, permanent, caplog) -> None:
    paths = ["/old"] + [f"/hop{i}" for i in range(1, len(chain))] + ["/new"]
    for (here, there), status in zip(zip(paths, paths[1:]), chain):
        http_server.add(here, status=status, headers={"Location": there})
    http_server.add("/new", body=b"moved here")
    caplog.set_level("INFO", logger="aggregator.ingest.fetch.client")
    fetched = make_fetcher().fetch(http_server.url("/old"))
    assert fetched.url == http_server.url("/new") and fetched.body == b"moved here"
    assert fetched.permanent_redirect == (http_server.url(permanent) if permanent else None)
    logged = [r for r in caplog.records if getattr(r, "new_url", None)]
    assert [(r.url, r.new_url) for r in logged] == (
        [(http_server.url("/old"), fetched.permanent_redirect)] if permanent else []
    )


def http_date_in(seconds: int) -> str:
    return email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=seconds), usegmt=True)


@pytest.mark.parametrize(
    ("status", "headers", "error", "retry_after"),
    [
        (410, {}, GoneError, None),
        (429, {"Retry-After": "120"}, RateLimitedError, 120),
        (429, {"Retry-After": "<http-date in 120 s>"}, RateLimitedError, 120),
        (503, {"Retry-After": "30"}, RateLimitedError, 30),
        (503, {}, RateLimitedError, None),
        (404, {}, HTTPStatusError, None),
        (500, {}, HTTPStatusError, None),
        (300, {}, HTTPStatusError, None),
        (301, {}, HTTPStatusError, None),  # a redirect without Location goes nowhere
    ],
)
def test_error_statuses_raise(http_server: LocalServer, make_fetcher, status, headers, error, retry_after) -> None:
    if headers.get("Retry-After", "").startswith("<http-date"):
        headers = {"Retry-After": http_date_in(retry_after)}  # made now, not at collection time
    http_server.add("/x", status=status, headers=headers, body=b"error page")
    with pytest.raises(error) as caught:
        make_fetcher().fetch(http_server.url("/x"))
    assert type(caught.value) is error
    assert caught.value.status == status and caught.value.url == http_server.url("/x")
    if error is RateLimitedError:
        assert caught.value.retry_after == (pytest.approx(retry_after, abs=3) if retry_after else None)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 5 ", 5.0),
        ("-3", 0.0),
        ("", None),
        (None, None),
        ("soon", None),
        ("Wed, 01 May 2024 10:02:00 GMT", 120.0),
        ("Wed, 01 May 2024 09:00:00 GMT", 0.0),
    ],
)
def test_parse_retry_after(value, expected) -> None:
    now = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert parse_retry_after(value, now=now) == expected


# --- deadlines and body caps --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("delay", "read_timeout", "deadline", "late_by"),
    [
        (0.5, 2.0, 1.5, 0.5),  # trickles faster than the read timeout: caught between chunks
        (4.0, 20.0, 1.0, 0.3),  # one byte every 4 s: the read timeout is cut to what is left
    ],
)
def test_slow_body_stops_at_deadline(
    http_server: LocalServer, make_fetcher, delay, read_timeout, deadline, late_by
) -> None:
    http_server.add("/slow", body=b"x" * 40, chunk_size=1, delay=delay)
    fetcher = make_fetcher(make_settings(read_timeout=read_timeout, total_deadline=deadline))
    started = time.monotonic()
    with pytest.raises(DeadlineExceededError):
        fetcher.fetch(http_server.url("/slow"))
    assert time.monotonic() - started < deadline + late_by


def fifty_megabytes() -> Iterator[bytes]:
    chunk = b"x" * (64 * 1024)
    for _ in range(50 * 16):
        yield chunk


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({}, fifty_megabytes),  # streamed with no length
        ({"Content-Length": str(50 * MB)}, fifty_megabytes),  # honest length: refused from the header
    ],
)
def test_huge_body_is_refused_quickly(http_server: LocalServer, make_fetcher, headers, body) -> None:
    http_server.add("/huge", headers=headers, body=body)
    started = time.monotonic()
    with pytest.raises(BodyTooLargeError):
        make_fetcher(make_settings(max_body_bytes=MB)).fetch(http_server.url("/huge"))
    assert time.monotonic() - started < 2.0


def test_gzip_bomb_is_refused_by_decoded_size(http_server: LocalServer, make_fetcher) -> None:
    bomb = gzip.compress(b"\0" * (32 * MB), compresslevel=6)
    assert len(bomb) < 64 * 1024
    http_server.add("/bomb", headers={"Content-Encoding": "gzip"}, body=bomb)
    with pytest.raises(BodyTooLargeError):
        make_fetcher(make_settings(max_body_bytes=MB)).fetch(http_server.url("/bomb"))


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some servers send
        ("identity", lambda data: data),
    ],
)
def test_compressed_bodies_are_decoded(http_server: LocalServer, make_fetcher, encoding, encode) -> None:
    text = b"<rss>" + b"kindness " * 50_000 + b"</rss>"
    http_server.add("/feed", headers={"Content-Encoding": encoding}, body=encode(text))
    assert make_fetcher().fetch(http_server.url("/feed")).body == text
    assert http_server.requests[0].headers["accept-encoding"] == "gzip, deflate"


def test_gzip_body_just_under_the_cap_is_accepted(http_server: LocalServer, make_fetcher) -> None:
    http_server.add("/feed", headers={"Content-Encoding": "gzip"}, body=gzip.compress(b"a" * MB))
    assert len(make_fetcher(make_settings(max_body_bytes=MB)).fetch(http_server.url("/feed")).body) == MB


@pytest.mark.parametrize(
    ("declared", "actual", "outcome"),
    [
        (1000, 5 * MB, 1000),  # claims little, sends a lot: never more than the declared bytes are read
        (100, 50, FetchError),  # claims more than it sends, then hangs up
        (50 * MB, 10, BodyTooLargeError),  # claims more than the cap: refused before reading
    ],
)
def test_lying_content_length(http_server: LocalServer, make_fetcher, declared, actual, outcome) -> None:
    http_server.add("/liar", headers={"Content-Length": str(declared)}, body=b"y" * actual)
    fetcher = make_fetcher(make_settings(max_body_bytes=MB))
    if isinstance(outcome, int):
        assert len(fetcher.fetch(http_server.url("/liar")).body) == outcome
    else:
        with pytest.raises(outcome):
            fetcher.fetch(http_server.url("/liar"))


# --- redirects to bad places --------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:9/",
        "http://[::1]/",
        "http://internal.test/",
    ],
)
def test_redirect_to_private_address_is_blocked_at_that_hop(http_server: LocalServer, make_fetcher, target) -> None:
    net = FakeNet(http_server, {"feeds.test": [PUBLIC_IP], "internal.test": ["10.9.8.7"]})
    http_server.add("/start", status=302, headers={"Location": target})
    with pytest.raises(BlockedAddressError) as caught:
        net.fetcher(make_fetcher).fetch(f"http://feeds.test:{http_server.port}/start")
    assert caught.value.url == target
    assert net.connects == [PUBLIC_IP]  # the first hop only; nothing was opened to the private target


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://example.org/feed", "gopher://x/"])
def test_redirect_to_other_scheme_is_blocked(http_server: LocalServer, make_fetcher, target) -> None:
    http_server.add("/start", status=301, headers={"Location": target})
    with pytest.raises(BlockedSchemeError) as caught:
        make_fetcher().fetch(http_server.url("/start"))
    assert caught.value.url == target  # as the server sent it


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/", "javascript:alert(1)"])
def test_non_http_url_is_refused(make_fetcher, url) -> None:
    with pytest.raises(BlockedSchemeError):
        make_fetcher().fetch(url)


@pytest.mark.parametrize(
    ("routes", "max_redirects"),
    [
        ({"/a": "/a"}, 5),
        ({"/a": "/b", "/b": "/a"}, 5),
        ({"/a": "/b", "/b": "/c", "/c": "/d", "/d": "/e"}, 2),
    ],
)
def test_redirect_loops_and_long_chains_stop(http_server: LocalServer, make_fetcher, routes, max_redirects) -> None:
    for here, there in routes.items():
        http_server.add(here, status=302, headers={"Location": there})
    with pytest.raises(TooManyRedirectsError):
        make_fetcher(make_settings(max_redirects=max_redirects)).fetch(http_server.url("/a"))
    assert len(http_server.requests) <= max_redirects + 1


# --- SSRF: resolved addresses and DNS pinning ---------------------------------------------------


@pytest.mark.parametrize("robots", [False, True], ids=["robots-off", "robots-on"])
@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "10.1.2.3",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "2130706433",
        "0x7f000001",
        "127.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "localhost",
        "[fe80::1]",
        "224.0.0.1",
    ],
)
def test_direct_private_addresses_are_blocked(make_fetcher, host, robots) -> None:
    def no_connect(*args: Any) -> socket.socket:
        raise AssertionError("a blocked address must not be connected to")

    settings = make_settings(allow_private=False, robots_txt=robots)
    backend = GuardedBackend(allow_private=False, connect=no_connect)
    fetcher = make_fetcher(settings, transport=guarded_transport(settings, backend=backend))
    with pytest.raises(BlockedAddressError) as caught:
        fetcher.fetch(f"http://{host}/feed.xml")
    assert caught.value.url == f"http://{host}/feed.xml"


def test_private_addresses_are_allowed_by_the_setting(http_server: LocalServer, make_fetcher) -> None:
    http_server.add("/ok", body=b"ok")
    assert make_fetcher(make_settings(allow_private=True)).fetch(http_server.url("/ok")).body == b"ok"


def test_dns_is_pinned_to_the_checked_address(http_server: LocalServer, make_fetcher, monkeypatch) -> None:
    """A rebinding name answers public first and loopback after; the socket must go to the public one."""
    real_getaddrinfo = socket.getaddrinfo
    answers = iter([PUBLIC_IP, "127.0.0.1", "127.0.0.1"])
    lookups: list[str] = []

    def rebinding_getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        if host != "rebind.test":
            return real_getaddrinfo(host, port, *args, **kwargs)
        ip = next(answers)
        lookups.append(ip)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))]

    monkeypatch.setattr(netguard.socket, "getaddrinfo", rebinding_getaddrinfo)
    http_server.add("/feed.xml", body=b"<rss/>")
    net = FakeNet(http_server, {})
    settings = make_settings(allow_private=False)
    backend = GuardedBackend(allow_private=False, connect=net.connect)  # default resolver: the patched one
    fetcher = make_fetcher(settings, transport=guarded_transport(settings, backend=backend))
    assert fetcher.fetch(f"http://rebind.test:{http_server.port}/feed.xml").body == b"<rss/>"
    assert lookups == [PUBLIC_IP]
    assert net.connects == [PUBLIC_IP]


def test_name_with_any_private_answer_is_blocked(http_server: LocalServer, make_fetcher) -> None:
    net = FakeNet(http_server, {"mixed.test": [PUBLIC_IP, "192.168.1.10"]})
    with pytest.raises(BlockedAddressError):
        net.fetcher(make_fetcher).fetch(f"http://mixed.test:{http_server.port}/")
    assert net.connects == []


@pytest.mark.parametrize(
    ("ip", "public"),
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("8.8.8.8", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.0.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("100.127.255.254", False),
        ("0.0.0.0", False),
        ("0.1.2.3", False),
        ("224.0.0.1", False),
        ("255.255.255.255", False),
        ("240.0.0.1", False),
        ("192.0.2.1", False),
        ("198.18.0.1", False),
        ("::1", False),
        ("::", False),
        ("fe80::1%eth0", False),
        ("fc00::1", False),
        ("fd12:3456::1", False),
        ("ff02::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("::ffff:93.184.216.34", True),
        ("2002:7f00:1::", False),
        ("64:ff9b::a00:1", False),
        ("2001:db8::1", False),
        ("not an ip", False),
    ],
)
def test_is_public_address(ip, public) -> None:
    assert is_public_address(ip) is public


# --- robots.txt ---------------------------------------------------------------------------------

EVERYONE = b"User-agent: *\nDisallow: /private\n"
# RFC 9309: a group naming our product token replaces the * group for us, including its Disallow: /
SPECIFIC = b"User-agent: *\nDisallow: /\n\nUser-agent: KindnessDigestAggregator\nDisallow: /no-us\n"


@pytest.mark.parametrize(
    ("robots", "path", "allowed"),
    [
        (EVERYONE, "/feed.xml", True),
        (EVERYONE, "/private/feed.xml", False),
        (SPECIFIC, "/feed.xml", True),
        (SPECIFIC, "/no-us/feed.xml", False),
    ],
    ids=["everyone-allowed", "everyone-disallowed", "specific-allowed", "specific-disallowed"],
)
def test_robots_rules_are_honoured(http_server: LocalServer, make_fetcher, robots, path, allowed) -> None:
    http_server.add("/robots.txt", body=robots, headers={"Content-Type": "text/plain"})
    http_server.add(path, body=b"feed")
    fetcher = make_fetcher(make_settings(robots_txt=True))
    for _ in range(2):
        if allowed:
            assert fetcher.fetch(http_server.url(path)).body == b"feed"
        else:
            with pytest.raises(RobotsDisallowedError):
                fetcher.fetch(http_server.url(path))
    assert len(http_server.requests_to("/robots.txt")) == 1  # cached per origin
    assert len(http_server.requests_to(path)) == (2 if allowed else 0)
    assert http_server.requests_to("/robots.txt")[0].headers["user-agent"] == make_settings().user_agent


@pytest.mark.parametrize(
    ("status", "allowed"),
    [
        (404, True),
        (403, True),
        (410, True),
        (500, False),
        (503, False),
        (429, False),
    ],
)
def test_robots_status_semantics(http_server: LocalServer, make_fetcher, status, allowed) -> None:
    """A robots.txt answering 5xx or 429 means crawling nothing for now (RFC 9309 2.3.1.4), reported as the
    site's server failing: only a fetched robots.txt that forbids the path says "disallows"."""
    http_server.add("/robots.txt", status=status, body=b"User-agent: *\nDisallow: /\n")
    http_server.add("/feed.xml", body=b"feed")
    fetcher = make_fetcher(make_settings(robots_txt=True))
    if allowed:
        assert fetcher.fetch(http_server.url("/feed.xml")).body == b"feed"
    else:
        with pytest.raises(HTTPStatusError) as raised:
            fetcher.fetch(http_server.url("/feed.xml"))
        assert not isinstance(raised.value, RobotsDisallowedError)
        assert f"robots.txt answered HTTP {status}" in str(raised.value) and "disallow" not in str(raised.value)
        assert http_server.requests_to("/feed.xml") == []


def test_robots_redirect_target_is_checked(http_server: LocalServer, make_fetcher) -> None:
    http_server.add("/robots.txt", body=b"User-agent: *\nDisallow: /private\n")
    http_server.add("/public", status=302, headers={"Location": "/private/x"})
    with pytest.raises(RobotsDisallowedError):
        make_fetcher(make_settings(robots_txt=True)).fetch(http_server.url("/public"))
    assert http_server.requests_to("/private/x") == []


def test_robots_can_be_switched_off(http_server: LocalServer, make_fetcher) -> None:
    http_server.add("/robots.txt", body=b"User-agent: *\nDisallow: /\n")
    http_server.add("/feed.xml", body=b"feed")
    assert make_fetcher(make_settings(robots_txt=False)).fetch(http_server.url("/feed.xml")).body == b"feed"
    assert http_server.requests_to("/robots.txt") == []


def test_robots_policy_from_a_stored_file() -> None:
    now = datetime.now(UTC)
    forbids = StoredRobots("http://x:80", 200, "User-agent: *\nDisallow: /a\n", now, now)
    assert not policy_from_stored(forbids).is_allowed("http://x/a", "bot")
    assert policy_from_stored(forbids).is_allowed("http://x/b", "bot")
    assert policy_from_stored(StoredRobots("http://x:80", 404, "", now, now)).is_allowed("http://x/a", "bot")


class FakeTime:
    """A clock that runs with real time plus whatever the fake sleep skipped."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return time.monotonic() + self.offset

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.offset += seconds


def test_crawl_delay_is_a_minimum_per_host_delay(http_server: LocalServer, make_fetcher) -> None:
    http_server.add("/robots.txt", body=b"User-agent: *\nCrawl-delay: 7\n")
    http_server.add("/feed.xml", body=b"feed")
    fake = FakeTime()
    fetcher = make_fetcher(make_settings(robots_txt=True, per_host_delay=1.0), clock=fake.clock, sleep=fake.sleep)
    fetcher.fetch(http_server.url("/feed.xml"))
    fetcher.fetch(http_server.url("/feed.xml"))
    # the crawl delay applies from the robots.txt request on: before each of the two feed requests
    assert [round(s) for s in fake.sleeps] == [7, 7]


# --- politeness ---------------------------------------------------------------------------------


def test_one_request_at_a_time_per_host_with_a_gap(http_server: LocalServer, make_fetcher) -> None:
    http_server.add("/feed.xml", body=b"feed", delay=0.15)
    fetcher = make_fetcher(make_settings(per_host_delay=0.2))
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: fetcher.fetch(http_server.url("/feed.xml")), range(4)))
    served = sorted(http_server.requests_to("/feed.xml"), key=lambda r: r.started)
    assert len(served) == 4
    for before, after in zip(served, served[1:]):
        assert after.started >= before.ended + 0.2 - 0.01


def test_different_hosts_are_fetched_in_parallel(make_fetcher) -> None:
    with LocalServer() as one, LocalServer() as two:
        for server in (one, two):
            server.add("/feed.xml", body=b"feed", delay=0.5)
        fetcher = make_fetcher(make_settings(per_host_delay=5.0))
        started = time.monotonic()
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(fetcher.fetch, [one.url("/feed.xml"), two.url("/feed.xml")]))
        assert time.monotonic() - started < 0.9


def test_host_gate_waits_end_to_start() -> None:
    fake = FakeTime()
    gate = HostGate(clock=fake.clock, sleep=fake.sleep)
    with gate.turn("a:80", 2.0):
        pass
    with gate.turn("b:80", 2.0):  # another host: no wait
        pass
    with gate.turn("a:80", 2.0):
        pass
    assert len(fake.sleeps) == 1 and 1.9 < fake.sleeps[0] <= 2.0


def test_host_gate_serialises_threads() -> None:
    gate = HostGate(clock=time.monotonic, sleep=time.sleep)
    inside, overlaps = [0], []
    lock = threading.Lock()

    def work(_: int) -> None:
        with gate.turn("h:80", 0.0):
            with lock:
                inside[0] += 1
                overlaps.append(inside[0])
            time.sleep(0.01)
            with lock:
                inside[0] -= 1

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(16)))
    assert max(overlaps) == 1


# --- transport injection ------------------------------------------------------------------------


def test_given_transport_is_used_as_is(make_fetcher) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b"mock", headers={"ETag": '"m"'})

    fetched = make_fetcher(make_settings(allow_private=False), transport=httpx.MockTransport(answer)).fetch(
        "http://127.0.0.1/feed.xml"
    )
    assert fetched.body == b"mock" and fetched.etag == '"m"'
    assert seen[0].headers["user-agent"] == make_settings().user_agent
