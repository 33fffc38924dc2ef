"""The fetcher against slow and unreachable hosts (real sockets on 127.0.0.1): the total deadline, honest
network causes, robots.txt cached by its headers and kept in the database, and hosts that do not wait for each other."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from aggregator.db.robots_store import DatabaseRobotsStore
from aggregator.db.schema import robots_txt
from aggregator.errors import DeadlineExceededError, NetworkError, RobotsDisallowedError
from aggregator.ingest.fetch import Fetcher, GuardedBackend
from aggregator.ingest.fetch.robots import MAX_FRESHNESS, freshness_of
from aggregator.settings import FetchLimits, Settings
from tests.support.httpserver import LocalServer, http_server  # noqa: F401 - fixture

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def settings_with(**limits: Any) -> Settings:
    values: dict[str, Any] = {
        "per_host_delay": 0.0,
        "robots_txt": False,
        "connect_timeout": 2.0,
        "read_timeout": 2.0,
        "total_deadline": 10.0,
    } | limits
    return Settings(_env_file=None, allow_private_addresses=True, fetch=FetchLimits(**values))


@pytest.fixture
def dribbling_server() -> Iterator[str]:
    """A server that answers each request with its status line and headers one byte every 0.5 s (12 bytes at
    most, then it hangs up: without a total deadline a fetch ends on the hang-up, not on the deadline)."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)
                for byte in b"HTTP/1.1 200 OK\r\nX-Slow: y"[:12]:
                    if stop.wait(0.5):
                        break
                    try:
                        conn.sendall(bytes([byte]))
                    except OSError:
                        break

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/feed.xml"
    stop.set()
    thread.join(5)
    listener.close()


def test_slow_headers_are_cut_off_by_the_total_deadline(dribbling_server: str) -> None:
    """Each byte comes well within the read timeout, so only a deadline over connect + headers + body ends it."""
    with Fetcher(settings_with(total_deadline=1.5, read_timeout=1.0)) as fetcher:
        with pytest.raises(DeadlineExceededError) as raised:
            fetcher.fetch(dribbling_server)
    assert raised.value.cause == "timeout" and "deadline" in str(raised.value)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def refuse_dns(host: str, port: int, **_: Any) -> list:
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


@pytest.mark.parametrize("robots", [True, False], ids=["robots-on", "robots-off"])
def test_a_refused_connection_is_named_as_such_never_as_robots(robots: bool) -> None:
    url = f"http://127.0.0.1:{closed_port()}/feed.xml"
    with Fetcher(settings_with(robots_txt=robots)) as fetcher:
        with pytest.raises(NetworkError) as raised:
            fetcher.fetch(url)
    assert raised.value.cause == "connection refused"
    assert not isinstance(raised.value, RobotsDisallowedError) and "disallow" not in str(raised.value)
    if robots:
        assert "127.0.0.1 could not be reached (connection refused) when fetching its robots.txt" in str(raised.value)


def test_a_dns_failure_is_named_with_its_host() -> None:
    backend = GuardedBackend(allow_private=True, resolve=refuse_dns)
    with Fetcher(settings_with(robots_txt=True), backend=backend) as fetcher:
        with pytest.raises(NetworkError) as raised:
            fetcher.fetch("http://partner.example/feed.xml")
    assert raised.value.cause == "DNS failure"
    assert str(raised.value).startswith("partner.example could not be reached (DNS failure)")


def test_robots_txt_is_kept_in_the_database_across_restarts(http_server: LocalServer, engine) -> None:
    http_server.add(
        "/robots.txt", body=b"User-agent: *\nDisallow: /private\n", headers={"Cache-Control": "max-age=3600"}
    )
    http_server.add("/feed.xml", body=b"feed")
    store = DatabaseRobotsStore(engine)
    for _ in range(2):  # a second Fetcher is a restarted process: it reads the stored file, fetches none
        with Fetcher(settings_with(robots_txt=True), robots_store=store) as fetcher:
            assert fetcher.fetch(http_server.url("/feed.xml")).body == b"feed"
            with pytest.raises(RobotsDisallowedError):
                fetcher.fetch(http_server.url("/private/x"))
    assert len(http_server.requests_to("/robots.txt")) == 1
    with engine.connect() as conn:
        row = conn.execute(select(robots_txt)).one()
    assert row.status == 200 and "Disallow: /private" in row.body
    assert timedelta(minutes=59) < row.expires_at - row.fetched_at <= timedelta(hours=1)


def test_an_expired_robots_txt_is_fetched_again(http_server: LocalServer, engine) -> None:
    http_server.add("/robots.txt", body=b"User-agent: *\nAllow: /\n", headers={"Cache-Control": "max-age=0"})
    http_server.add("/feed.xml", body=b"feed")
    store = DatabaseRobotsStore(engine)
    for _ in range(2):
        with Fetcher(settings_with(robots_txt=True), robots_store=store) as fetcher:
            fetcher.fetch(http_server.url("/feed.xml"))
            fetcher.fetch(http_server.url("/feed.xml"))  # within one Fetcher it is still kept a minute
    assert len(http_server.requests_to("/robots.txt")) == 2
    with engine.connect() as conn:
        assert conn.execute(select(robots_txt)).all() == []  # max-age=0: never stored


@pytest.mark.parametrize(
    ("headers", "lifetime"),
    [
        ({}, MAX_FRESHNESS),
        ({"cache-control": "max-age=600"}, timedelta(minutes=10)),
        ({"cache-control": "public, max-age=864000"}, MAX_FRESHNESS),  # RFC 9309: a day at most
        ({"cache-control": "no-store"}, timedelta(0)),
        ({"expires": "Sat, 05 Dec 2026 14:00:00 GMT", "date": "Sat, 05 Dec 2026 12:00:00 GMT"}, timedelta(hours=2)),
        ({"expires": "0"}, timedelta(0)),
    ],
)
def test_robots_freshness_follows_its_caching_headers(headers: dict[str, str], lifetime: timedelta) -> None:
    assert freshness_of(headers, NOW) == lifetime


def test_a_slow_robots_txt_holds_up_only_its_own_host(http_server: LocalServer) -> None:
    """Two hosts (two ports): while one host's robots.txt takes a second, the other host is fetched."""
    with LocalServer() as slow:
        slow.add("/robots.txt", body=b"User-agent: *\nAllow: /\n", delay=1.0)
        slow.add("/feed.xml", body=b"slow feed")
        http_server.add("/feed.xml", body=b"feed")
        with Fetcher(settings_with(robots_txt=True)) as fetcher:
            slow_thread = threading.Thread(target=fetcher.fetch, args=(slow.url("/feed.xml"),))
            slow_thread.start()
            while not slow.requests_to("/robots.txt"):
                time.sleep(0.01)
            assert fetcher.fetch(http_server.url("/feed.xml")).body == b"feed"
            assert slow.requests_to("/feed.xml") == []  # the slow host's robots.txt is still on its way
            slow_thread.join(10)
        assert len(slow.requests_to("/feed.xml")) == 1


def test_each_host_keeps_its_own_connection_alive(http_server: LocalServer) -> None:
    """Requests alternating between two hosts reuse one connection per host (a pool per origin)."""
    connects: list[tuple] = []

    def connect(family: int, sockaddr: tuple, timeout: float | None, local_address: str | None) -> socket.socket:
        connects.append(sockaddr)
        return socket.create_connection(sockaddr[:2], timeout)

    with LocalServer() as other:
        for server in (http_server, other):
            server.add("/feed.xml", body=b"feed")
        backend = GuardedBackend(allow_private=True, connect=connect)
        with Fetcher(settings_with(), backend=backend) as fetcher:
            for _ in range(3):
                for server in (http_server, other):
                    assert fetcher.fetch(server.url("/feed.xml")).body == b"feed"
    assert len(connects) == 2


def test_idle_origin_pools_are_closed_as_new_hosts_come() -> None:
    from aggregator.ingest.fetch.pools import OriginPools

    class Transport(httpx.MockTransport):
        closed = 0

        def close(self) -> None:
            Transport.closed += 1

    now = [0.0]
    pools = OriginPools(
        lambda: Transport(lambda request: httpx.Response(200)), idle_expiry=30.0, sweep_above=2, clock=lambda: now[0]
    )
    with httpx.Client(transport=pools) as client:
        for host in ("a", "b"):
            client.get(f"http://{host}.example/")
        now[0] = 60.0
        client.get("http://a.example/")  # a is used again; b has been idle for a minute
        client.get("http://c.example/")  # a third pool: the idle one (b) is closed
        assert Transport.closed == 1
    assert Transport.closed == 3  # closing the client closes the rest
