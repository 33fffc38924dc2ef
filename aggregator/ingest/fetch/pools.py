"""An httpx transport with one small connection pool per origin, so that a request never scans other hosts' connections."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx

Origin = tuple[bytes, bytes, int | None]


class OriginPools(httpx.BaseTransport):
    """Routes each request to its origin's own transport (scheme, host, port), made on first use.

    httpcore's pool scans all of its connections on every request, quadratically and under one
    lock, so a single pool holding a keep-alive connection per host for hundreds of hosts costs
    more than the requests. Here a request looks up its origin's pool, which holds only that
    host's connections (the per-host politeness gate lets one request through at a time, so one or
    two are enough) and keeps them alive between the host's requests. Pools unused for
    `idle_expiry` seconds with nothing in flight are closed as new ones are made, so a pass over
    thousands of hosts does not keep thousands of pools.
    """

    def __init__(
        self,
        make_transport: Callable[[], httpx.HTTPTransport],
        *,
        idle_expiry: float = 30.0,
        sweep_above: int = 64,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._make_transport = make_transport
        self._idle_expiry = idle_expiry
        self._sweep_above = sweep_above
        self._clock = clock
        self._pools: dict[Origin, httpx.HTTPTransport] = {}
        self._last_used: dict[Origin, float] = {}
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        origin = (request.url.raw_scheme, request.url.raw_host, request.url.port)
        stale: list[httpx.HTTPTransport] = []
        with self._lock:
            transport = self._pools.get(origin)
            if transport is None:
                transport = self._pools[origin] = self._make_transport()
                if len(self._pools) > self._sweep_above:
                    stale = self._take_stale()
            self._last_used[origin] = self._clock()
        for old in stale:
            old.close()
        return transport.handle_request(request)

    def _take_stale(self) -> list[httpx.HTTPTransport]:
        """Remove and return the pools idle past the expiry with no connection in use (caller holds the lock)."""
        cutoff = self._clock() - self._idle_expiry
        stale = [origin for origin, used in self._last_used.items() if used < cutoff and _is_quiet(self._pools[origin])]
        for origin in stale:
            del self._last_used[origin]
        return [self._pools.pop(origin) for origin in stale]

    def close(self) -> None:
        with self._lock:
            pools, self._pools, self._last_used = list(self._pools.values()), {}, {}
        for transport in pools:
            transport.close()


def _is_quiet(transport: httpx.HTTPTransport) -> bool:
    """No connection of the transport's pool is carrying a request."""
    pool = getattr(transport, "_pool", None)
    connections = getattr(pool, "connections", ())
    return all(c.is_idle() or c.is_closed() for c in connections)
