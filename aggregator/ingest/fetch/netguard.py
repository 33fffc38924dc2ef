"""The SSRF guard: a network backend that resolves each host once, refuses non-public addresses and connects to the address it checked.

Its streams also honour a request's total deadline (see `Budget`), which httpx's per-operation
timeouts cannot express: a server dribbling its headers a byte at a time resets a read timeout forever.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import ssl
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import httpcore
import httpx
from httpcore._backends.sync import SyncStream  # the stream class SyncBackend itself returns

from aggregator.errors import BlockedAddressError
from aggregator.ingest.fetch.failures import DNS_FAILURE, tag_network_cause
from aggregator.ingest.fetch.pools import OriginPools
from aggregator.settings import Settings

logger = logging.getLogger(__name__)

Resolver = Callable[..., Sequence[tuple[Any, ...]]]
"""Same signature and result as `socket.getaddrinfo`."""

Connector = Callable[[int, tuple[Any, ...], float | None, str | None], socket.socket]
"""(family, sockaddr, timeout, local_address) -> a connected socket."""

# Ranges that ipaddress does not flag on every Python version (3.11's is_private misses some).
_EXTRA_BLOCKED = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8",  # "this network"; Linux routes 0.x to loopback
        "100.64.0.0/10",  # carrier-grade NAT shared space (RFC 6598)
        "169.254.0.0/16",  # link-local, cloud metadata at 169.254.169.254
        "192.0.0.0/24",
        "198.18.0.0/15",
        "240.0.0.0/4",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",  # deprecated site-local
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def is_public_address(ip: str) -> bool:
    """Whether `ip` (an IPv4 or IPv6 literal, scope id allowed) is a globally routable unicast address."""
    try:
        address = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        # An IPv6 form that carries an IPv4 address is judged by the IPv4 address it reaches.
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public_address(str(embedded))
    if (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    ):
        return False
    return not any(address in net for net in _EXTRA_BLOCKED if net.version == address.version)


def connect_socket(
    family: int, sockaddr: tuple[Any, ...], timeout: float | None, local_address: str | None
) -> socket.socket:
    """Open a TCP connection to exactly `sockaddr`, with no name resolution of its own."""
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.settimeout(timeout)
        if local_address is not None:
            sock.bind((local_address, 0))
        sock.connect(sockaddr)
    except BaseException:
        sock.close()
        raise
    return sock


class Budget(float):
    """A per-operation timeout (its float value) that also never runs past `deadline` on `clock`.

    Passed as each of a request's timeouts (httpx hands them unchanged to the network stream), so
    that one request's connect, TLS handshake, header reads and body reads share one total deadline.
    """

    deadline: float
    clock: Callable[[], float]

    def __new__(cls, limit: float, *, deadline: float, clock: Callable[[], float]) -> Budget:
        budget = super().__new__(cls, limit)
        budget.deadline = deadline
        budget.clock = clock
        return budget

    def left(self) -> float:
        """Seconds the next operation may take: its own limit, or less (<= 0 once the deadline passed)."""
        return min(float(self), self.deadline - self.clock())


def _timeout(value: float | None, error: type[httpcore.TimeoutException]) -> float | None:
    """The socket timeout for the next operation; `error` once a Budget's deadline has passed."""
    if not isinstance(value, Budget):
        return value
    left = value.left()
    if left <= 0:
        raise error("the total deadline passed")
    return left


class DeadlineStream(SyncStream):
    """httpcore's socket stream, with every read, write and TLS handshake bounded by the request's Budget."""

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            return super().read(max_bytes, _timeout(timeout, httpcore.ReadTimeout))
        except httpcore.NetworkError as exc:
            tag_network_cause(exc)
            raise

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        try:
            super().write(buffer, _timeout(timeout, httpcore.WriteTimeout))
        except httpcore.NetworkError as exc:
            tag_network_cause(exc)
            raise

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        try:
            stream = super().start_tls(ssl_context, server_hostname, _timeout(timeout, httpcore.ConnectTimeout))
        except httpcore.NetworkError as exc:
            tag_network_cause(exc)
            raise
        return DeadlineStream(stream.get_extra_info("socket"))


class GuardedBackend(httpcore.SyncBackend):
    """An httpcore backend whose `connect_tcp` refuses non-public addresses and pins DNS.

    The host is resolved once; every address it resolves to must be public (a name that mixes a
    public and a private address is refused whole, which defeats DNS rebinding by round robin);
    the socket is then connected to one of those checked addresses, never re-resolved. TLS still
    gets the host name for SNI and certificate checks, because httpcore passes it to `start_tls`.
    """

    def __init__(
        self, *, allow_private: bool = False, resolve: Resolver | None = None, connect: Connector = connect_socket
    ) -> None:
        self._allow_private = allow_private
        self._resolve = resolve
        self._connect = connect

    def resolve_host(self, host: str, port: int) -> list[tuple[int, tuple[Any, ...]]]:
        """Resolve `host` to (family, sockaddr) pairs, raising BlockedAddressError if any is not public."""
        resolve = self._resolve or socket.getaddrinfo  # looked up late so tests can patch it
        try:
            infos = resolve(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
        except OSError as exc:
            raise _tagged(httpcore.ConnectError(f"cannot resolve {host}: {exc}"), DNS_FAILURE) from exc
        targets = [(info[0], info[4]) for info in infos if info[0] in (socket.AF_INET, socket.AF_INET6)]
        if not targets:
            raise _tagged(httpcore.ConnectError(f"{host} has no IPv4 or IPv6 address"), DNS_FAILURE)
        if not self._allow_private:
            for _, sockaddr in targets:
                if not is_public_address(str(sockaddr[0])):
                    logger.warning(
                        "refused non-public address %s for %s",
                        sockaddr[0],
                        host,
                        extra={"host": host, "address": sockaddr[0]},
                    )
                    raise BlockedAddressError(f"{host} resolves to the non-public address {sockaddr[0]}")
        return targets

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        last_error: OSError | None = None
        for family, sockaddr in self.resolve_host(host, port):
            try:
                sock = self._connect(family, sockaddr, _timeout(timeout, httpcore.ConnectTimeout), local_address)
            except TimeoutError as exc:
                raise httpcore.ConnectTimeout(str(exc)) from exc
            except OSError as exc:
                last_error = exc
                continue
            for option in socket_options or ():
                sock.setsockopt(*option)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return DeadlineStream(sock)
        error = httpcore.ConnectError(f"cannot connect to {host}:{port}: {last_error}")
        error.__cause__ = last_error
        tag_network_cause(error)
        raise error


def _tagged(exc: httpcore.NetworkError, cause: str) -> httpcore.NetworkError:
    exc.network_cause = cause  # type: ignore[attr-defined]
    return exc


def guarded_transport(settings: Settings, *, backend: GuardedBackend | None = None) -> httpx.BaseTransport:
    """An httpx transport whose connections all go through a GuardedBackend configured from `settings`,
    with a small pool of its own per origin (see OriginPools)."""
    backend = backend or GuardedBackend(allow_private=settings.allow_private_addresses)
    ssl_context = httpx.create_ssl_context()  # made once: loading the CA bundle takes milliseconds
    # The politeness gate lets one request at a time through to a host, so a pool normally holds one
    # connection; the bound only matters when many names lead to one origin (the demo's fixture server).
    slots = 2 * settings.fetch.max_workers
    return OriginPools(lambda: _pool_transport(ssl_context, backend, slots), sweep_above=4 * settings.fetch.max_workers)


def _pool_transport(ssl_context: ssl.SSLContext, backend: GuardedBackend, slots: int) -> httpx.HTTPTransport:
    transport = httpx.HTTPTransport(verify=ssl_context)
    # httpx has no public hook for the network backend; the pool it builds is swapped for an
    # identical one that uses ours (same defaults as httpx.HTTPTransport without a proxy).
    transport._pool = httpcore.ConnectionPool(
        ssl_context=ssl_context,
        max_connections=slots,
        max_keepalive_connections=slots,
        keepalive_expiry=5.0,
        http1=True,
        http2=False,
        network_backend=backend,
    )
    return transport
