"""Naming why a request failed: the network cause (DNS, refused, TLS, timeout...) behind an httpx error."""

from __future__ import annotations

import errno
import socket
import ssl

import httpx

from aggregator.errors import FetchError, NetworkError

DNS_FAILURE = "DNS failure"
REFUSED = "connection refused"
TLS_ERROR = "TLS error"
TIMEOUT = "timeout"
RESET = "connection reset"
UNREACHABLE = "network unreachable"

_UNREACHABLE_ERRNOS = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, errno.EHOSTDOWN})


def tag_network_cause(exc: BaseException) -> None:
    """Name the cause on `exc` itself: httpcore re-raises its errors `from None`, which drops the chain."""
    if getattr(exc, "network_cause", None) is None:
        cause = exc.__cause__ or exc.__context__
        exc.network_cause = cause_of(cause) if cause is not None else None  # type: ignore[attr-defined]


def network_cause(exc: BaseException) -> str | None:
    """The network cause of `exc` or of an exception it was raised from; None when it is not a network failure."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        cause = getattr(current, "network_cause", None) or cause_of(current)
        if cause:
            return cause
        current = current.__cause__ or current.__context__
    if isinstance(exc, (httpx.ConnectError, httpx.ReadError, httpx.WriteError)):
        return "connection failed"
    return None


def cause_of(exc: BaseException) -> str | None:
    """The network cause one exception stands for (socket.gaierror: DNS failure...), else None."""
    if isinstance(exc, socket.gaierror):
        return DNS_FAILURE
    if isinstance(exc, ConnectionRefusedError):
        return REFUSED
    if isinstance(exc, (ssl.SSLError, ssl.CertificateError)):
        return TLS_ERROR
    if isinstance(exc, (TimeoutError, socket.timeout, httpx.TimeoutException)):
        return TIMEOUT
    if isinstance(exc, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)):
        return RESET
    if isinstance(exc, OSError) and exc.errno in _UNREACHABLE_ERRNOS:
        return UNREACHABLE
    return None


def fetch_error_from(exc: httpx.HTTPError, url: str) -> FetchError:
    """The FetchError an httpx error means: a NetworkError naming its cause when the host was not reached."""
    cause = network_cause(exc)
    detail = str(exc) or type(exc).__name__
    if cause is None:
        return FetchError(f"{type(exc).__name__}: {detail}", url=url)
    return NetworkError(f"{cause}: {detail}", url=url, cause=cause)
