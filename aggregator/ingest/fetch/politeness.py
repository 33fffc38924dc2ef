"""The per-host gate: one request at a time per host, with a minimum pause between two requests."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx


def host_key(url: httpx.URL) -> str:
    """host:port, the unit politeness is counted in."""
    port = url.port or (443 if url.scheme == "https" else 80)
    return f"{url.raw_host.decode('ascii')}:{port}"


class _HostSlot:
    __slots__ = ("lock", "last_end")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.last_end: float | None = None


class HostGate:
    """Serialises requests per host and spaces them by a delay, measured end-to-start on `clock`."""

    def __init__(self, *, clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
        self._clock = clock
        self._sleep = sleep
        self._slots: dict[str, _HostSlot] = {}
        self._guard = threading.Lock()

    @contextmanager
    def turn(self, key: str, delay: float) -> Iterator[None]:
        """Hold `key`'s turn: wait for any request in flight to it, then until `delay` has passed since it ended."""
        with self._guard:
            slot = self._slots.setdefault(key, _HostSlot())
        with slot.lock:
            if slot.last_end is not None:
                wait = slot.last_end + delay - self._clock()
                if wait > 0:
                    self._sleep(wait)
            try:
                yield
            finally:
                slot.last_end = self._clock()
