"""Hostile servers and names against the real Fetcher and the real fetch run, all on 127.0.0.1.

Names like `feeds.test` go through a fake resolver (the GuardedBackend's `resolve` hook) that answers
chosen addresses; every connection the guard allows lands on the local server. What tests/test_fetch.py
already covers (literal private addresses, lying lengths, the 4 s trickle) is not repeated here.
"""

from __future__ import annotations

import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from aggregator.config.sources import parse_sources
from aggregator.db.schema import entries, sources
from aggregator.errors import (
    BlockedAddressError,
    BlockedSchemeError,
    BodyTooLargeError,
    FetchError,
    TooManyRedirectsError,
)
from aggregator.ingest.fetch import Fetcher, GuardedBackend, guarded_transport
from aggregator.ingest.run import run_fetch
from aggregator.settings import FetchLimits, Settings
from tests.hostile.conftest import MB, measured
from tests.support.httpserver import LocalServer, http_server  # noqa: F401 - fixture

PUBLIC_IP = "93.184.216.34"  # handed out by the fake resolver; never really connected to
GB = 1024 * MB


def make_settings(**limits: Any) -> Settings:
    values: dict[str, Any] = {
        "per_host_delay": 0.0,
        "robots_txt": False,
        "connect_timeout": 1.0,
        "read_timeout": 1.0,
        "total_deadline": 2.0,
        "max_body_bytes": MB,
    } | limits
    return Settings(_env_file=None, allow_private_addresses=False, fetch=FetchLimits(**values))


class FakeNet:
    """Named hosts resolve to chosen addresses (others to PUBLIC_IP); allowed connections land on `server`."""

    def __init__(self, server: LocalServer, names: dict[str, list[str]] | None = None) -> None:
        self.server = server
        self.names = names or {}
        self.connects: list[str] = []
        self._lock = threading.Lock()

    def resolve(self, host: str, port: int, **kwargs: Any) -> list[tuple[Any, ...]]:
        if host not in self.names and not host.endswith(".test"):
            return socket.getaddrinfo(host, port, **kwargs)  # address literals: what the system makes of them
        answers = self.names.get(host, [PUBLIC_IP])
        return [
            (socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in answers
        ]

    def connect(
        self, family: int, sockaddr: tuple[Any, ...], timeout: float | None, local_address: str | None
    ) -> socket.socket:
        with self._lock:
            self.connects.append(sockaddr[0])
        return socket.create_connection((self.server.host, self.server.port), timeout)

    def fetcher(self, settings: Settings | None = None) -> Fetcher:
        settings = settings or make_settings()
        backend = GuardedBackend(allow_private=False, resolve=self.resolve, connect=self.connect)
        return Fetcher(settings, transport=guarded_transport(settings, backend=backend))


# --- names resolving to non-public addresses ---------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.0.0.53",
        "127.255.255.254",
        "10.0.0.1",
        "10.255.255.255",
        "169.254.169.254",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "::1",
        "::",
        "0.0.0.0",
        "64:ff9b::7f00:1",
        "2002:7f00:0001::1",
        "fd00:ec2::254",
    ],
)
def test_name_resolving_to_a_denied_address_is_refused_before_connecting(http_server, address) -> None:
    net = FakeNet(http_server, {"partner.test": [address]})
    with net.fetcher() as fetcher, pytest.raises(BlockedAddressError):
        fetcher.fetch(f"http://partner.test:{http_server.port}/feed.xml")
    assert net.connects == [] and http_server.requests == []


@pytest.mark.parametrize(
    "host",
    [
        "0177.0.0.1",  # dotted octal: httpx refuses it as an invalid URL before any lookup (FetchError)
        "2130706433",  # decimal 127.0.0.1
        "0x7f000001",  # hex
        "0x7f.0x0.0x0.0x1",
        "017700000001",  # octal
        "127.1",
        "167772161",  # decimal 10.0.0.1
        "0xa9fea9fe",  # hex 169.254.169.254
        "2852039166",  # decimal 169.254.169.254
        "[::ffff:7f00:1]",
        "[0:0:0:0:0:ffff:127.0.0.1]",
    ],
)
def test_numeric_address_forms_are_judged_by_the_address_they_resolve_to(host) -> None:
    # The real resolver (getaddrinfo) turns these forms into the address a socket would reach.
    def no_connect(*args: Any) -> socket.socket:
        raise AssertionError("a denied address must not be connected to")

    settings = make_settings()
    backend = GuardedBackend(allow_private=False, connect=no_connect)
    with Fetcher(settings, transport=guarded_transport(settings, backend=backend)) as fetcher:
        with pytest.raises(FetchError) as caught:
            fetcher.fetch(f"http://{host}/latest/meta-data/")
    assert isinstance(caught.value, BlockedAddressError) or "not a valid URL" in str(caught.value)


# --- redirects ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "http://metadata.test/latest/meta-data/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]/",
        "http://2130706433/",
        "http://0x0a000001/",
    ],
)
def test_redirect_to_a_denied_address_is_refused_at_that_hop(http_server, target) -> None:
    net = FakeNet(http_server, {"metadata.test": ["169.254.169.254"]})
    http_server.add("/a", status=302, headers={"Location": "/b"})
    http_server.add("/b", status=301, headers={"Location": target})
    with net.fetcher() as fetcher, pytest.raises(BlockedAddressError):
        fetcher.fetch(f"http://partner.test:{http_server.port}/a")
    assert [r.path for r in http_server.requests] == ["/a", "/b"]  # refused at the third hop, unconnected
    assert all(ip == PUBLIC_IP for ip in net.connects)


@pytest.mark.parametrize("target", ["file:///etc/passwd", "FILE:///etc/passwd", "file://localhost/etc/shadow"])
def test_redirect_to_file_is_refused_at_that_hop(http_server, target) -> None:
    net = FakeNet(http_server)
    http_server.add("/a", status=302, headers={"Location": "/b"})
    http_server.add("/b", status=302, headers={"Location": target})
    with net.fetcher() as fetcher, pytest.raises(BlockedSchemeError):
        fetcher.fetch(f"http://partner.test:{http_server.port}/a")
    assert [r.path for r in http_server.requests] == ["/a", "/b"]


@pytest.mark.parametrize(("hops", "allowed"), [(5, True), (6, False)])
def test_at_most_five_redirect_hops(http_server, hops, allowed) -> None:
    for i in range(hops):
        http_server.add(f"/r{i}", status=302, headers={"Location": f"/r{i + 1}"})
    http_server.add(f"/r{hops}", body=b"<rss/>")
    with FakeNet(http_server).fetcher(make_settings(max_redirects=5)) as fetcher:
        if allowed:
            assert fetcher.fetch(f"http://partner.test:{http_server.port}/r0").body == b"<rss/>"
        else:
            with pytest.raises(TooManyRedirectsError):
                fetcher.fetch(f"http://partner.test:{http_server.port}/r0")
    assert len(http_server.requests) == min(hops, 5) + 1


def test_rebinding_name_is_connected_to_the_checked_address(http_server) -> None:
    """Each lookup answers differently (public, then loopback); the socket goes where the check said."""
    answers = iter([PUBLIC_IP, "127.0.0.1", "127.0.0.1", "127.0.0.1"])
    lookups: list[str] = []

    class Rebinding(FakeNet):
        def resolve(self, host: str, port: int, **kwargs: Any) -> list[tuple[Any, ...]]:
            ip = next(answers)
            lookups.append(ip)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))]

    http_server.add("/feed.xml", body=b"<rss/>")
    net = Rebinding(http_server)
    with net.fetcher() as fetcher:
        assert fetcher.fetch(f"http://rebind.test:{http_server.port}/feed.xml").body == b"<rss/>"
    assert lookups == [PUBLIC_IP] and net.connects == [PUBLIC_IP]


# --- bodies: 5 GB, lying lengths, bombs -----------------------------------------------------------------


def lazy_bytes(total: int, chunk: int = 256 * 1024) -> Callable[[], Iterator[bytes]]:
    """A body of `total` bytes produced on demand, one reused chunk at a time (never built)."""
    block = b"k" * chunk

    def body() -> Iterator[bytes]:
        for _ in range(total // chunk):
            yield block

    return body


def lazy_bomb(total: int, wbits: int = 31) -> Callable[[], Iterator[bytes]]:
    """A gzip (wbits 31) or zlib (15) stream that inflates to `total` zero bytes, compressed lazily."""
    zeros = bytes(MB)

    def body() -> Iterator[bytes]:
        packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
        for _ in range(total // MB):
            out = packer.compress(zeros)
            if out:
                yield out
        yield packer.flush()

    return body


BODIES = {
    "5GB-no-length": ({}, lazy_bytes(5 * GB)),
    "5GB-honest-length": ({"Content-Length": str(5 * GB)}, lazy_bytes(5 * GB)),
    "5GB-length-says-500KB": ({"Content-Length": str(500 * 1024)}, lazy_bytes(5 * GB)),
    "gzip-bomb-5GB": ({"Content-Encoding": "gzip"}, lazy_bomb(5 * GB)),
    "deflate-bomb-5GB": ({"Content-Encoding": "deflate"}, lazy_bomb(5 * GB, wbits=15)),
    "gzip-bomb-length-says-small": ({"Content-Encoding": "gzip", "Content-Length": "4000"}, lazy_bomb(5 * GB)),
}


@pytest.mark.parametrize("name", list(BODIES))
def test_huge_bodies_stop_at_the_cap_with_little_memory(http_server, name) -> None:
    headers, body = BODIES[name]
    http_server.add("/huge", headers=headers, body=body)
    with FakeNet(http_server).fetcher(make_settings(max_body_bytes=MB, total_deadline=20, read_timeout=5)) as fetcher:
        with measured() as usage:
            try:
                fetched = fetcher.fetch(f"http://partner.test:{http_server.port}/huge")
            except BodyTooLargeError:
                fetched = None
    assert usage.peak_bytes < 100 * MB, usage
    assert usage.seconds < 10, usage
    if fetched is not None:  # a length under the cap is believed: only that many bytes are read
        assert len(fetched.body) <= MB
    time.sleep(0.1)
    assert http_server.body_bytes_sent < 256 * MB  # the server was stopped long before 5 GB


@pytest.mark.parametrize("coding", ["gzip, gzip"])
def test_unrequested_stacked_codings_stay_within_memory(http_server, coding) -> None:
    # each layer is peeled through the bounded inflater (found here: httpx inflated it in one step)
    payload = _gzip(_gzip(bytes(128 * MB)))  # the codings in the order they were applied
    assert len(payload) < 64 * 1024
    http_server.add("/stacked", headers={"Content-Encoding": coding}, body=payload)
    with FakeNet(http_server).fetcher(make_settings(max_body_bytes=MB, total_deadline=20, read_timeout=5)) as fetcher:
        with measured() as usage, pytest.raises(BodyTooLargeError):
            fetcher.fetch(f"http://partner.test:{http_server.port}/stacked")
    assert usage.peak_bytes < 100 * MB, usage


def test_a_coding_we_did_not_ask_for_is_refused(http_server) -> None:
    http_server.add("/br", headers={"Content-Encoding": "br"}, body=b"\x0b\x02\x80hello\x03")
    with FakeNet(http_server).fetcher(make_settings(max_body_bytes=MB)) as fetcher:
        with pytest.raises(FetchError, match="did not ask for: br"):
            fetcher.fetch(f"http://partner.test:{http_server.port}/br")


def _gzip(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    return packer.compress(data) + packer.flush()


# --- the fetch run: every fault at once, the healthy source still ingests -------------------------------

RSS = (
    b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Healthy</title>'
    b"<item><title>Kindness at the bedside</title><link>https://healthy.test/k</link>"
    b"<guid>https://healthy.test/k</guid><description>ok</description></item></channel></rss>"
)
FAULTS = {
    "healthy": "/healthy.xml",
    "loop": "/loop-a",
    "hang": "/hang",
    "trickle": "/trickle",
    "ratelimited": "/429",
    "gone": "/410",
    "metadata": "/to-metadata",
    "file": "/to-file",
    "huge": "/huge",
    "bomb": "/bomb",
}


def serve_faults(server: LocalServer, release: threading.Event) -> None:
    server.add("/healthy.xml", body=RSS, headers={"Content-Type": "application/rss+xml"})
    server.add("/loop-a", status=302, headers={"Location": "/loop-b"})
    server.add("/loop-b", status=302, headers={"Location": "/loop-a"})

    def hang(_request):
        release.wait(10)  # holds the reply (no headers at all) until the test ends
        from tests.support.httpserver import Reply

        return Reply(body=RSS)

    server.add_handler("/hang", hang)
    server.add("/trickle", body=RSS, chunk_size=1, delay=4.0)  # one byte every 4 s
    server.add("/429", status=429, headers={"Retry-After": "7200"})
    server.add("/410", status=410)
    server.add("/to-metadata", status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    server.add("/to-file", status=301, headers={"Location": "file:///etc/passwd"})
    server.add("/huge", body=lazy_bytes(5 * GB))
    server.add("/bomb", headers={"Content-Encoding": "gzip"}, body=lazy_bomb(5 * GB))


def test_every_fault_is_marked_and_the_healthy_source_still_ingests(http_server, engine) -> None:
    release = threading.Event()
    serve_faults(http_server, release)
    port = http_server.port
    # one host per source, so they run in parallel as separate partner sites would
    yaml = "sources:\n" + "".join(
        f'  - {{id: {name}, name: {name}, url: "http://{name}.test:{port}{path}", adapter: feed}}\n'
        for name, path in FAULTS.items()
    )
    configs = parse_sources(yaml).sources
    settings = make_settings(total_deadline=1.5, read_timeout=5.0, max_body_bytes=MB, max_workers=len(FAULTS))
    now = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    net = FakeNet(http_server)
    started = time.monotonic()
    try:
        with net.fetcher(settings) as fetcher, measured() as usage:
            outcomes = {o.source_id: o for o in run_fetch(settings, configs, engine, fetcher, clock=lambda: now)}
    finally:
        release.set()
    assert time.monotonic() - started < 15  # the deadline is 1.5 s; the rest is thread and server overhead
    assert usage.peak_bytes < 100 * MB

    assert outcomes["healthy"].outcome == "new-data" and outcomes["healthy"].result.new == 1
    failed = {name for name, o in outcomes.items() if o.outcome == "failed"}
    assert failed == set(FAULTS) - {"healthy"}, {k: (o.outcome, o.error) for k, o in outcomes.items()}
    assert not any(o.internal_error for o in outcomes.values())
    errors = {name: outcomes[name].error.lower() for name in failed}
    assert "redirect" in errors["loop"]
    assert "deadline" in errors["hang"] or "timed out" in errors["hang"]
    assert "deadline" in errors["trickle"]
    assert "non-public" in errors["metadata"] and "scheme" in errors["file"]
    assert "cap" in errors["huge"] and "cap" in errors["bomb"]
    assert outcomes["ratelimited"].http_status == 429 and outcomes["gone"].http_status == 410

    with engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(sources))}
        stored = set(conn.execute(select(entries.c.source_id)).scalars())
    assert stored == {"healthy"}
    assert "410" in rows["gone"].disabled_reason
    assert rows["ratelimited"].paused_until == now + timedelta(hours=2)
    for name in failed:
        assert rows[name].consecutive_failures == 1 and rows[name].last_error
    assert net.connects.count("169.254.169.254") == 0
